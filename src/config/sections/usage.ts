import { z } from "zod";

/** USD per million tokens of one kind; a kind left out costs nothing for that model. */
const perMillion = z.number().min(0);

/** One model's prices, overriding (or filling in for) the catalog. */
export const modelPrice = z.strictObject({
  input: perMillion.describe("USD per million uncached input tokens"),
  output: perMillion.describe("USD per million output tokens"),
  cacheRead: perMillion.optional().describe("USD per million cache-read tokens; default: the input price"),
  cacheWrite: perMillion.optional().describe("USD per million cache-write tokens; default: the input price"),
});
export type ModelPriceOverride = z.infer<typeof modelPrice>;

/** Usage and cost (issue 17): `/usage`, `asm usage`, the cost line of `/session` and the cost metrics. */
export const usageSection = z
  .strictObject({
    prices: z
      .record(z.string().min(1), modelPrice)
      .default({})
      .describe(
        'Prices per model id (prefix match on the longest key, with or without a "provider/" prefix), in USD per million tokens; they win over the catalog',
      ),
    subscriptions: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Agents (claude, codex, gemini, opencode, openclaw) or providers (anthropic, openai, google, …) on a plan with no per-token bill: their cost reads as "equivalent API cost"',
      ),
  })
  .prefault({});
