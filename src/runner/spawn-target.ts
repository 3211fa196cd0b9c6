import { type Platform, platforms } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { RunnerError } from "./runner.ts";

/** What the first word of `/spawn` and `asm spawn` named: an agent, or a model from `runner.models` run by its driver. */
export interface SpawnTarget {
  agent: Platform;
  /** The `runner.models` id when a model was named (its fallback chain starts there), else null. */
  model: string | null;
}

/** Agent names people type, to the platform: the same words in the chat and on the command line. */
export const agentNames: Readonly<Record<string, Platform>> = {
  ...Object.fromEntries(platforms.map((p) => [p, p])),
  "claude-code": "claude",
};

/**
 * The agent or model a spawn names (agent names case-insensitive; model ids exactly as in `runner.models`), or a
 * RunnerError that repeats what was typed and lists what would have worked.
 */
export function spawnTarget(name: string | undefined, models: Config["runner"]["models"]): SpawnTarget {
  if (name !== undefined && Object.hasOwn(models, name)) return { agent: models[name]!.driver, model: name };
  const agent = name ? (Object.hasOwn(agentNames, name.toLowerCase()) ? agentNames[name.toLowerCase()] : undefined) : undefined;
  if (agent) return { agent, model: null };
  const said = name ? `unknown agent or model "${name.slice(0, 40)}"` : "no agent given";
  throw new RunnerError(`${said}; name an agent (${Object.keys(agentNames).join(", ")}) or a model from runner.models`, "agent");
}
