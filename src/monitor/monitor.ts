import { type AlertStores, alertStores, processFindings } from "../alerts/lifecycle.ts";
import { OutboxSender } from "../alerts/outbox.ts";
import { storeDamageFinding } from "../checks/self.ts";
import type { Finding } from "../messages/finding.ts";
import type { Transport } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";
import { probeGateway } from "../observe/gateway-probe.ts";
import { gatewayWatch } from "../observe/gateway-target.ts";
import { tailWatchedLogs } from "../observe/gather.ts";
import { probeAllQuotas } from "../observe/quota-probe.ts";
import { backupDirOf, backupStore, guardStore, guardStoreOffThread, listBackups, type StoreDamage, stampTime } from "../store/backup.ts";
import { FallbackStore } from "../store/fallback.ts";
import type { Runtime } from "../store/runtime.ts";
import { SeriesStore } from "../store/series.ts";
import { TurnStore } from "../store/turns.ts";
import { type CheckCycleReport, runCheckCycle } from "./cycle.ts";
import { digestJob } from "./digest.ts";
import { type Job, type JobFailure, jobFailureFindings, Scheduler } from "./scheduler.ts";

export interface MonitoringOptions {
  /** Started transports: alerts get one outbox row per transport, and the sender drains to them. */
  transports: Transport[];
  /** Each cycle's findings, after the lifecycle (the core turns proposed actions into approval requests). */
  onFindings?(findings: Finding[], now: number): unknown;
  /** Each finished cycle's report (the metrics' duration histograms). */
  onCycle?(report: CheckCycleReport): void;
  /** Run the first cycle and probes at once instead of waiting for the first tick (default true). */
  runAtStart?: boolean;
  now?: () => number;
}

/** The running monitor: the scheduled jobs and the outbox sender. */
export interface Monitoring {
  scheduler: Scheduler;
  sender: OutboxSender;
  stores: AlertStores;
  /** Waits for the running cycle, then the delivery in flight; call before stopping transports. */
  stop(): Promise<void>;
}

const day = 86_400_000;
const quotaTimeoutMs = 10_000;
/** Retention runs once a day, off the hour. */
export const retentionCron = "0 17 3 * * *";

/**
 * Deletes what is past its retention: resolved alerts, finished outbox rows, ended silences, old series,
 * per-turn usage and fallback decisions (a file read again from byte 0 re-adds its own, then they age out again).
 */
export function runRetention(rt: Runtime, stores: AlertStores, now: number) {
  const r = rt.config.monitor.retentionDays;
  return {
    alerts: stores.alerts.pruneResolved(now - r.resolvedAlerts * day),
    outbox: stores.outbox.pruneFinished(now - r.deliveredOutbox * day),
    silences: stores.silences.pruneEnded(now - r.resolvedAlerts * day),
    series: new SeriesStore(rt.db).prune(now - r.series * day),
    turns: new TurnStore(rt.db).prune(now - r.turns * day),
    fallbackDecisions: new FallbackStore(rt.db).prune(now - r.fallbackDecisions * day),
  };
}

/** The integrity check (and, when it passes, the daily backup) runs at start and then once a day. */
export const integrityEverySeconds = 86_400;

/** The damage alert as a message: built here, not from a stored alert, since nothing is written into a damaged store. */
function storeDamageView(f: Finding): View {
  return {
    title: `CRITICAL · ${f.summary}`,
    sections: [
      {
        lines: [
          `Type: ${f.check}`,
          "Severity: critical",
          `Component: ${f.component}`,
          `Current value: ${f.value}`,
          `Threshold: ${f.threshold}`,
          `Recommended action: ${f.action}`,
        ],
      },
    ],
    silent: false,
    tone: "critical",
  };
}

/** Tries of the damaged-database alert per transport, backing off 1 s, 2 s, … up to a minute (about 7 min in all). */
const damageSendTries = 12;

/**
 * Sends one view with retries, for the alert that cannot wait in the outbox (the store refuses writes): at start
 * a transport may still be connecting. Never throws; the timers do not keep the process alive.
 */
