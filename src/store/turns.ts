import type { Db } from "./db.ts";

/** One assistant turn's token usage (a row of `turns`), kept compactly for rates and windows. */
export interface Turn {
  sessionUid: string;
  /** epoch ms */
  ts: number;
  model: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** The context size after this turn, when the format says (null otherwise). */
  contextTokens: number | null;
}

/** Rows per multi-row INSERT. */
const BATCH = 32;

/**
 * Reads and writes the `turns` table. Sources add one row per usage record (Claude: per message id, Codex:
 * per token_count with usage) and drop a session's rows before re-reading its file from the start, so a
 * replaced or truncated transcript never counts twice.
 */
export class TurnStore {
  private readonly addStmt;
  private readonly batchStmt;
  private readonly delStmt;

  constructor(private readonly db: Db) {
    const insert = "INSERT INTO turns (session_uid, ts, model, input, output, cache_read, cache_write, context_tokens) VALUES ";
    const row = "(?, ?, ?, ?, ?, ?, ?, ?)";
    this.addStmt = db.prepare(insert + row);
    this.batchStmt = db.prepare(insert + Array(BATCH).fill(row).join(", "));
    this.delStmt = db.prepare("DELETE FROM turns WHERE session_uid = ?");
  }

  add(t: Turn): void {
    this.addStmt.run(t.sessionUid, t.ts, t.model, t.input, t.output, t.cacheRead, t.cacheWrite, t.contextTokens);
  }

  /** Adds many turns of one session: multi-row INSERTs (a cold scan writes tens of thousands of rows). */
  addMany(sessionUid: string, turns: readonly Omit<Turn, "sessionUid">[]): void {
    let i = 0;
    if (turns.length >= BATCH) {
      const params: unknown[] = new Array(BATCH * 8);
      for (; i + BATCH <= turns.length; i += BATCH) {
        for (let j = 0; j < BATCH; j++) {
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
        this.batchStmt.run(params);
      }
    }
    for (; i < turns.length; i++) {
      const t = turns[i]!;
      this.addStmt.run(sessionUid, t.ts, t.model, t.input, t.output, t.cacheRead, t.cacheWrite, t.contextTokens);
    }
  }

  /** Forgets every turn of a session (before its file is read again from byte 0). */
  deleteSession(uid: string): void {
    this.delStmt.run(uid);
  }

  /** A session's turns since `since` (epoch ms), oldest first. */
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
