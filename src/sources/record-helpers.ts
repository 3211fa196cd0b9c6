import type { Config } from "../config/schema.ts";
import type { Db } from "../store/db.ts";
import { type Platform, type SessionRecord, sessionUid } from "../store/sessions.ts";
import { TurnStore, type TurnUsage } from "../store/turns.ts";
import { contextPercent, contextWindowFor } from "./context-window.ts";

/** One row of the `turns` table, before it is tied to a session. */
export type TurnRow = TurnUsage;

/** A session row with every figure at its "nothing known yet" value. */
export function blankRecord(platform: Platform, agentId: string | null, sessionId: string, now: number): SessionRecord {
  return {
    uid: sessionUid(platform, agentId, sessionId),
    platform,
    agentId,
    sessionId,
    sessionKey: null,
    kind: "session",
    parentUid: null,
    project: null,
    title: null,
    model: null,
    firstActivity: null,
    lastActivity: null,
    messageCount: 0,
    path: null,
    sizeBytes: 0,
    contextTokens: null,
    contextWindow: null,
    contextPercent: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    parseErrors: 0,
    lastParseError: null,
    state: "unknown",
    present: true,
    extra: {},
    scannedAt: now,
  };
}

/**
 * The context window of a model from the config table (`models.contextWindows`), with any
 * "provider/" prefix stripped first (OpenClaw and OpenCode name models that way), else the default.
 */
export function windowFromTable(config: Config, model: string | null): number {
  const bare = model?.includes("/") ? model.slice(model.lastIndexOf("/") + 1) : model;
  return contextWindowFor(bare ?? null, config).tokens;
}

export { contextPercent };

/** Writes turns rows for a session, appending. */
export function appendTurns(db: Db, uid: string, turns: readonly TurnRow[]): void {
  if (turns.length === 0) return;
  const store = new TurnStore(db);
  for (const t of turns) store.add({ sessionUid: uid, ...t });
}

/** Replaces a session's turns rows (a source that recomputes a session whole, or a file read again from 0). */
export function replaceTurns(db: Db, uid: string, turns: readonly TurnRow[]): void {
  new TurnStore(db).deleteSession(uid);
  appendTurns(db, uid, turns);
}

/**
 * A function to await between units of work (sessions of a store): it gives the event loop a turn
 * once `budgetMs` of work has passed, so a cold read of a large store never stalls the bot.
 */
export function timeSlicer(budgetMs = 50): () => Promise<void> {
  let start = performance.now();
  return async () => {
    if (performance.now() - start < budgetMs) return;
    await new Promise((r) => setImmediate(r));
    start = performance.now();
  };
}
