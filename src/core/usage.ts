import type { Config } from "../config/schema.ts";
import type { Db } from "../store/db.ts";
import { UsageStore, type UsageTurn } from "../store/usage.ts";
import { PriceBook, splitProvider } from "./pricing.ts";

/** What `/usage` and `asm usage` group by. */
export type UsageGroup = "agent" | "model" | "project" | "session";
export const usageGroups: readonly UsageGroup[] = ["agent", "model", "project", "session"];

/** Tokens and cost of one group (or of everything). */
export interface UsageTotals {
  turns: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** USD of the priced turns; null when none of them had a price. */
  cost: number | null;
  /** The part of `cost` that is "equivalent API cost" (agents/providers in `usage.subscriptions`). */
  equivalentCost: number;
  /** Tokens of turns whose model has no price (not in `cost`). */
  unpricedTokens: number;
}

export interface UsageRow extends UsageTotals {
  /** The agent, model, project path or session uid. */
  key: string;
  /** How a person reads the key: a session's id, a project's last folder. */
  label: string;
}

export interface UsageReport {
  /** Epoch ms; null = everything kept (`monitor.retentionDays.turns`). */
  since: number | null;
  until: number;
  by: UsageGroup;
  /** Most expensive first (then most tokens). */
  rows: UsageRow[];
  total: UsageTotals;
  /** Each model without a price, once, with its tokens. */
  unpriced: { model: string; tokens: number }[];
}

const empty = (): UsageTotals => ({ turns: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: null, equivalentCost: 0, unpricedTokens: 0 });
const tokensOf = (t: { input: number; output: number; cacheRead: number; cacheWrite: number }) => t.input + t.output + t.cacheRead + t.cacheWrite;

/** The key a turn is grouped under, and its label. */
function keyOf(t: UsageTurn, by: UsageGroup): [string, string] {
  if (by === "agent") return [t.platform, t.platform];
  if (by === "model") return [t.model ?? "(unknown model)", t.model ?? "(unknown model)"];
  if (by === "project")
    return t.project
      ? [
          t.project,
          t.project
            .replace(/[\\/]+$/, "")
            .split(/[\\/]/)
            .pop() || t.project,
        ]
      : ["", "(no project)"];
  return [t.sessionUid, t.sessionId];
}

/** Prices turns and adds them up, remembering which models had no price. */
export class UsageCounter {
  readonly unpriced = new Map<string, number>();
  private readonly subscriptions: Set<string>;

  constructor(
    readonly prices: PriceBook,
    subscriptions: readonly string[],
  ) {
    this.subscriptions = new Set(subscriptions.map((s) => s.toLowerCase()));
  }

  /** Whether this turn runs on a plan with no per-token bill (its agent or its model's provider is listed). */
  isSubscription(t: Pick<UsageTurn, "platform" | "model">): boolean {
    if (this.subscriptions.size === 0) return false;
    if (this.subscriptions.has(t.platform)) return true;
    if (!t.model) return false;
    const prefix = splitProvider(t.model)[0];
    const provider = this.prices.info(t.model)?.provider;
    return (prefix !== null && this.subscriptions.has(prefix.toLowerCase())) || (provider != null && this.subscriptions.has(provider.toLowerCase()));
  }

  /** The turn's cost, or null (and the model noted) when it has no price; a turn with no tokens costs nothing. */
  costOf(t: UsageTurn): number | null {
    const tokens = tokensOf(t);
    if (tokens === 0) return 0;
    const cost = this.prices.cost(t.model, t, t.ts);
    if (cost === null) {
      const name = t.model ?? "(unknown model)";
      this.unpriced.set(name, (this.unpriced.get(name) ?? 0) + tokens);
    }
    return cost;
  }

  add(into: UsageTotals, t: UsageTurn, cost: number | null): void {
    into.turns++;
    into.input += t.input;
    into.output += t.output;
    into.cacheRead += t.cacheRead;
    into.cacheWrite += t.cacheWrite;
    if (cost === null) into.unpricedTokens += tokensOf(t);
    else {
      into.cost = (into.cost ?? 0) + cost;
      if (this.isSubscription(t)) into.equivalentCost += cost;
    }
  }

  unpricedList(): { model: string; tokens: number }[] {
    return [...this.unpriced].map(([model, tokens]) => ({ model, tokens })).sort((a, b) => b.tokens - a.tokens);
  }
}

export const usageCounter = (config: Config) => new UsageCounter(new PriceBook(config.usage.prices), config.usage.subscriptions);

/** Tokens and cost since `since` (null = all kept), grouped by agent, model, project or session. */
export function usageReport(db: Db, config: Config, q: { since: number | null; by: UsageGroup; now: number }): UsageReport {
  const counter = usageCounter(config);
  const groups = new Map<string, UsageRow>();
  const total = empty();
  for (const t of new UsageStore(db).since(q.since ?? 0)) {
    if (t.ts > q.now) continue;
    const [key, label] = keyOf(t, q.by);
    let row = groups.get(key);
    if (!row) {
      row = { key, label, ...empty() };
      groups.set(key, row);
    }
    const cost = counter.costOf(t);
    counter.add(row, t, cost);
    counter.add(total, t, cost);
  }
  const rows = [...groups.values()].sort((a, b) => (b.cost ?? -1) - (a.cost ?? -1) || tokensOf(b) - tokensOf(a) || a.key.localeCompare(b.key));
  return { since: q.since, until: q.now, by: q.by, rows, total, unpriced: counter.unpricedList() };
}

/** One session's tokens and cost, with the models that had no price (for `/session`). */
export function sessionUsage(db: Db, config: Config, uid: string): UsageTotals & { unpriced: string[]; subscription: boolean } {
  const counter = usageCounter(config);
  const total = empty();
  let subscription = false;
  for (const t of new UsageStore(db).forSession(uid)) {
    counter.add(total, t, counter.costOf(t));
    subscription ||= counter.isSubscription(t);
  }
  return { ...total, unpriced: [...counter.unpriced.keys()], subscription };
}

const durationUnits: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Thrown for a `--since`/window that is neither a duration, a date nor "all". */
export class UsageWindowError extends Error {
  constructor(value: string) {
    super(`"${value.slice(0, 40)}" is not a window: a duration (24h, 7d, 30d, 90m, 2w), a date (2026-11-01, ISO time) or all`);
    this.name = "UsageWindowError";
  }
}

/** "24h", "7d", "90m", "2w" → now minus that; "2026-11-01" or an ISO time → that instant; "all" → null. */
export function parseSince(value: string, now: number): number | null {
  const v = value.trim().toLowerCase();
  if (v === "all") return null;
  const d = /^(\d{1,6})(m|h|d|w)$/.exec(v);
  if (d) return now - Number(d[1]) * durationUnits[d[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}([t ][\d:.]+(z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const at = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v.toUpperCase().replace(" ", "T"));
    if (!Number.isNaN(at) && at <= now) return at;
  }
  throw new UsageWindowError(value);
}
