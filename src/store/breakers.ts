import type { Db } from "./db.ts";

/** A model's circuit breaker: closed (in use), open (skipped until `openUntil`), half-open (one probe may pass). */
export type BreakerState = "closed" | "open" | "half-open";

export interface Breaker {
  model: string;
  state: BreakerState;
  /** Failures in a row. */
  failures: number;
  /** Times it opened in a row: the step on the cool-off ladder. */
  opens: number;
  openUntil: number | null;
  lastError: string | null;
  updatedAt: number;
}

const select = `SELECT model, state, failures, opens, open_until AS openUntil, last_error AS lastError, updated_at AS updatedAt FROM model_breakers`;

/** Reads and writes the `model_breakers` table. The rules live in `src/runner/fallback/breaker.ts`. */
export class BreakerStore {
  constructor(private readonly db: Db) {}

  get(model: string): Breaker | undefined {
    return this.db.prepare(`${select} WHERE model = ?`).get(model) as Breaker | undefined;
  }

  all(): Breaker[] {
    return this.db.prepare(`${select} ORDER BY model`).all() as Breaker[];
  }

  put(b: Breaker): void {
    this.db
      .prepare(
        `INSERT INTO model_breakers (model, state, failures, opens, open_until, last_error, updated_at)
         VALUES (@model, @state, @failures, @opens, @openUntil, @lastError, @updatedAt)
         ON CONFLICT(model) DO UPDATE SET state = excluded.state, failures = excluded.failures, opens = excluded.opens,
           open_until = excluded.open_until, last_error = excluded.last_error, updated_at = excluded.updated_at`,
      )
      .run(b);
  }
}
