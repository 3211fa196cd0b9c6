import type { Db } from "./db.ts";

/** One model-fallback decision: a worker's request on `originalModel` failed and went to `nextModel`. */
export interface FallbackDecision {
  ts: number;
  /** Who fell back: an agent/session ("openclaw:main", a session uid) or a managed worker name. */
  worker: string | null;
  originalModel: string;
  /** rate_limit, timeout, billing, overloaded, ... as the source says; null when it does not. */
  errorType: string | null;
  /** Null when nothing was left to try: the whole chain failed. */
  nextModel: string | null;
  /** Where the row came from: "log:<path>", "openclaw", "claude", "runner". */
  source: string;
  /** Unique per real decision, so re-reading a source never counts it twice. */
  dedupKey: string;
}

/** A row as selected (columns aliased to the field names). */
type Row = FallbackDecision;

/** Reads and writes the `fallback_decisions` table. */
export class FallbackStore {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT OR IGNORE INTO fallback_decisions(ts, worker, original_model, error_type, next_model, source, dedup_key)
       VALUES (@ts, @worker, @originalModel, @errorType, @nextModel, @source, @dedupKey)`,
    );
  }

  /** Inserts the decisions not seen before (by dedup key); returns how many were new. */
  add(decisions: FallbackDecision[]): number {
    let added = 0;
    this.db.transaction(() => {
      for (const d of decisions) added += this.insertStmt.run(d).changes;
    })();
    return added;
  }

  /** Decisions at or after `sinceTs`, oldest first. */
  since(sinceTs: number): FallbackDecision[] {
    return this.db
      .prepare(
        `SELECT ts, worker, original_model AS originalModel, error_type AS errorType, next_model AS nextModel,
                source, dedup_key AS dedupKey
         FROM fallback_decisions WHERE ts >= ? ORDER BY ts, id`,
      )
      .all(sinceTs) as Row[];
  }

  /** Deletes decisions older than `beforeTs`; returns how many. */
  prune(beforeTs: number): number {
    return this.db.prepare("DELETE FROM fallback_decisions WHERE ts < ?").run(beforeTs).changes;
  }
}
