import { hostname } from "node:os";
import type { Platform } from "../agents/session.ts";
import { modelKey } from "../checks/fallback-rate.ts";
import type { Config } from "../config/schema.ts";
import type { ReportWindow } from "../config/sections/report.ts";
import { AlertStore } from "../store/alerts.ts";
import type { Db } from "../store/db.ts";
import { FallbackStore } from "../store/fallback.ts";
import { SessionStore } from "../store/sessions.ts";
import { TurnStore } from "../store/turns.ts";
import { UsageStore } from "../store/usage.ts";
import { usageCounter } from "./usage.ts";

export type { ReportWindow } from "../config/sections/report.ts";

/** One session's context over the window, as a percentage of its context window after each turn. */
export interface ContextSeries {
  uid: string;
  /** "claude 7d3f2a10 · fix build (91%)": agent, short id, title, current %. */
  label: string;
  /** The session's context % now (the store's figure), or null. */
  percent: number | null;
  /** Oldest first; at most `maxPointsPerSession`, each the highest % in its slice of the window. */
  points: { ts: number; percent: number }[];
}

/** Tokens and cost of one agent in one period (an hour or a day, UTC). */
export interface UsageBucket {
  /** Start of the period, epoch ms. */
  at: number;
  agent: Platform;
  tokens: number;
  /** USD of the priced turns; null when none was priced. */
  cost: number | null;
}

/** Alerts of one check that fired in one period. */
export interface AlertBucket {
  at: number;
  check: string;
  count: number;
}

/** One model's fallback rate over the window: failures asm decided on, out of those plus the turns the scanner saw. */
export interface ModelFallbackRate {
  model: string;
  attempts: number;
  failures: number;
  ratePercent: number;
}

/** Everything the report shows, gathered from the store; `asm report --json` prints it as it is. */
export interface ReportData {
  host: string;
  window: ReportWindow;
  since: number;
  until: number;
  /** The per-period panels count per hour up to two days, per day (UTC) beyond. */
  bucket: "hour" | "day";
  thresholds: { warning: number; critical: number };
  context: ContextSeries[];
  usage: UsageBucket[];
  /** Models whose tokens had no price (left out of the cost panel), each once. */
  unpriced: string[];
  alerts: AlertBucket[];
  fallback: ModelFallbackRate[];
}

export const windowMs: Record<ReportWindow, number> = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };
export const hourMs = 3_600_000;
export const dayMs = 86_400_000;
/** Enough for a smooth line 800 px wide; a month of turns is not drawn one by one. */
export const maxPointsPerSession = 240;
/** Models in the fallback panel (the highest rates). */
const maxModels = 8;

/** Reads what the report shows for `window` ending at `now`. */
export function gatherReport(db: Db, config: Config, q: { window: ReportWindow; now: number }): ReportData {
  const until = q.now;
  const since = until - windowMs[q.window];
  const bucket = windowMs[q.window] <= 2 * dayMs ? "hour" : "day";
  const slot = (ts: number) => Math.floor(ts / (bucket === "hour" ? hourMs : dayMs)) * (bucket === "hour" ? hourMs : dayMs);
  const usage = gatherUsage(db, config, since, until, slot);
  return {
    host: config.host.name ?? hostname(),
    window: q.window,
    since,
    until,
    bucket,
    thresholds: { warning: config.checks.context.percentWarning, critical: config.checks.context.percentCritical },
    context: gatherContext(db, since, until, config.report.sessions),
    usage: usage.buckets,
    unpriced: usage.unpriced,
    alerts: gatherAlerts(db, since, until, slot),
    fallback: gatherFallback(db, config, since, until),
  };
}

/** The `count` most urgent sessions active in the window (highest context % now) with their context after each turn. */
function gatherContext(db: Db, since: number, until: number, count: number): ContextSeries[] {
  const turns = new TurnStore(db);
  const out: ContextSeries[] = [];
  for (const s of new SessionStore(db).list({ sort: "urgency", activeWithinMs: until - since, now: until, limit: count * 4 })) {
    if (out.length >= count) break;
    if (!s.contextWindow) continue;
    const window = s.contextWindow;
    const points = turns
      .forSession(s.uid, since)
      .filter((t) => t.contextTokens !== null && t.ts <= until)
      .map((t) => ({ ts: t.ts, percent: ((t.contextTokens as number) / window) * 100 }));
    if (points.length === 0) continue;
    const short = s.sessionId.replace(/^ses_/, "").slice(0, 8);
    const title = s.title ? ` · ${s.title.length > 18 ? `${s.title.slice(0, 17)}…` : s.title}` : "";
    const now = s.contextPercent ?? points.at(-1)!.percent;
    out.push({ uid: s.uid, label: `${s.platform} ${short}${title} (${Math.round(now)}%)`, percent: s.contextPercent, points: thin(points, since, until) });
  }
  return out;
}

