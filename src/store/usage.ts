import type { Platform } from "../agents/session.ts";
import type { Db } from "./db.ts";
import type { Turn } from "./turns.ts";

/** One row of `turns` (without its context figure) with the session facts usage is grouped by. */
export interface UsageTurn extends Omit<Turn, "contextTokens"> {
  platform: Platform;
  sessionId: string;
  project: string | null;
}

const select = `SELECT t.ts, t.model, t.input, t.output, t.cache_read AS cacheRead, t.cache_write AS cacheWrite,
       t.session_uid AS sessionUid, s.platform, s.session_id AS sessionId, s.project
  FROM turns t JOIN sessions s ON s.uid = t.session_uid`;

/** Reads per-turn usage joined with its session, for `/usage`, `asm usage`, session cost and the metrics. */
export class UsageStore {
  constructor(private readonly db: Db) {}

  /** Every turn at or after `since` (epoch ms; 0 = all kept), streamed: a month of turns is not held at once. */
  *since(since: number): IterableIterator<UsageTurn> {
    yield* this.db.prepare(`${select} WHERE t.ts >= ?`).iterate(since) as IterableIterator<UsageTurn>;
  }

  /** One session's turns. */
  forSession(uid: string): UsageTurn[] {
    return this.db.prepare(`${select} WHERE t.session_uid = ? ORDER BY t.ts`).all(uid) as UsageTurn[];
  }

  /** Turns stored after `rowid` (the counters' watermark), with their rowid, oldest first. */
  after(rowid: number, limit = 50_000): (UsageTurn & { rowid: number })[] {
    return this.db
      .prepare(`SELECT t.rowid AS rowid, ${select.slice("SELECT ".length)} WHERE t.rowid > ? ORDER BY t.rowid LIMIT ?`)
      .all(rowid, limit) as (UsageTurn & {
      rowid: number;
    })[];
  }
}
