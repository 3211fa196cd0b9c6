import { describe, expect, it } from "vitest";
import { breakerFailed, breakerNow, closedBreaker } from "../../../src/runner/fallback/breaker.ts";
import { chainFor, decideFallback, resetHintSeconds } from "../../../src/runner/fallback/policy.ts";
import type { Breaker } from "../../../src/store/breakers.ts";

const models = {
  a: { driver: "codex", model: "gpt-5.2", contextWindow: 400_000 },
  b: { driver: "claude", model: "claude-sonnet-4-5", contextWindow: 200_000 },
  c: { driver: "gemini", model: "gemini-3-pro", contextWindow: 1_000_000 },
  d: { driver: "claude", model: "claude-haiku-4-5", contextWindow: 200_000 },
};
const rules = { maxRetries: 3, retryDelaySeconds: 5, rateLimitRetryMaxSeconds: 60 };
const closed = (m: string) => closedBreaker(m, 0);
const chain = ["a", "b", "c", "d"];
const decide = (errorClass: string, attempt = 1, index = 0, message: string | null = null, breakers = closed) =>
  decideFallback({ errorClass, message }, { chain, index, attempt }, models, breakers, rules);

describe("fallback policy (the runbook's classes)", () => {
  it.each([
    ["overloaded", "retry"],
    ["server_error", "retry"],
    ["timeout", "retry"],
    ["crash", "retry"],
    ["rate_limit", "next"],
    ["auth", "next"],
    ["billing", "next"],
    ["invalid_request", "next"],
    ["spawn", "next"],
    ["error", "next"],
  ])("%s on the first try → %s", (cls, kind) => {
    expect(decide(cls).kind).toBe(kind);
  });

  it("retries a transient error up to maxRetries tries of one model, then moves on", () => {
    expect(decide("overloaded", 2)).toMatchObject({ kind: "retry", model: "a", delayMs: 5000 });
    expect(decide("overloaded", 3)).toMatchObject({ kind: "next", from: "a", to: "b" });
  });

  it("a rate limit with a short reset waits for it on the same model; a long or unknown one moves on", () => {
    expect(decide("rate_limit", 1, 0, "429: try again in 20 seconds")).toMatchObject({ kind: "retry", delayMs: 20_000 });
    expect(decide("rate_limit", 1, 0, "429: try again in 14 minutes")).toMatchObject({ kind: "next", to: "b" });
    expect(resetHintSeconds("Retry-After: 3")).toBe(3);
    expect(resetHintSeconds("resets in 2h")).toBe(7200);
  });

  it("auth and billing are never retried, even on the first try", () => {
    expect(decide("auth", 1)).toMatchObject({ kind: "next", to: "b" });
    expect(decide("billing", 1)).toMatchObject({ kind: "next", to: "b" });
  });

  it("context overflow never falls back to a smaller window: only a larger one, else stop for a handover", () => {
    expect(decide("context_overflow", 1, 1)).toMatchObject({ kind: "next", from: "b", to: "c" });
    const d = decideFallback({ errorClass: "context_overflow", message: null }, { chain: ["a", "b", "d"], index: 0, attempt: 1 }, models, closed, rules);
    expect(d).toMatchObject({ kind: "stop" });
    expect(d.kind === "stop" && d.why).toMatch(/hand the session over/);
  });

  it("skips models whose breaker is open, and stops when nothing is left", () => {
    const open = (m: string): Breaker => (m === "b" ? { ...closedBreaker(m, 0), state: "open", openUntil: Number.MAX_SAFE_INTEGER } : closedBreaker(m, 0));
    expect(decide("rate_limit", 1, 0, null, open)).toMatchObject({ kind: "next", to: "c", skipped: ["b (breaker open)"] });
    expect(decide("rate_limit", 1, 3)).toMatchObject({ kind: "stop", from: "d" });
  });

  it("does not retry a model whose breaker just opened", () => {
    const openA = (m: string): Breaker => (m === "a" ? { ...closedBreaker(m, 0), state: "open", openUntil: Number.MAX_SAFE_INTEGER } : closedBreaker(m, 0));
    expect(decide("overloaded", 1, 0, null, openA)).toMatchObject({ kind: "next", to: "b" });
  });

  it("the chain: --chain as given, else the order from the model on, an unlisted model first", () => {
    expect(chainFor("b", chain)).toEqual(["b", "c", "d"]);
    expect(chainFor("x", chain)).toEqual(["x", "a", "b", "c", "d"]);
    expect(chainFor("b", chain, ["d", "a", "d"])).toEqual(["d", "a"]);
  });
});

describe("circuit breaker", () => {
  const r = { breakerFailures: 3, cooloffMinutes: [1, 5, 25, 60], billingCooloffHours: 6 };
  it("opens after K failures with growing cool-offs; half-open lets one probe through; a failed probe reopens longer", () => {
    let b = closedBreaker("m", 0);
    b = breakerFailed(b, "overloaded", r, 0);
    b = breakerFailed(b, "overloaded", r, 0);
    expect(b.state).toBe("closed");
    b = breakerFailed(b, "overloaded", r, 0);
    expect(b).toMatchObject({ state: "open", openUntil: 60_000 });
    expect(breakerNow(b, "m", 59_999).state).toBe("open");
    const half = breakerNow(b, "m", 60_000);
    expect(half.state).toBe("half-open");
    b = breakerFailed(half, "overloaded", r, 60_000);
    expect(b).toMatchObject({ state: "open", openUntil: 60_000 + 5 * 60_000 });
  });
  it("auth and billing open it at once for hours, doubling while they repeat", () => {
    const b = breakerFailed(closedBreaker("m", 0), "auth", r, 0);
    expect(b).toMatchObject({ state: "open", openUntil: 6 * 3_600_000 });
    expect(breakerFailed(b, "billing", r, 0).openUntil).toBe(12 * 3_600_000);
  });
});
