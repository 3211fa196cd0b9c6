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

/**
 * Reads and writes the `turns` table. Sources add one row per usage record (Claude: per message id, Codex:
 * per token_count with usage) and drop a session's rows before re-reading its file from the start, so a
 * replaced or truncated transcript never counts twice.
 */
export class TurnStore {
  private readonly addStmt;
  private readonly delStmt;

  constructor(private readonly db: Db) {
    this.addStmt = db.prepare(
      `INSERT INTO turns (session_uid, ts, model, input, output, cache_read, cache_write, context_tokens)
       VALUES (@sessionUid, @ts, @model, @input, @output, @cacheRead, @cacheWrite, @contextTokens)`,
    );
    this.delStmt = db.prepare("DELETE FROM turns WHERE session_uid = ?");
  }

  add(t: Turn): void {
    this.addStmt.run(t);
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
