import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config/schema.ts";
import { parseJson5ish } from "../../lib/json5.ts";
import { contextPercent, windowFromTable } from "../context-window.ts";
import { blankRecord, type SessionRecord, sessionUid } from "../session.ts";
import type { OpencodeFigures } from "./messages.ts";

/** Where a session came from, for the row. */
export interface OpencodeOrigin {
  storage: "sqlite" | "json";
  path: string;
  sizeBytes: number;
  parseErrors: number;
  lastParseError: string | null;
}

/** Session fields that are not derived from messages. */
export interface OpencodeSessionInfo {
  id: string;
  parentId: string | null;
  directory: string | null;
  title: string | null;
  model: string | null;
  created: number | null;
  updated: number | null;
  archived: number | null;
  /** The OpenCode release that wrote the session (`version` of a JSON-era session file). */
  version?: string | null;
}

/** Context windows declared in the user's OpenCode config: `provider.<p>.models.<m>.limit.context`. */
export function opencodeModelLimits(configDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ["opencode.json", "opencode.jsonc"]) {
    const path = join(configDir, name);
    if (!existsSync(path)) continue;
    try {
      const doc = parseJson5ish(readFileSync(path, "utf8")) as Record<string, unknown>;
      const providers = doc?.provider;
      if (typeof providers !== "object" || providers === null) continue;
      for (const [p, prov] of Object.entries(providers as Record<string, unknown>)) {
        const models = (prov as { models?: Record<string, { limit?: { context?: unknown } }> })?.models;
        if (typeof models !== "object" || models === null) continue;
        for (const [m, def] of Object.entries(models)) {
          const ctx = def?.limit?.context;
          if (typeof ctx === "number" && ctx > 0) {
            out[`${p}/${m}`] = ctx;
            out[m] ??= ctx;
          }
        }
      }
    } catch {
      // A config we cannot read only means no declared limits; the config table still applies.
    }
  }
  return out;
}

/** Builds the session row from its info and message figures (pure). */
export function opencodeRecord(
  info: OpencodeSessionInfo,
  f: OpencodeFigures,
  origin: OpencodeOrigin,
  limits: Record<string, number>,
  config: Config,
  now: number,
): SessionRecord {
  const r = blankRecord("opencode", null, info.id, now);
  const model = f.model ? (f.provider ? `${f.provider}/${f.model}` : f.model) : info.model;
  const window = (model ? (limits[model] ?? limits[model.slice(model.indexOf("/") + 1)]) : undefined) ?? windowFromTable(config, model);
  r.kind = info.parentId ? "subagent" : "session";
  r.parentUid = info.parentId ? sessionUid("opencode", null, info.parentId) : null;
  r.project = info.directory ?? f.cwd;
  r.title = info.title;
  r.model = f.model ?? info.model;
  r.firstActivity = f.firstTs ?? info.created;
  r.lastActivity = f.lastTs ?? info.updated;
  r.messageCount = f.messageCount;
  r.path = origin.path;
  r.sizeBytes = origin.sizeBytes;
  r.contextTokens = f.contextTokens;
  r.contextWindow = window;
  r.contextPercent = contextPercent(f.contextTokens, window);
  r.inputTokens = f.input;
  r.outputTokens = f.output;
  r.cacheReadTokens = f.cacheRead;
  r.cacheWriteTokens = f.cacheWrite;
  r.parseErrors = origin.parseErrors;
  r.lastParseError = origin.lastParseError;
  r.state = info.archived ? "ended" : f.state;
  r.extra = {
    storage: origin.storage,
    compactions: f.compactions,
    ...(f.provider ? { provider: f.provider } : {}),
    ...(f.lastErrorReason ? { lastErrorReason: f.lastErrorReason, lastError: f.lastErrorText } : {}),
  };
  return r;
}
