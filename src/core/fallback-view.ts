import type { FallbackDecision } from "../agents/agent.ts";
import { modelKey } from "../checks/fallback-rate.ts";
import type { Config } from "../config/schema.ts";
import { formatDuration, formatPercent } from "../lib/present.ts";
import type { View } from "../messages/view.ts";
import type { Breaker } from "../store/breakers.ts";

/** One model's figures for `/fallback` and `asm fallback --json`. */
export interface ModelFallbackStats {
  model: string;
  driver: string | null;
  /** Position in the effective order (1-based); models cooling off go last. */
  rank: number;
  breaker: { state: Breaker["state"]; failures: number; coolOffLeftMs: number | null; lastError: string | null };
  hour: WindowStats;
  day: WindowStats;
  /** Its tier (`runner.models.<id>.tier`), when it has one. */
  tier: number | null;
  /** Median time per turn of its completed workers over the last day, and how many there were. */
  turnMs: { median: number; runs: number } | null;
  /** Why it stands where it does, when that is not simply its place in `runner.fallbackOrder`. */
  why: string | null;
}

/** A model needs this many attempts in the window before its failure rate may move it within its tier. */
export const minAttemptsToRank = 3;

export interface WindowStats {
  attempts: number;
  failures: number;
  ratePercent: number | null;
  byClass: Record<string, number>;
}

/** A model's figures under either name: its id in runner.models or the model argument its CLI reports. */
function windowStats(names: string[], decisions: FallbackDecision[], turns: Map<string, number>, since: number): WindowStats {
  const keys = new Set(names.map(modelKey));
  const mine = decisions.filter((d) => d.ts >= since && keys.has(modelKey(d.originalModel)));
  const byClass: Record<string, number> = {};
  for (const d of mine) byClass[d.errorType ?? "unknown"] = (byClass[d.errorType ?? "unknown"] ?? 0) + 1;
  const attempts = mine.length + [...keys].reduce((n, k) => n + (turns.get(k) ?? 0), 0);
  return { attempts, failures: mine.length, ratePercent: attempts ? (mine.length / attempts) * 100 : null, byClass };
}

/**
 * Per model of `runner.fallbackOrder` (then any other model of `runner.models`): attempts, failures by class and
 * rate over the last hour and day, its breaker and cool-off, and the effective order (open breakers last).
 * Attempts count the failures asm decided on plus the turns the scanner saw on that model.
 */
export function fallbackStats(
  config: Config,
  breaker: (model: string) => Breaker,
  decisions: FallbackDecision[],
  turnsHour: { model: string; turns: number }[],
  turnsDay: { model: string; turns: number }[],
  now: number,
  turnTimes: { model: string; medianMs: number; runs: number }[] = [],
): ModelFallbackStats[] {
  const r = config.runner;
  const models = [...new Set([...r.fallbackOrder, ...Object.keys(r.models)])];
  const toMap = (xs: { model: string; turns: number }[]) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(modelKey(x.model), (m.get(modelKey(x.model)) ?? 0) + x.turns);
    return m;
  };
  const hour = toMap(turnsHour);
  const day = toMap(turnsDay);
  const times = new Map(turnTimes.map((t) => [modelKey(t.model), t]));
  const rows: ModelFallbackStats[] = models.map((model) => {
    const b = breaker(model);
    const t = times.get(modelKey(model)) ?? times.get(modelKey(r.models[model]?.model ?? model));
    return {
      model,
      driver: r.models[model]?.driver ?? null,
      rank: 0,
      breaker: { state: b.state, failures: b.failures, coolOffLeftMs: b.state === "open" && b.openUntil ? b.openUntil - now : null, lastError: b.lastError },
      hour: windowStats([model, r.models[model]?.model ?? model], decisions, hour, now - 3_600_000),
      day: windowStats([model, r.models[model]?.model ?? model], decisions, day, now - 86_400_000),
      tier: r.models[model]?.tier ?? null,
      turnMs: t ? { median: t.medianMs, runs: t.runs } : null,
      why: null,
    };
  });
  const order = byTier(rows).sort((a, b) => Number(a.breaker.state === "open") - Number(b.breaker.state === "open"));
  order.forEach((row, i) => {
    row.rank = i + 1;
    if (row.breaker.state === "open") row.why = "breaker open: tried last";
  });
  return order;
}

