import { createRequire } from "node:module";
import type { Config } from "../config/schema.ts";

/** Where a context window figure came from: the agent's own file, the config table, the model catalog, or the default. */
export type WindowSource = "agent" | "config" | "catalog" | "default";

export interface ContextWindow {
  tokens: number;
  source: WindowSource;
}

/**
 * The context window of a model: the agent's own figure when its file states one, else the longest key of
 * `models.contextWindows` that prefixes the model id (so "claude-opus-4-6" covers "claude-opus-4-6-20260101"),
 * else the model catalog's figure (`@pydantic/genai-prices`, the one the prices come from), else
 * `models.defaultContextWindow`.
 */
export function contextWindowFor(model: string | null, config: Config, own?: number | null, useCatalog = true): ContextWindow {
  if (own && own > 0) return { tokens: own, source: "agent" };
  if (model) {
    let best: string | undefined;
    for (const key of Object.keys(config.models.contextWindows)) {
      if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
    }
    if (best !== undefined) return { tokens: config.models.contextWindows[best]!, source: "config" };
    const catalog = useCatalog ? catalogWindow(model) : null;
    if (catalog !== null) return { tokens: catalog, source: "catalog" };
  }
  return { tokens: config.models.defaultContextWindow, source: "default" };
}

type CatalogPrice = (usage: { input_tokens: number; output_tokens: number }, model: string) => { model: { context_window?: number } } | null;

/** The catalog's `calcPrice`, required on first need only: it is about 15 MiB, and models in the config table never need it. */
let catalogPrice: CatalogPrice | null | undefined;
const catalogWindows = new Map<string, number | null>();

/** The catalog's context window for a model the config table does not know (memoized), or null when it has none. */
export function catalogWindow(model: string): number | null {
  const known = catalogWindows.get(model);
  if (known !== undefined) return known;
  if (catalogPrice === undefined) {
    try {
      catalogPrice = (createRequire(import.meta.url)("@pydantic/genai-prices") as { calcPrice: CatalogPrice }).calcPrice;
    } catch {
      catalogPrice = null; // not installed (a trimmed deployment): the default stands
    }
  }
  let tokens: number | null = null;
  try {
    const window = catalogPrice?.({ input_tokens: 1, output_tokens: 1 }, model)?.model.context_window;
    tokens = typeof window === "number" && window > 0 ? window : null;
  } catch {
    tokens = null;
  }
  catalogWindows.set(model, tokens);
  return tokens;
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