async function sendWithRetries(t: Transport, view: View, rt: Runtime): Promise<void> {
  for (let attempt = 0; attempt < damageSendTries; attempt++) {
    try {
      await t.send(view);
      return;
    } catch (err) {
      rt.log.warn({ err, transport: t.name, attempt: attempt + 1 }, "could not send the damaged-database alert yet");
    }
    await new Promise((r) => setTimeout(r, Math.min(60_000, 1000 * 2 ** attempt)).unref());
  }
  rt.log.error({ transport: t.name }, "gave up sending the damaged-database alert");
}

/**
 * `PRAGMA quick_check` of asm's database, then (when sound) an online backup. Damaged: the connection turns
 * read-only (guardStore), the scheduled jobs and the outbox stop (they would only fail, or re-send what
 * they cannot mark sent), and a critical self alert naming the file goes straight to every transport.
 * Commands keep answering from what can still be read; /health and `asm health` say the store is damaged.
 */
function integrityJob(rt: Runtime, m: { sender: OutboxSender; scheduler: () => Scheduler; options: MonitoringOptions }): Job {
  const policy = { dir: backupDirOf(rt.config.store.path, rt.config.store.backupDir), keep: rt.config.store.backupKeep };
  const damaged = (damage: StoreDamage, now: number) => {
    rt.log.error({ path: damage.path, problems: damage.problems }, "database damaged: writing into it stopped (see README: If the database is damaged)");
    // Not awaited: stop() waits for running jobs, this one included.
    void m.scheduler().stop();
    void m.sender.stop();
    const finding = storeDamageFinding(damage, policy.dir, listBackups(policy.dir)[0]?.path ?? null, now);
    const view = storeDamageView(finding);
    // Not awaited either: a stop (SIGTERM) must not wait minutes on a transport that is down.
    for (const t of m.options.transports) void sendWithRetries(t, view, rt);
  };
  let started = false;
  return {
    name: "integrity",
    everySeconds: integrityEverySeconds,
    run: async (now) => {
      // At start nothing may write before the check has spoken, so it runs here (asm run's own check usually
      // stands for it); the daily ones read the pages in a thread while the bot goes on answering.
      const damage = started ? await guardStoreOffThread(rt.db, rt.config.store.path, now) : guardStore(rt.db, rt.config.store.path, now);
      started = true;
      if (damage) return damaged(damage, now);
      // A restart does not take another backup while today's is fresh: a large store is copied once a day.
      const daily = listBackups(policy.dir).find((b) => b.kind === "daily");
      if (daily && now - stampTime(daily.stamp) < integrityEverySeconds * 1000)
        return rt.log.info({ file: daily.path }, "database checked; today's backup stands");
      const file = await backupStore(rt.db, policy, now);
      rt.log.info({ file }, "database checked and backed up");
    },
  };
}

/** A network outage is reported after this long; a refused token or a second poller at once. */
const transportOutageMs = 5 * 60_000;

/** Transports that cannot work, as job errors: the self check raises them, the other transports deliver. */
function transportFailures(transports: Transport[], now: number): { job: string; error: string; at: number }[] {
  return transports.flatMap((t) => {
    const p = typeof t.problem === "string" ? { kind: "unknown", message: t.problem, since: now } : t.problem;
    if (!p || (p.kind === "unreachable" && now - p.since < transportOutageMs)) return [];
    return [{ job: `transport:${t.name}`, error: p.message, at: p.since }];
  });
}

/**
 * The jobs `asm run` schedules: scan + checks + alerts every `monitor.intervalSeconds`, the logs
 * pass every `logsIntervalSeconds` (quota probes ride along), the gateway probe every
 * `gatewayIntervalSeconds`, retention daily.
 */
