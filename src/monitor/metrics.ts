import { hostname } from "node:os";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Config } from "../config/schema.ts";
import type { HealthReport } from "../core/health.ts";
import { usageCounter } from "../core/usage.ts";
import type { Db } from "../store/db.ts";
import { MetricsStore } from "../store/metrics.ts";
import { OutboxStore } from "../store/outbox.ts";
import { UsageStore } from "../store/usage.ts";
import type { CheckCycleReport } from "./cycle.ts";

/** Every metric asm exports, by name (the Grafana dashboard test checks its queries against these). */
export const metricNames = [
  "asm_session_context_tokens",
  "asm_session_context_ratio",
  "asm_sessions",
  "asm_alerts_firing",
  "asm_outbox_backlog",
  "asm_outbox_oldest_age_seconds",
  "asm_scan_duration_seconds",
  "asm_check_duration_seconds",
  "asm_cycle_duration_seconds",
  "asm_tokens_total",
  "asm_cost_usd_total",
  "asm_workers",
  "asm_fallback_decisions_total",
  "asm_health_ok",
] as const;

/** The host name on every series: `host.name`, else the machine's hostname. */
export const hostName = (config: Config) => config.host.name ?? hostname();

export interface MetricsSources {
  config: Config;
  db: Db;
  /** The same report as `asm health` / `/health`. */
  health(): HealthReport;
  now?: () => number;
}

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * asm's Prometheus metrics: gauges read from the store at each scrape, counters of tokens, cost and
 * fallback decisions advanced from the rows stored since the last scrape, and histograms the monitor
 * feeds after each cycle (`observeCycle`). Every series carries `host`.
 *
 * Tokens and cost count each turn once per process: a transcript read again from byte 0 re-adds its
 * turns with the same times, and a turn no later than the session's last counted one is skipped.
 */
export class AsmMetrics {
  readonly registry = new Registry();
  private readonly scan: Histogram;
  private readonly check: Histogram<"check">;
  private readonly cycle: Histogram;
  private turnRowid = 0;
  private fallbackId = 0;
  private readonly countedUntil = new Map<string, number>();

