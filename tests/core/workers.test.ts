import { describe, expect, it } from "vitest";
import { fallbackNoticeText } from "../../src/core/workers.ts";

describe("fallbackNoticeText", () => {
  it.each([
    [{ action: "retry", from: "gpt-5.2", to: null, reason: "rate_limit", delayMs: 5_000 }, "w3 retries gpt-5.2 in 5s: rate_limit"],
    // A wait over a minute reads as every other duration does (lib/present.ts), not "90s".
    [{ action: "retry", from: "gpt-5.2", to: null, reason: "rate_limit", delayMs: 90_000 }, "w3 retries gpt-5.2 in 1m 30s: rate_limit"],
    [{ action: "retry", from: "gpt-5.2", to: null, reason: "overloaded", delayMs: 0 }, "w3 retries gpt-5.2: overloaded"],
    [
      { action: "fallback", from: "gpt-5.2", to: "claude-sonnet-4-5", reason: "billing", delayMs: 0 },
      "w3 fell back from gpt-5.2 to claude-sonnet-4-5: billing",
    ],
    [{ action: "give_up", from: "claude-sonnet-4-5", to: null, reason: "auth", delayMs: 0 }, "w3 gave up after claude-sonnet-4-5: auth"],
  ] as const)("%o", (n, text) => {
    expect(fallbackNoticeText("w3", n)).toBe(text);
  });
});