/**
 * The configured order with each tier's models re-sorted in the places that tier holds: fewer failures over the
 * day first (once a model has `minAttemptsToRank` attempts; unmeasured ones keep their relative order after the
 * measured), then the faster median turn. Untiered models never move.
 */
function byTier(rows: ModelFallbackStats[]): ModelFallbackStats[] {
  const out = [...rows];
  const tiers = new Set(rows.map((r) => r.tier).filter((t): t is number => t !== null));
  for (const tier of tiers) {
    const slots = rows.flatMap((r, i) => (r.tier === tier ? [i] : []));
    const measured = (r: ModelFallbackStats) => r.day.attempts >= minAttemptsToRank;
    const sorted = slots
      .map((i) => rows[i]!)
      .sort((a, b) => {
        if (measured(a) !== measured(b)) return measured(a) ? -1 : 1;
        if (!measured(a)) return 0;
        const rate = (a.day.ratePercent ?? 0) - (b.day.ratePercent ?? 0);
        if (Math.abs(rate) >= 1) return rate;
        return (a.turnMs?.median ?? Number.POSITIVE_INFINITY) - (b.turnMs?.median ?? Number.POSITIVE_INFINITY);
      });
    sorted.forEach((row, k) => {
      out[slots[k]!] = row;
      const configured = slots.indexOf(rows.indexOf(row));
      if (configured !== k && measured(row)) {
        const rate = row.day.failures && row.day.ratePercent !== null ? `${formatPercent(row.day.ratePercent)} failed` : "no failures";
        const speed = row.turnMs ? `, ${formatDuration(row.turnMs.median)}/turn` : "";
        // The 24h lines below say over which window.
        row.why = `tier ${tier} ${k < configured ? "↑" : "↓"} ${rate}${speed}`;
      }
    });
  }
  return out;
}

/** The fallback order a new chained worker takes now: `runner.fallbackOrder` as the measured tiers re-sort it. */
export function effectiveOrder(config: Config, stats: ModelFallbackStats[]): string[] {
  const inOrder = new Set(config.runner.fallbackOrder);
  return [...stats]
    .sort((a, b) => a.rank - b.rank)
    .map((s) => s.model)
    .filter((m) => inOrder.has(m));
}

/** `1h  2/10 failed (20%)`, then the classes on their own line, so each stays within 40 columns. */
const windowLines = (label: string, w: WindowStats) => [
  `${label.padEnd(3)} ${w.failures}/${w.attempts} failed${w.ratePercent !== null ? ` (${formatPercent(w.ratePercent)})` : ""}`,
  ...(Object.keys(w.byClass).length
    ? [
        `    ${Object.entries(w.byClass)
          .map(([k, n]) => `${k} ${n}`)
          .join(" · ")}`,
      ]
    : []),
];

/** `/fallback`: short lines for a phone. */
export function fallbackView(stats: ModelFallbackStats[]): View {
  if (stats.length === 0) return { title: "Fallback", sections: [{ lines: ["No models configured (runner.models, runner.fallbackOrder)."] }] };
  return {
    title: "Fallback order now",
    sections: stats.map((s) => ({
      heading: `${s.rank}. ${s.model}${s.driver ? ` (${s.driver})` : ""}`,
      lines: [
        ...(s.why ? [s.why] : []),
        `breaker ${s.breaker.state}${s.breaker.coolOffLeftMs !== null ? `, ${formatDuration(s.breaker.coolOffLeftMs)} left` : ""}`,
        ...(s.breaker.lastError ? [`last error ${s.breaker.lastError}`] : []),
        ...windowLines("1h", s.hour),
        ...windowLines("24h", s.day),
      ],
    })),
  };
}