  constructor(private readonly src: MetricsSources) {
    const { config, db } = src;
    const now = src.now ?? Date.now;
    const registers = [this.registry];
    const store = new MetricsStore(db);
    const outbox = new OutboxStore(db);
    this.registry.setDefaultLabels({ host: hostName(config) });

    new Gauge({
      name: "asm_session_context_tokens",
      help: `Context tokens in use per session (present sessions active within metrics.sessionsActiveWithinHours)`,
      labelNames: ["agent", "kind", "session"],
      registers,
      collect() {
        this.reset();
        for (const s of store.sessionContexts(now() - config.metrics.sessionsActiveWithinHours * 3_600_000)) {
          if (s.contextTokens !== null) this.set({ agent: s.platform, kind: s.kind, session: s.sessionId }, s.contextTokens);
        }
      },
    });
    new Gauge({
      name: "asm_session_context_ratio",
      help: "Context tokens in use over the context window (0-1, above 1 past the window) per session",
      labelNames: ["agent", "kind", "session"],
      registers,
      collect() {
        this.reset();
        for (const s of store.sessionContexts(now() - config.metrics.sessionsActiveWithinHours * 3_600_000)) {
          if (s.contextTokens !== null && s.contextWindow)
            this.set({ agent: s.platform, kind: s.kind, session: s.sessionId }, s.contextTokens / s.contextWindow);
        }
      },
    });
    new Gauge({
      name: "asm_sessions",
      help: "Present sessions per agent and state",
      labelNames: ["agent", "state"],
      registers,
      collect() {
        this.reset();
        for (const r of store.sessionsByState()) this.set({ agent: r.platform, state: r.state }, r.n);
      },
    });
    new Gauge({
      name: "asm_alerts_firing",
      help: "Firing alerts per check and severity",
      labelNames: ["check", "severity"],
      registers,
      collect() {
        this.reset();
        for (const r of store.alertsFiring()) this.set({ check: r.check, severity: r.severity }, r.n);
      },
    });
    new Gauge({
      name: "asm_outbox_backlog",
      help: "Outbox messages not yet delivered",
      registers,
      collect() {
        this.set(outbox.backlog().pending);
      },
    });
    new Gauge({
      name: "asm_outbox_oldest_age_seconds",
      help: "Age of the oldest undelivered outbox message (0 when none)",
      registers,
      collect() {
        const oldest = outbox.backlog().oldestCreatedAt;
        this.set(oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000));
      },
    });
    new Gauge({
      name: "asm_workers",
      help: "Managed workers per status",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const r of store.workersByStatus()) this.set({ status: r.status }, r.n);
      },
    });
    new Gauge({
      name: "asm_health_ok",
      help: "1 when asm health is ok, 0 when degraded (as /healthz and asm health)",
      registers,
      collect() {
        this.set(src.health().status === "ok" ? 1 : 0);
      },
    });

    const tokens: Counter<"agent" | "model" | "type"> = new Counter({
      name: "asm_tokens_total",
      help: "Tokens per agent, model and type (input = uncached input, output, cache_read, cache_write)",
      labelNames: ["agent", "model", "type"],
      registers,
      collect: () => this.countTurns(tokens, cost),
    });
    const cost = new Counter({
      name: "asm_cost_usd_total",
      help: "USD per agent and model (models without a price are not counted; subscription = equivalent API cost)",
      labelNames: ["agent", "model", "billing"],
      registers,
    });
    const fallbacks = new Counter({
      name: "asm_fallback_decisions_total",
      help: "Fallback decisions per original model and error class",
      labelNames: ["model", "class"],
      registers,
      collect: () => {
        for (let rows = store.fallbacksAfter(this.fallbackId); rows.length; rows = store.fallbacksAfter(this.fallbackId)) {
          for (const r of rows) fallbacks.inc({ model: r.originalModel, class: r.errorType ?? "unknown" });
          this.fallbackId = rows[rows.length - 1]!.id;
        }
      },
    });

    this.scan = new Histogram({ name: "asm_scan_duration_seconds", help: "How long a scan of the agents' files took", buckets: durationBuckets, registers });
    this.check = new Histogram({
      name: "asm_check_duration_seconds",
      help: "How long each check took in a cycle",
      labelNames: ["check"],
      buckets: durationBuckets,
      registers,
    });
    this.cycle = new Histogram({
      name: "asm_cycle_duration_seconds",
      help: "How long a whole scan + checks + alerts cycle took",
      buckets: durationBuckets,
      registers,
    });
  }

  /** Adds the turns stored since the last scrape to the token and cost counters. */
  private countTurns(tokens: Counter<"agent" | "model" | "type">, cost: Counter<"agent" | "model" | "billing">): void {
    const usage = new UsageStore(this.src.db);
    const counter = usageCounter(this.src.config);
    for (let rows = usage.after(this.turnRowid); rows.length; rows = usage.after(this.turnRowid)) {
      for (const t of rows) {
        const last = this.countedUntil.get(t.sessionUid);
        if (last !== undefined && t.ts <= last) continue;
        this.countedUntil.set(t.sessionUid, t.ts);
        const model = t.model ?? "unknown";
        const labels = { agent: t.platform, model };
        if (t.input) tokens.inc({ ...labels, type: "input" }, t.input);
        if (t.output) tokens.inc({ ...labels, type: "output" }, t.output);
        if (t.cacheRead) tokens.inc({ ...labels, type: "cache_read" }, t.cacheRead);
        if (t.cacheWrite) tokens.inc({ ...labels, type: "cache_write" }, t.cacheWrite);
        const usd = counter.costOf(t);
        if (usd) cost.inc({ ...labels, billing: counter.isSubscription(t) ? "subscription" : "api" }, usd);
      }
      this.turnRowid = rows[rows.length - 1]!.rowid;
    }
  }

  /** Feeds the duration histograms from one monitor cycle. */
  observeCycle(report: Pick<CheckCycleReport, "scan" | "durationMs" | "checkMs">): void {
    this.scan.observe(report.scan.durationMs / 1000);
    for (const [check, ms] of Object.entries(report.checkMs)) this.check.observe({ check }, ms / 1000);
    this.cycle.observe(report.durationMs / 1000);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
