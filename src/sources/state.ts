import type { Db } from "../store/db.ts";
import type { Platform, SessionState } from "../store/sessions.ts";

/**
 * How long after its last event a session's state stops being what its file last said. These are the only
 * time-based parts of a state; everything else comes from the file's events.
 * - waiting → idle: a finished turn is "waiting for input" while the person is plausibly still there.
 * - running → unknown: a turn with no event for an hour was most likely killed mid-turn (the file cannot
 *   say), so we stop claiming it runs rather than invent an outcome.
 */
export const IDLE_AFTER_MS = 10 * 60_000;
export const STALE_RUNNING_MS = 60 * 60_000;

/** The state of a session whose file-derived phase is `state`, at `now`. */
export function ageState(state: SessionState, lastActivity: number | null, now: number): SessionState {
  if (lastActivity === null) return state;
  if (state === "waiting" && now - lastActivity > IDLE_AFTER_MS) return "idle";
  if (state === "running" && now - lastActivity > STALE_RUNNING_MS) return "unknown";
  return state;
}

/**
 * Applies `ageState` to the rows of a platform whose files did not change this cycle (their rows were
 * not rewritten): one UPDATE each, so a no-change cycle stays at stat cost.
 */
export function ageSessionStates(db: Db, platform: Platform, now: number): void {
  db.prepare("UPDATE sessions SET state = 'idle' WHERE platform = ? AND state = 'waiting' AND present = 1 AND last_activity < ?").run(
    platform,
    now - IDLE_AFTER_MS,
  );
  db.prepare("UPDATE sessions SET state = 'unknown' WHERE platform = ? AND state = 'running' AND present = 1 AND last_activity < ?").run(
    platform,
    now - STALE_RUNNING_MS,
  );
}
