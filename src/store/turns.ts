import type Database from "better-sqlite3";
import type { TurnUsage } from "../agents/session.ts";
import type { Db } from "./db.ts";

/** One assistant turn's token usage (a row of `turns`), kept compactly for rates and windows. */
export interface Turn extends TurnUsage {
  sessionUid: string;
}

/** Rows per multi-row INSERT (8 parameters each; well under SQLite's parameter limit). */
const BATCH = 32;
const INSERT = "INSERT INTO turns (session_uid, ts, model, input, output, cache_read, cache_write, context_tokens) VALUES ";
const ROW = "(?, ?, ?, ?, ?, ?, ?, ?)";

/**
 * Reads and writes the `turns` table. Sources add one row per usage record (Claude: per message id, Codex:
 * per token_count with usage) and drop a session's rows before re-reading its file from the start, so a
 * replaced or truncated transcript never counts twice.
 */
export class TurnStore {
  private readonly addStmt;
  private readonly delStmt;
  /** Multi-row INSERT statements by row count, prepared on first use. */
  private readonly batchStmts = new Map<number, Database.Statement>();

  constructor(private readonly db: Db) {
    this.addStmt = db.prepare(`${INSERT}${ROW}`);
    this.delStmt = db.prepare("DELETE FROM turns WHERE session_uid = ?");
  }

  add(t: Turn): void {
    this.addStmt.run(t.sessionUid, t.ts, t.model, t.input, t.output, t.cacheRead, t.cacheWrite, t.contextTokens);
  }

  /** Adds many turns of one session with as few statements as possible (a cold scan writes tens of thousands). */
  addMany(sessionUid: string, turns: readonly Omit<Turn, "sessionUid">[]): void {
    for (let i = 0; i < turns.length; i += BATCH) {
      const n = Math.min(BATCH, turns.length - i);
      let stmt = this.batchStmts.get(n);
      if (!stmt) {
        stmt = this.db.prepare(INSERT + Array(n).fill(ROW).join(", "));
        this.batchStmts.set(n, stmt);
      }
      const params: unknown[] = new Array(n * 8);
      for (let j = 0; j < n; j++) {
        const t = turns[i + j]!;
        const o = j * 8;
        params[o] = sessionUid;
        params[o + 1] = t.ts;
        params[o + 2] = t.model;
        params[o + 3] = t.input;
        params[o + 4] = t.output;
        params[o + 5] = t.cacheRead;
        params[o + 6] = t.cacheWrite;
        params[o + 7] = t.contextTokens;
      }
      stmt.run(params);
    }
  }

  /** Forgets every turn of a session (before its file is read again from byte 0). */
  deleteSession(uid: string): void {
    this.delStmt.run(uid);
  }

  /** Deletes turns older than `beforeTs` (epoch ms); returns how many. */
  prune(beforeTs: number): number {
    return this.db.prepare("DELETE FROM turns WHERE ts < ?").run(beforeTs).changes;
  }

  /** A session's turns since `since` (epoch ms), oldest first. */
  /** Turns per model since `since` (the successes behind a fallback rate). */
  byModel(since: number): { model: string; turns: number; lastTurnAt: number | null }[] {
    return this.db
      .prepare(
        "SELECT model, COUNT(*) AS turns, MAX(ts) AS lastTurnAt FROM turns WHERE ts >= ? AND model IS NOT NULL AND model != '<synthetic>' GROUP BY model",
      )
      .all(since) as { model: string; turns: number; lastTurnAt: number | null }[];
  }

  forSession(uid: string, since = 0): Turn[] {
    return this.db
      .prepare(
        `SELECT session_uid AS sessionUid, ts, model, input, output, cache_read AS cacheRead, cache_write AS cacheWrite,
                context_tokens AS contextTokens
         FROM turns WHERE session_uid = ? AND ts >= ? ORDER BY ts, rowid`,
      )
      .all(uid, since) as Turn[];
  }
}

/** Writes turns rows for a session, appending. */
export function appendTurns(db: Db, uid: string, turns: readonly TurnUsage[]): void {
  if (turns.length === 0) return;
  const store = new TurnStore(db);
  for (const t of turns) store.add({ sessionUid: uid, ...t });
}

/** Replaces a session's turns rows (a source that recomputes a session whole, or a file read again from 0). */
export function replaceTurns(db: Db, uid: string, turns: readonly TurnUsage[]): void {
  new TurnStore(db).deleteSession(uid);
  appendTurns(db, uid, turns);
}
