import type { SessionState } from "./session.ts";

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
