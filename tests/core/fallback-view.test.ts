import { describe, expect, it } from "vitest";
import { fallbackStats, fallbackView } from "../../src/core/fallback-view.ts";
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
});
