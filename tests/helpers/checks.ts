import { join } from "node:path";
import { interpretOpenClawConfig, type OpenClawConfig } from "../../src/agents/openclaw/config.ts";
import type { SessionRecord } from "../../src/agents/session.ts";
import { blankRecord } from "../../src/agents/session.ts";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.ts";
import { emptyObservations, type Observations } from "../../src/observe/observations.ts";
import { openStore } from "../../src/store/db.ts";
import { type Runtime, runtimeOver } from "../../src/store/runtime.ts";

/** A fixed clock for check tests: 2026-11-23T12:00:00Z. */
export const NOW = Date.parse("2026-11-23T12:00:00Z");
export const MIN = 60_000;
export const HOUR = 3_600_000;

/** The effective config for `input` (defaults filled by the real schema). */
export const cfg = (input: ConfigInput = {}): Config => configSchema.parse(input);

/** A session row as a source would write it; override what the case is about. */
export function session(over: Partial<SessionRecord> & { sessionId?: string } = {}): SessionRecord {
  const platform = over.platform ?? "openclaw";
  const agentId = over.agentId === undefined ? (platform === "openclaw" ? "main" : null) : over.agentId;
  const sessionId = over.sessionId ?? "s1";
  return {
    ...blankRecord(platform, agentId, sessionId, NOW),
    kind: "dm",
    model: "claude-sonnet-4-6",
    firstActivity: NOW - 2 * HOUR,
    lastActivity: NOW - MIN,
    messageCount: 10,
    path: `/data/${sessionId}.jsonl`,
    sizeBytes: 10_000,
    contextTokens: 1_000,
    contextWindow: 200_000,
    contextPercent: 0.5,
    state: "idle",
    ...over,
  };
}

/** Observations with only the given parts filled. */
export const observations = (over: Partial<Observations> = {}): Observations => ({ ...emptyObservations(), ...over });

/** An OpenClaw config built by the real interpreter from an openclaw.json-shaped document. */
export const openClaw = (doc: unknown): OpenClawConfig => interpretOpenClawConfig("/home/op/.openclaw/openclaw.json", doc);

/** A real runtime over a fresh SQLite file in `dir`, with a silent logger. */
export function checkRuntime(dir: string, input: ConfigInput = {}): Runtime {
  const config = cfg({ store: { path: join(dir, "asm.db") }, ...input });
  return runtimeOver(openStore(config.store.path), config);
}
