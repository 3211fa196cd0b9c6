/**
 * What a turn's tokens cost, in USD: `usage.prices` from the config first, then a model catalog.
 *
 * The catalog is `@pydantic/genai-prices` (npm). Why this one: it is maintained by the Pydantic team as a
 * standalone price database (releases every few weeks, prices checked against the providers' pages), covers
 * all five agents' providers (Anthropic, OpenAI, Google, and the OpenRouter/Moonshot/MiniMax/… models
 * OpenClaw and OpenCode route to), knows cache-read/cache-write prices, long-context tiers and dated price
 * changes, has no dependencies, and ships its data inside the package: `calcPrice` reads the bundled
 * table and never touches the network unless `updatePrices` is called, which asm never does. The others
 * looked at: `tokenlens` (models.dev data, but its static catalog had not been released for months and has
 * no tiers), `llm-cost` (unmaintained since 2024, pulls tiktoken), `llm-info` (a short hand-kept list).
 *
 * A model neither knows has no price: `cost` answers null and callers show it without a cost and name it,
 * never as zero.
 *
 * ```ts
 * const prices = new PriceBook(config.usage.prices);
 * prices.cost("claude-sonnet-4-5-20250929", { input: 1200, output: 300, cacheRead: 40_000, cacheWrite: 0 }, ts); // 0.0201
 * prices.cost("my-local-model", counts, ts); // null
 * ```
 */
import { calcPrice, findProvider } from "@pydantic/genai-prices";
import type { ModelPriceOverride } from "../config/sections/usage.ts";

/** One turn's tokens; `input` is the uncached part (as the `turns` table stores it for every agent). */
export interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** Where a model's price comes from. */
export type PriceSource = "config" | "catalog";

/** What is known about a model id's price. */
export interface ModelPriceInfo {
  source: PriceSource;
  /** The catalog's provider id ("anthropic", "openai", "google", …), or the id's own "provider/" prefix. */
  provider: string | null;
  /** The catalog's model id the id matched, or the config key. */
  matched: string;
}

/** The catalog asm prices from, for notes and `--json`. */
export const catalogName = "@pydantic/genai-prices";

/** USD per token of each kind plus a fixed per-request part, valid within one tier and one price period. */
interface Rates {
  fixed: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

interface Resolved extends ModelPriceInfo {
  /** Rates for a turn: total input tokens select the tier, `ts` the price period. */
  rates(totalInput: number, ts: number): Rates;
}

const hour = 3_600_000;

/** "anthropic/claude-sonnet-4-5" → ["anthropic", "claude-sonnet-4-5"]; an id without a prefix → [null, id]. */
export function splitProvider(model: string): [string | null, string] {
  const slash = model.indexOf("/");
  return slash > 0 ? [model.slice(0, slash), model.slice(slash + 1)] : [null, model];
}

/** The longest key of `table` that prefixes `id` or its bare model part. */
function longestPrefix(table: Record<string, ModelPriceOverride>, id: string): string | undefined {
  const bare = splitProvider(id)[1];
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if ((id.startsWith(key) || bare.startsWith(key)) && (best === undefined || key.length > best.length)) best = key;
  }
  return best;
}

function fromConfig(key: string, p: ModelPriceOverride, provider: string | null): Resolved {
  const rates: Rates = {
    fixed: 0,
    input: p.input / 1e6,
    output: p.output / 1e6,
    cacheRead: (p.cacheRead ?? p.input) / 1e6,
    cacheWrite: (p.cacheWrite ?? p.input) / 1e6,
  };
  return { source: "config", provider, matched: key, rates: () => rates };
}

/**
 * A catalog model as linear rates. Within one tier (tiers switch on the request's total input tokens)
 * and one price period, the catalog's price is linear in each kind of token, so five catalog calls give
 * the rates and every turn after that is arithmetic: pricing a month of turns one `calcPrice` at a time
 * would take seconds.
 */
