import type { Db } from "./db.ts";

/** A present session's context, as the per-session gauges export it. */
export interface SessionContextRow {
  platform: string;
  kind: string;
  sessionId: string;
  contextTokens: number | null;
  contextWindow: number | null;
}

/** A fallback decision after the counters' watermark. */
export interface FallbackRow {
  id: number;
  originalModel: string;
  errorType: string | null;
}

/**
 * The counts the Prometheus endpoint reads at each scrape: small GROUP BY queries over asm's own tables,
 * never the agents' files.
 */
export class MetricsStore {
  constructor(private readonly db: Db) {}

  /** Present sessions per agent and state. */
  sessionsByState(): { platform: string; state: string; n: number }[] {
    return this.db.prepare("SELECT platform, state, COUNT(*) AS n FROM sessions WHERE present = 1 GROUP BY platform, state").all() as {
      platform: string;
      state: string;
      n: number;
    }[];
  }

  /** Present sessions active at or after `since` (epoch ms), with their context. */
  sessionContexts(since: number): SessionContextRow[] {
    return this.db
      .prepare(
        `SELECT platform, kind, session_id AS sessionId, context_tokens AS contextTokens, context_window AS contextWindow
         FROM sessions WHERE present = 1 AND last_activity >= ? ORDER BY platform, session_id`,
      )
      .all(since) as SessionContextRow[];
  }

  /** Firing alerts per check and severity. */
  alertsFiring(): { check: string; severity: string; n: number }[] {
    return this.db
      .prepare("SELECT check_name AS \"check\", severity, COUNT(*) AS n FROM alerts WHERE status = 'firing' GROUP BY check_name, severity")
      .all() as { check: string; severity: string; n: number }[];
  }

  /** Managed workers per status. */
  workersByStatus(): { status: string; n: number }[] {
    return this.db.prepare("SELECT status, COUNT(*) AS n FROM workers GROUP BY status").all() as { status: string; n: number }[];
  }

  /** Fallback decisions stored after `id`, oldest first. */
  fallbacksAfter(id: number, limit = 50_000): FallbackRow[] {
    return this.db
      .prepare("SELECT id, original_model AS originalModel, error_type AS errorType FROM fallback_decisions WHERE id > ? ORDER BY id LIMIT ?")
      .all(id, limit) as FallbackRow[];
  }
}