export function monitorJobs(rt: Runtime, m: { stores: AlertStores; sender: OutboxSender; scheduler: () => Scheduler; options: MonitoringOptions }): Job[] {
  const cfg = rt.config;
  let lastCycleMs: number | undefined;
  const jobs: Job[] = [
    // First: at start its check runs before the first cycle writes anything.
    integrityJob(rt, m),
    {
      name: "cycle",
      everySeconds: cfg.monitor.intervalSeconds,
      run: async (now) => {
        const jobErrors = m
          .scheduler()
          .currentFailures()
          .map((f) => ({ job: f.job, error: f.error, at: f.at }))
          .concat(transportFailures(m.options.transports, now));
        const report = await runCheckCycle(rt, m.stores, {
          now,
          transports: m.options.transports.map((t) => t.name),
          gather: { jobErrors, ...(lastCycleMs !== undefined ? { cycleMs: lastCycleMs } : {}) },
        });
        lastCycleMs = report.durationMs;
        m.options.onCycle?.(report);
        m.sender.kick();
        const changes: Record<string, number> = {};
        for (const o of report.alerts.outcomes) changes[o.change] = (changes[o.change] ?? 0) + 1;
        rt.log.info({ ms: Math.round(report.durationMs), findings: report.findings.length, alerts: changes, enqueued: report.alerts.enqueued }, "check cycle");
        await m.options.onFindings?.(report.findings, now);
      },
    },
    { name: "retention", cron: retentionCron, run: (now) => rt.log.info(runRetention(rt, m.stores, now), "retention") },
  ];
  if (cfg.checks.logs.enabled || cfg.checks.quota.probes.length > 0) {
    jobs.push({
      name: "logs",
      everySeconds: cfg.monitor.logsIntervalSeconds,
      run: async (now) => {
        if (cfg.checks.logs.enabled) tailWatchedLogs(rt, now);
        if (cfg.checks.quota.enabled && cfg.checks.quota.probes.length > 0) {
          await probeAllQuotas(cfg, new SeriesStore(rt.db), process.env, quotaTimeoutMs, now);
        }
      },
    });
  }
  const digest = digestJob(rt, m.options.transports);
  if (digest) jobs.push(digest);
  const watch = gatewayWatch(cfg);
  const target = watch.target;
  // Said once, as information: a machine without a gateway gets no gateway alarms.
  if (!watch.target && cfg.checks.gateway.enabled) rt.log.info({ check: "gateway" }, `gateway ${watch.reason}`);
  if (target) {
    jobs.push({
      name: "gateway",
      everySeconds: cfg.monitor.gatewayIntervalSeconds,
      run: (now) => probeGateway(new SeriesStore(rt.db), target, cfg.checks.gateway.timeoutSeconds * 1000, now),
    });
  }
  return jobs;
}

/**
 * Starts the outbox sender (which first re-queues what a crash left in flight) and the scheduler.
 * A job that fails raises a `self` alert at once (not only at the next cycle) and resolves it
 * when the job next succeeds.
 */
export function startMonitoring(rt: Runtime, options: MonitoringOptions): Monitoring {
  const stores = alertStores(rt.db);
  const sender = new OutboxSender({
    transports: options.transports,
    outbox: stores.outbox,
    alerts: stores.alerts,
    config: rt.config,
    log: rt.log,
    ...(options.now ? { now: options.now } : {}),
  });
  let scheduler!: Scheduler;
  const jobs = monitorJobs(rt, { stores, sender, scheduler: () => scheduler, options });
  const reportFailures = (failures: JobFailure[]) => {
    const now = (options.now ?? Date.now)();
    processFindings(stores, jobFailureFindings(failures), {
      now,
      config: rt.config,
      transports: options.transports.map((t) => t.name),
      scope: jobs.map((j) => ({ check: "self", subject: `self:job:${j.name}` })),
    });
    sender.kick();
  };
  scheduler = new Scheduler({ jobs, log: rt.log, onFailuresChanged: reportFailures, ...(options.now ? { now: options.now } : {}) });
  // A store found damaged (query_only, see backup.ts) takes no writes: the outbox cannot mark anything sent, so it
  // stays stopped; the integrity job still runs at start and sends its alert itself.
  if (rt.db.pragma("query_only", { simple: true }) !== 1) sender.start();
  scheduler.start();
  if (options.runAtStart ?? true) {
    // Jobs at a time of day (retention, the daily digest) wait for it; the interval jobs run now.
    for (const j of jobs) if (!j.cron) void scheduler.runNow(j.name);
  }
  return {
    scheduler,
    sender,
    stores,
    async stop() {
      await scheduler.stop();
      await sender.stop();
    },
  };
}
