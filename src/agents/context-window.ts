import type { Config } from "../config/schema.ts";

/** Where a context window figure came from: the agent's own file, the config table, or the default. */
export type WindowSource = "agent" | "config" | "default";

export interface ContextWindow {
  tokens: number;
  source: WindowSource;
}

/**
 * The context window of a model: the agent's own figure when its file states one, else the longest key of
 * `models.contextWindows` that prefixes the model id (so "claude-opus-4-6" covers "claude-opus-4-6-20260101"),
 * else `models.defaultContextWindow`.
 */
export function contextWindowFor(model: string | null, config: Config, own?: number | null): ContextWindow {
  if (own && own > 0) return { tokens: own, source: "agent" };
  if (model) {
    let best: string | undefined;
    for (const key of Object.keys(config.models.contextWindows)) {
      if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
    }
    if (best !== undefined) return { tokens: config.models.contextWindows[best]!, source: "config" };
  }
  return { tokens: config.models.defaultContextWindow, source: "default" };
}

/** Used/window as a percentage (0–100+, one decimal kept by callers), or null when either is unknown. */
export function contextPercent(tokens: number | null, window: number | null): number | null {
  if (tokens === null || window === null || window <= 0) return null;
  return (tokens / window) * 100;
}

/**
 * The context window of a model from the config table (`models.contextWindows`), with any
 * "provider/" prefix stripped first (OpenClaw and OpenCode name models that way), else the default.
 */
export function windowFromTable(config: Config, model: string | null): number {
  const bare = model?.includes("/") ? model.slice(model.lastIndexOf("/") + 1) : model;
  return contextWindowFor(bare ?? null, config).tokens;
}