function fromCatalog(id: string): Resolved | null {
  const [prefix, bare] = splitProvider(id);
  const providerId = prefix && findProvider({ providerId: prefix }) ? prefix : undefined;
  const attempts: [string, string | undefined][] = providerId ? [[bare, providerId]] : [];
  attempts.push([bare, undefined]);
  if (prefix) attempts.push([id, undefined]);
  for (const [model, pid] of attempts) {
    const probe = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, pid ? { providerId: pid } : {});
    if (!probe) continue;
    const provider = probe.provider.id;
    const periods = Array.isArray(probe.model.prices) ? probe.model.prices.map((p) => p.prices) : [probe.model.prices];
    const starts = [
      ...new Set(periods.flatMap((p) => Object.values(p).flatMap((v) => (typeof v === "object" && v !== null ? v.tiers.map((t) => t.start) : [])))),
    ].sort((a, b) => a - b);
    const timeVarying = Array.isArray(probe.model.prices);
    const memo = new Map<string, Rates>();
    const f = (usage: Record<string, number>, ts: number) => calcPrice(usage, model, { providerId: provider, timestamp: new Date(ts) })?.total_price ?? 0;
    return {
      source: "catalog",
      provider,
      matched: probe.model.id,
      rates(totalInput, ts) {
        let tier = 0;
        while (tier < starts.length && totalInput > starts[tier]!) tier++;
        const period = timeVarying ? Math.floor(ts / hour) : 0;
        const key = `${tier}:${period}`;
        let r = memo.get(key);
        if (!r) {
          const at = period * hour;
          const low = tier === 0 ? 0 : starts[tier - 1]! + 1;
          const high = tier < starts.length ? starts[tier]! : Number.POSITIVE_INFINITY;
          const d = Math.max(1, Math.min(1000, high - low));
          const f0 = f({ input_tokens: low }, at);
          const input = (f({ input_tokens: low + d }, at) - f0) / d;
          r = {
            input,
            fixed: f0 - input * low,
            output: (f({ input_tokens: low, output_tokens: d }, at) - f0) / d,
            cacheRead: (f({ input_tokens: low + d, cache_read_tokens: d }, at) - f0) / d,
            cacheWrite: (f({ input_tokens: low + d, cache_write_tokens: d }, at) - f0) / d,
          };
          memo.set(key, r);
        }
        return r;
      },
    };
  }
  return null;
}

/**
 * Prices per model id, resolved once per id: the longest matching `usage.prices` key, else the catalog
 * (with the id's "provider/" prefix as the provider when the catalog knows it), else none.
 */
export class PriceBook {
  private readonly resolved = new Map<string, Resolved | null>();

  constructor(private readonly overrides: Record<string, ModelPriceOverride> = {}) {}

  private resolve(model: string): Resolved | null {
    let r = this.resolved.get(model);
    if (r === undefined) {
      const key = longestPrefix(this.overrides, model);
      r = key !== undefined ? fromConfig(key, this.overrides[key]!, splitProvider(model)[0]) : fromCatalog(model);
      this.resolved.set(model, r);
    }
    return r;
  }

  /** Where `model`'s price comes from, or null when nobody prices it. */
  info(model: string): ModelPriceInfo | null {
    const r = this.resolve(model);
    return r ? { source: r.source, provider: r.provider, matched: r.matched } : null;
  }

  /** USD for one turn of `model` at `ts` (epoch ms), or null when the model has no price. */
  cost(model: string | null, t: TokenCounts, ts: number): number | null {
    if (!model) return null;
    const r = this.resolve(model);
    if (!r) return null;
    const rates = r.rates(t.input + t.cacheRead + t.cacheWrite, ts);
    return rates.fixed + rates.input * t.input + rates.output * t.output + rates.cacheRead * t.cacheRead + rates.cacheWrite * t.cacheWrite;
  }
}

/**
 * A cost as every view shows it, five characters at most: "$0", "<$.01", "$0.42", "$12.3", "$123", "$1234",
 * "$12k", "$1.2M".
 */
export function formatCost(usd: number): string {
  if (usd === 0) return "$0";
  if (usd < 0.005) return "<$.01";
  if (usd < 9.995) return `$${usd.toFixed(2)}`;
  if (usd < 99.95) return `$${usd.toFixed(1)}`;
  if (usd < 9999.5) return `$${Math.round(usd)}`;
  if (usd < 999_500) return `$${Math.round(usd / 1000)}k`;
  return `$${(usd / 1e6).toFixed(1)}M`;
}