/** At most `maxPointsPerSession` points: the highest % of each slice of the window, so a peak is never smoothed away. */
export function thin(points: { ts: number; percent: number }[], since: number, until: number): { ts: number; percent: number }[] {
  if (points.length <= maxPointsPerSession) return points.map((p) => ({ ts: p.ts, percent: round1(p.percent) }));
  const width = (until - since) / maxPointsPerSession;
  const slices = new Map<number, { ts: number; percent: number }>();
  for (const p of points) {
    const k = Math.floor((p.ts - since) / width);
    const seen = slices.get(k);
    if (!seen || p.percent > seen.percent) slices.set(k, p);
  }
  return [...slices.values()].sort((a, b) => a.ts - b.ts).map((p) => ({ ts: p.ts, percent: round1(p.percent) }));
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function gatherUsage(db: Db, config: Config, since: number, until: number, slot: (ts: number) => number): { buckets: UsageBucket[]; unpriced: string[] } {
  const counter = usageCounter(config);
  const buckets = new Map<string, UsageBucket>();
  for (const t of new UsageStore(db).since(since)) {
    if (t.ts > until) continue;
    const at = slot(t.ts);
    const key = `${at}:${t.platform}`;
    let b = buckets.get(key);
    if (!b) {
      b = { at, agent: t.platform, tokens: 0, cost: null };
      buckets.set(key, b);
    }
    b.tokens += t.input + t.output + t.cacheRead + t.cacheWrite;
    const cost = counter.costOf(t);
    if (cost !== null) b.cost = (b.cost ?? 0) + cost;
  }
  const rows = [...buckets.values()].sort((a, b) => a.at - b.at || a.agent.localeCompare(b.agent));
  return { buckets: rows, unpriced: counter.unpricedList().map((u) => u.model) };
}

function gatherAlerts(db: Db, since: number, until: number, slot: (ts: number) => number): AlertBucket[] {
  const buckets = new Map<string, AlertBucket>();
  for (const a of new AlertStore(db).firedBetween(since, until)) {
    const at = slot(a.firedAt);
    const key = `${at}:${a.check}`;
    const b = buckets.get(key) ?? { at, check: a.check, count: 0 };
    b.count++;
    buckets.set(key, b);
  }
  return [...buckets.values()].sort((a, b) => a.at - b.at || a.check.localeCompare(b.check));
}

/**
 * Models with a fallback decision in the window, and the models of `runner.fallbackOrder` that ran: failures out of
 * attempts (failures + turns seen on that model), as `/fallback` counts them.
 */
function gatherFallback(db: Db, config: Config, since: number, until: number): ModelFallbackRate[] {
  const failures = new Map<string, number>();
  for (const d of new FallbackStore(db).since(since)) {
    if (d.ts > until) continue;
    const k = modelKey(d.originalModel);
    failures.set(k, (failures.get(k) ?? 0) + 1);
  }
  const turns = new Map<string, number>();
  for (const t of new TurnStore(db).byModel(since)) turns.set(modelKey(t.model), (turns.get(modelKey(t.model)) ?? 0) + t.turns);
  const configured = config.runner.fallbackOrder.map((m) => modelKey(config.runner.models[m]?.model ?? m));
  const models = new Set([...failures.keys(), ...configured.filter((m) => (turns.get(m) ?? 0) > 0)]);
  return [...models]
    .map((model) => {
      const failed = failures.get(model) ?? 0;
      const attempts = failed + (turns.get(model) ?? 0);
      return { model, attempts, failures: failed, ratePercent: attempts ? round1((failed / attempts) * 100) : 0 };
    })
    .sort((a, b) => b.ratePercent - a.ratePercent || b.attempts - a.attempts || a.model.localeCompare(b.model))
    .slice(0, maxModels);
}
