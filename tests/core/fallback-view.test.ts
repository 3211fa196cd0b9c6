import { describe, expect, it } from "vitest";
import { effectiveOrder, fallbackStats, fallbackView } from "../../src/core/fallback-view.ts";
import { viewToText } from "../../src/messages/view.ts";
import { closedBreaker } from "../../src/runner/fallback/breaker.ts";
import { cfg } from "../helpers/checks.ts";

const NOW = Date.parse("2026-12-05T12:00:00Z");

describe("/fallback", () => {
  it("per model: failures by class and rate over 1h and 24h, breaker and cool-off, open breakers ordered last", () => {
    const config = cfg();
    const d = (min: number, model: string, errorType: string) => ({
      ts: NOW - min * 60_000,
      worker: "w1",
      originalModel: model,
      errorType,
      nextModel: null,
      source: "runner",
      dedupKey: `${min}${model}`,
    });
    const decisions = [
      d(5, "openai-codex/gpt-5.2", "rate_limit"),
      d(10, "openai-codex/gpt-5.2", "rate_limit"),
      d(120, "openai-codex/gpt-5.2", "timeout"),
      d(3, "google-gemini-3-pro", "auth"),
    ];
    const breaker = (m: string) =>
      m === "google-gemini-3-pro"
        ? { ...closedBreaker(m, NOW), state: "open" as const, openUntil: NOW + 5 * 3_600_000, lastError: "auth" }
        : closedBreaker(m, NOW);
    const stats = fallbackStats(config, breaker, decisions, [{ model: "gpt-5.2", turns: 8 }], [{ model: "gpt-5.2", turns: 20 }], NOW);
    expect(stats.map((s) => s.model)).toEqual(["openai-codex/gpt-5.2", "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5", "google-gemini-3-pro"]);
    const codex = stats[0]!;
    expect(codex.hour).toEqual({ attempts: 10, failures: 2, ratePercent: 20, byClass: { rate_limit: 2 } });
    expect(codex.day).toMatchObject({ attempts: 23, failures: 3, byClass: { rate_limit: 2, timeout: 1 } });
    expect(stats[3]!.breaker).toMatchObject({ state: "open", coolOffLeftMs: 5 * 3_600_000, lastError: "auth" });
    const text = viewToText(fallbackView(stats));
    expect(text).toContain("1h  2/10 failed (20%)\n    rate_limit 2");
    expect(text).toContain("4. google-gemini-3-pro (gemini)");
    expect(text).toMatch(/breaker open, 5h.* left\nlast error auth/);
    for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(40);
  });

  it("models sharing a tier swap places by measured failure rate, then speed; untiered ones and unmeasured ones stay put", () => {
    const config = cfg({
      runner: {
        models: {
          a: { driver: "codex", model: "a-1", tier: 1 },
          b: { driver: "claude", model: "b-1", tier: 1 },
          c: { driver: "gemini", model: "c-1" },
          d: { driver: "claude", model: "d-1", tier: 2 },
          e: { driver: "claude", model: "e-1", tier: 2 },
        },
        fallbackOrder: ["a", "b", "c", "d", "e"],
      },
    });
    const fail = (model: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ts: NOW - 60_000 * (i + 1),
        worker: "w1",
        originalModel: model,
        errorType: "overloaded",
        nextModel: null,
        source: "runner",
        dedupKey: `${model}${i}`,
      }));
    const breaker = (m: string) => closedBreaker(m, NOW);
    // a fails 4 of 10, b 0 of 10: b moves up within tier 1; c (untiered) keeps its place;
    // d and e fail alike (0 of 5 each): the faster median turn (e) goes first; nothing measured would not move.
    const turns = [
      { model: "a-1", turns: 6 },
      { model: "b-1", turns: 10 },
      { model: "c-1", turns: 50 },
      { model: "d-1", turns: 5 },
      { model: "e-1", turns: 5 },
    ];
    const times = [
      { model: "d-1", medianMs: 90_000, runs: 3 },
      { model: "e-1", medianMs: 30_000, runs: 3 },
    ];
    const stats = fallbackStats(config, breaker, fail("a", 4), turns, turns, NOW, times);
    expect(stats.map((s) => s.model)).toEqual(["b", "a", "c", "e", "d"]);
    expect(effectiveOrder(config, stats)).toEqual(["b", "a", "c", "e", "d"]);
    expect(stats.find((s) => s.model === "b")!.why).toBe("tier 1 ↑ no failures");
    expect(stats.find((s) => s.model === "a")!.why).toBe("tier 1 ↓ 40% failed");
    expect(stats.find((s) => s.model === "e")!.why).toBe("tier 2 ↑ no failures, 30s/turn");
    expect(stats.find((s) => s.model === "c")!.why).toBeNull();
    const text = viewToText(fallbackView(stats));
    for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(40);

    // Too few attempts: the configured order holds.
    const quiet = fallbackStats(config, breaker, fail("a", 1), [], [], NOW, times);
    expect(quiet.map((s) => s.model)).toEqual(["a", "b", "c", "d", "e"]);
  });
});
