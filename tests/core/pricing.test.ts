import { calcPrice } from "@pydantic/genai-prices";
import { describe, expect, it } from "vitest";
import { formatCost, PriceBook, splitProvider } from "../../src/core/pricing.ts";

const ts = Date.parse("2026-11-20T12:00:00Z");

describe("PriceBook", () => {
  it("prices a turn as the catalog does, tiers included (uncached input + cache read/write + output)", () => {
    const book = new PriceBook();
    const cases: [string, { input: number; output: number; cacheRead: number; cacheWrite: number }][] = [
      ["claude-sonnet-4-5-20250929", { input: 1200, output: 300, cacheRead: 40_000, cacheWrite: 2000 }],
      ["claude-sonnet-4-5-20250929", { input: 5000, output: 900, cacheRead: 240_000, cacheWrite: 0 }], // over the 200k tier
      ["claude-opus-4-6", { input: 10, output: 1500, cacheRead: 90_000, cacheWrite: 800 }],
      ["gpt-5.2-codex", { input: 3000, output: 700, cacheRead: 60_000, cacheWrite: 0 }],
      ["gemini-2.5-pro", { input: 150_000, output: 2000, cacheRead: 0, cacheWrite: 0 }],
    ];
    for (const [model, t] of cases) {
      const expected = calcPrice(
        { input_tokens: t.input + t.cacheRead + t.cacheWrite, output_tokens: t.output, cache_read_tokens: t.cacheRead, cache_write_tokens: t.cacheWrite },
        model,
        { timestamp: new Date(ts) },
      )!.total_price;
      expect(book.cost(model, t, ts), model).toBeCloseTo(expected, 9);
      expect(expected).toBeGreaterThan(0);
    }
  });

  it("reads a provider/ prefix as the provider (OpenClaw and OpenCode name models that way)", () => {
    const book = new PriceBook();
    const t = { input: 1000, output: 1000, cacheRead: 0, cacheWrite: 0 };
    expect(book.cost("anthropic/claude-sonnet-4-5", t, ts)).toBeCloseTo(book.cost("claude-sonnet-4-5", t, ts)!, 12);
    expect(book.info("openai-codex/gpt-5.2")?.provider).toBe("openai");
    expect(splitProvider("anthropic/claude-opus-4-6")).toEqual(["anthropic", "claude-opus-4-6"]);
  });

  it("a model nobody prices has no cost (null, never zero); config prices win and fill in", () => {
    const t = { input: 1_000_000, output: 1_000_000, cacheRead: 1_000_000, cacheWrite: 0 };
    expect(new PriceBook().cost("my-local-model-7b", t, ts)).toBeNull();
    expect(new PriceBook().cost(null, t, ts)).toBeNull();
    const book = new PriceBook({ "my-local": { input: 1, output: 2, cacheRead: 0.5 }, "claude-opus-4-6": { input: 0, output: 0 } });
    expect(book.cost("my-local-model-7b", t, ts)).toBeCloseTo(3.5, 10);
    expect(book.info("zai/my-local-model-7b")).toEqual({ source: "config", provider: "zai", matched: "my-local" });
    expect(book.cost("claude-opus-4-6", t, ts)).toBe(0);
  });
});

describe("formatCost", () => {
  it("reads in five characters at most", () => {
    const cases: [number, string][] = [
      [0, "$0"],
      [0.001, "<$.01"],
      [0.42, "$0.42"],
      [9.996, "$10.0"],
      [12.34, "$12.3"],
      [99.96, "$100"],
      [1234.4, "$1234"],
      [12_345, "$12k"],
      [2_500_000, "$2.5M"],
    ];
    for (const [usd, text] of cases) {
      expect(formatCost(usd)).toBe(text);
      expect(text.length).toBeLessThanOrEqual(5);
    }
  });
});
