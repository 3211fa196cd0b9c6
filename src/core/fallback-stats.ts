import type { Breaker } from "../store/breakers.ts";
import { FallbackStore } from "../store/fallback.ts";
import type { Runtime } from "../store/runtime.ts";
import { TurnStore } from "../store/turns.ts";
import { WorkerStore } from "../store/workers.ts";
import { effectiveOrder, fallbackStats, type ModelFallbackStats } from "./fallback-view.ts";

/** Per model, from the store now: failures by class, breakers, speeds and the effective order (`/fallback`, `asm fallback`). */
export function fallbackStatsNow(rt: Runtime, breaker: (model: string) => Breaker, now = Date.now()): ModelFallbackStats[] {
  const day = now - 86_400_000;
  const turns = new TurnStore(rt.db);
  return fallbackStats(
    rt.config,
    breaker,
    new FallbackStore(rt.db).since(day),
    turns.byModel(now - 3_600_000),
    turns.byModel(day),
    now,
    new WorkerStore(rt.db).turnTimesByModel(day),
  );
}

/** The order a new chained worker falls back in now: `runner.fallbackOrder`, its tiers re-sorted by what was measured. */
export function fallbackOrderNow(rt: Runtime, breaker: (model: string) => Breaker, now = Date.now()): string[] {
  return effectiveOrder(rt.config, fallbackStatsNow(rt, breaker, now));
}
