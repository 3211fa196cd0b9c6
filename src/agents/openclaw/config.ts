import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config/schema.ts";
import { parseJson5ish } from "../../lib/json5.ts";

/** One `bindings[]` route: which agent answers a channel/account/peer. */
export interface OpenClawBinding {
  agentId: string;
  channel: string | null;
  accountId: string | null;
  peer: { kind: string; id: string } | null;
}

/** A model choice: the primary and its ordered fallbacks. */
export interface OpenClawModelChoice {
  primary: string | null;
  fallbacks: string[];
}

/** What the checks need from `openclaw.json`. */
export interface OpenClawConfig {
  path: string;
  /** Agent ids named in the config (`main` always included). */
  agents: string[];
  /** `agents.defaults.model` primary ("provider/model"), or null. */
  primaryModel: string | null;
  fallbacks: string[];
  /** Per-agent overrides from `agents.list[]` / `agents.entries.<id>`; a string override has no fallbacks. */
  perAgentModel: Record<string, OpenClawModelChoice>;
  /** `agents.defaults.contextTokens`: caps the effective window of every session. */
  contextTokens: number | null;
  bindings: OpenClawBinding[];
  /**
   * Context windows declared per model in `models.providers.<p>.models[]` (`contextTokens`, else
   * `contextWindow`), keyed both as "provider/id" and as the bare "id".
   */
  modelWindows: Record<string, number>;
}

/** openclaw.json could not be read or is not the config we understand. */
export class OpenClawConfigError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`OpenClaw config ${path}: ${reason}`);
    this.name = "OpenClawConfigError";
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const posInt = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** Where asm reads openclaw.json: `sources.openclaw.configPath`, else `<root>/openclaw.json`. */
export function openClawConfigPath(config: Config): string {
  return config.sources.openclaw.configPath ?? join(config.sources.openclaw.root, "openclaw.json");
}

/** `model` as a string (no fallbacks) or `{primary, fallbacks}`. */
function modelChoice(v: unknown): OpenClawModelChoice | null {
  if (typeof v === "string") return { primary: str(v), fallbacks: [] };
  if (isObject(v)) return { primary: str(v.primary), fallbacks: strings(v.fallbacks) };
  return null;
}

function bindingOf(v: unknown): OpenClawBinding | null {
  if (!isObject(v)) return null;
  const agentId = str(v.agentId);
  if (!agentId) return null;
  const match = isObject(v.match) ? v.match : {};
  const peer = isObject(match.peer) && str(match.peer.kind) && match.peer.id !== undefined ? match.peer : null;
  return {
    agentId,
    channel: str(match.channel),
    accountId: str(match.accountId),
    peer: peer ? { kind: String(peer.kind), id: String(peer.id) } : null,
  };
}

/** Builds the view of an already parsed openclaw.json document (pure). */
export function interpretOpenClawConfig(path: string, doc: unknown): OpenClawConfig {
  if (!isObject(doc)) throw new OpenClawConfigError(path, "expected an object at the top level");
  const agents = isObject(doc.agents) ? doc.agents : {};
  const defaults = isObject(agents.defaults) ? agents.defaults : {};
  const def = modelChoice(defaults.model) ?? { primary: null, fallbacks: [] };
  const ids = new Set<string>(["main"]);
  const perAgentModel: Record<string, OpenClawModelChoice> = {};
  const addAgent = (id: string | null, node: unknown) => {
    if (!id) return;
    ids.add(id);
    const choice = isObject(node) ? modelChoice(node.model) : null;
    if (choice) perAgentModel[id] = choice;
  };
  if (Array.isArray(agents.list)) for (const a of agents.list) addAgent(isObject(a) ? str(a.id) : null, a);
  if (isObject(agents.entries)) for (const [id, a] of Object.entries(agents.entries)) addAgent(id, a);

  const modelWindows: Record<string, number> = {};
  const models = isObject(doc.models) ? doc.models : {};
  if (isObject(models.providers)) {
    for (const [provider, p] of Object.entries(models.providers)) {
      if (!isObject(p) || !Array.isArray(p.models)) continue;
      for (const m of p.models) {
        if (!isObject(m)) continue;
        const id = str(m.id);
        const window = posInt(m.contextTokens) ?? posInt(m.contextWindow);
        if (!id || window === null) continue;
        modelWindows[`${provider}/${id}`] = window;
        modelWindows[id] ??= window;
      }
    }
  }
  return {
    path,
    agents: [...ids],
    primaryModel: def.primary,
    fallbacks: def.fallbacks,
    perAgentModel,
    contextTokens: posInt(defaults.contextTokens),
    bindings: Array.isArray(doc.bindings) ? doc.bindings.map(bindingOf).filter((b) => b !== null) : [],
    modelWindows,
  };
}

/**
 * Reads openclaw.json (JSON5 style: comments and trailing commas allowed).
 * Throws OpenClawConfigError naming the path and the reason (missing, unreadable, not JSON, wrong shape).
 */
export function readOpenClawConfig(path: string): OpenClawConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new OpenClawConfigError(path, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseJson5ish(text);
  } catch (err) {
    throw new OpenClawConfigError(path, `not valid JSON5: ${(err as Error).message}`);
  }
  return interpretOpenClawConfig(path, doc);
}

/** The model an agent is configured to use first ("provider/model"), per-agent override first. */
export function configuredModel(cfg: OpenClawConfig, agentId: string): string | null {
  return cfg.perAgentModel[agentId]?.primary ?? cfg.primaryModel;
}

/**
 * The window OpenClaw itself would show a session's % against: the model's declared window capped by
 * `agents.defaults.contextTokens`. Null when the config says nothing about it.
 */
export function configuredWindow(cfg: OpenClawConfig, model: string | null, provider: string | null): number | null {
  let window: number | null = null;
  if (model) window = (provider ? cfg.modelWindows[`${provider}/${model}`] : undefined) ?? cfg.modelWindows[model] ?? null;
  if (cfg.contextTokens !== null) window = window === null ? cfg.contextTokens : Math.min(window, cfg.contextTokens);
  return window;
}
