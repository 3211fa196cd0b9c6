import type { FallbackDecision } from "../agents/agent.ts";
import type { Db } from "./db.ts";

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
