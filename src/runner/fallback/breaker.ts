import type { ErrorReason } from "../../agents/error-reason.ts";
import type { Breaker } from "../../store/breakers.ts";

/** The breaker settings from `runner.fallback`. */
export interface BreakerRules {
  breakerFailures: number;
  cooloffMinutes: number[];
  billingCooloffHours: number;
}

export const closedBreaker = (model: string, now: number): Breaker => ({
  model,
  state: "closed",
  failures: 0,
  opens: 0,
  openUntil: null,
  lastError: null,
  updatedAt: now,
});

/** The state a breaker is in at `now`: an open one whose cool-off ran out lets one probe through. */
export function breakerNow(b: Breaker | undefined, model: string, now: number): Breaker {
  if (!b) return closedBreaker(model, now);
  if (b.state === "open" && b.openUntil !== null && b.openUntil <= now) return { ...b, state: "half-open" };
  return b;
}

/** True when a request may go to this model now. */
export const breakerAllows = (b: Breaker) => b.state !== "open";

/** After a success: closed, counters reset. */
export const breakerSucceeded = (b: Breaker, now: number): Breaker => ({ ...closedBreaker(b.model, now) });

/**
 * After a failure. Auth and billing open it at once for hours (doubling while they repeat): no retry helps.
 * Otherwise it opens after `breakerFailures` in a row, or at once when a half-open probe fails, with the
 * next cool-off on the ladder (1 → 5 → 25 → 60 minutes by default).
 */
export function breakerFailed(b: Breaker, reason: ErrorReason | string, rules: BreakerRules, now: number): Breaker {
  const failures = b.failures + 1;
  if (reason === "auth" || reason === "billing") {
    const hours = rules.billingCooloffHours * 2 ** Math.min(b.opens, 4);
    return { ...b, state: "open", failures, opens: b.opens + 1, openUntil: now + hours * 3_600_000, lastError: reason, updatedAt: now };
  }
  if (b.state === "half-open" || failures >= rules.breakerFailures) {
    const step = rules.cooloffMinutes[Math.min(b.opens, rules.cooloffMinutes.length - 1)]!;
    return { ...b, state: "open", failures, opens: b.opens + 1, openUntil: now + step * 60_000, lastError: reason, updatedAt: now };
  }
  return { ...b, failures, lastError: reason, updatedAt: now };
}
