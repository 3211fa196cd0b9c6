import { existsSync, statSync } from "node:fs";
import { OpenClawConfigError, openClawConfigPath, readOpenClawConfig } from "../agents/openclaw/config.ts";
import { platformsWith } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import { FallbackStore } from "../store/fallback.ts";
import { listSourceProblems } from "../store/problems.ts";
import type { Runtime } from "../store/runtime.ts";
import { SeriesStore } from "../store/series.ts";
import { TurnStore } from "../store/turns.ts";
import { syncFallbackDecisions } from "./fallback-log.ts";
import { describeTarget, GATEWAY_SERIES, type ProbeTarget, probeGateway } from "./gateway-probe.ts";
import { gatewayWatch } from "./gateway-target.ts";
import { expandLogGlobs, type LogRules, tailLog } from "./log-tail.ts";
import {
  emptyObservations,
  type GatewayObservation,
  type JobError,
  type LogObservation,
  type ModelTurns,
  type Observations,
  type PlanUsage,
  type RestartAttempt,
  type TurnPoint,
} from "./observations.ts";
import { latestQuotaReadings, probeAllQuotas } from "./quota-probe.ts";

/** What a cycle should refresh by doing I/O beyond the store; everything else is read from SQLite. */
export interface GatherOptions {
  /** Tail the watched logs now (the logs job); otherwise the last pass's results are reused. */
  logs?: boolean;
  /** Probe the gateway now (the gateway job); otherwise its recorded series is read. */
  probeGateway?: boolean;
  /** Run the configured quota probes now; otherwise their latest readings are read. */
  probeQuota?: boolean;
  /** How long the last scan+check cycle took, when the scheduler knows better than the scan record. */
  cycleMs?: number;
  /** Jobs that threw since the last cycle (scheduler). */
  jobErrors?: JobError[];
  /** Where quota probe header values come from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** kv key holding the latest logs pass (LogObservation[]). */
export const LOGS_KV = "checks.logs.last";
const QUOTA_TIMEOUT_MS = 10_000;

/** The gateway probe target (see `gatewayWatch`), or null when the gateway is not watched. */
export function gatewayTarget(rt: Runtime): ProbeTarget | null {
  return gatewayWatch(rt.config).target;
}

/** The configured log files and globs, plus asm's own log file. */
export function watchedLogs(rt: Runtime, now: number): string[] {
  const patterns = [...rt.config.checks.logs.files];
  if (rt.config.log.file) patterns.push(rt.config.log.file);
  return expandLogGlobs(patterns, now);
}

/** The logs check's line rules, compiled from config. Throws on an invalid pattern (config error). */
export function logRules(rt: Runtime): LogRules {
  const c = rt.config.checks.logs;
  return {
    errorPatterns: c.errorPatterns.map((p) => new RegExp(p, "i")),
    durationPattern: c.durationPattern ? new RegExp(c.durationPattern, "i") : null,
    slowMs: c.slowMs,
  };
}

/** One logs pass over every watched file; the result is kept for the cycles in between. */
export function tailWatchedLogs(rt: Runtime, now: number): LogObservation[] {
  const rules = logRules(rt);
  const out: LogObservation[] = [];
  for (const path of watchedLogs(rt, now)) {
    const o = tailLog(rt.db, path, rules, now);
    if (o) out.push(o);
  }
  rt.kv.set(LOGS_KV, out, now);
  return out;
}

function observedSessions(rt: Runtime, now: number): SessionRecord[] {
  const activeWithinMs = rt.config.checks.context.activeWithinHours * 3_600_000;
  const byUid = new Map<string, SessionRecord>();
  for (const s of rt.sessions.list({ activeWithinMs, now, sort: "activity" })) byUid.set(s.uid, s);
  // A chat peer's next message resumes its session whatever its age, so those stay observed (as context-scope.ts says).
  for (const platform of platformsWith("chatPeers")) for (const s of rt.sessions.list({ platform, sort: "activity" })) byUid.set(s.uid, s);
  return [...byUid.values()];
}

function recentTurns(rt: Runtime, uids: Set<string>, since: number): Record<string, TurnPoint[]> {
  const rows = rt.db
    .prepare("SELECT session_uid AS uid, ts, context_tokens AS contextTokens, model FROM turns WHERE ts >= ? ORDER BY ts, rowid")
    .all(since) as (TurnPoint & { uid: string })[];
  const out: Record<string, TurnPoint[]> = {};
  for (const { uid, ...t } of rows) {
    if (!uids.has(uid)) continue;
    const list = out[uid] ?? [];
    list.push(t);
    out[uid] = list;
  }
  return out;
}

function restartHistory(rt: Runtime, now: number): RestartAttempt[] {
  const rows = rt.db
    .prepare(
      `SELECT id, status, created_at AS createdAt, started_at AS startedAt, finished_at AS finishedAt, expires_at AS expiresAt
       FROM actions WHERE kind = 'restart_gateway' ORDER BY created_at DESC, id DESC LIMIT 50`,
    )
    .all() as (RestartAttempt & { expiresAt: number })[];
  // A request nobody answered in time is not pending any more, whether or not its row says so yet.
  return rows.map(({ expiresAt, ...r }) => (r.status === "pending" && expiresAt <= now ? { ...r, status: "expired" } : r));
}

function gatewayObservation(rt: Runtime, target: ProbeTarget, now: number): GatewayObservation {
  const g = rt.config.checks.gateway;
  const series = new SeriesStore(rt.db);
  const lookback = Math.max(3_600_000, 2 * g.downAfterSeconds * 1000, g.restartWindowMinutes * 60_000);
  const samples = series.since(GATEWAY_SERIES, "", now - lookback).map((p) => ({
    ts: p.ts,
    ok: p.ok === true,
    latencyMs: p.value,
    detail: typeof p.extra?.detail === "string" ? p.extra.detail : null,
    answered: p.extra?.answered === true,
  }));
  return { target: describeTarget(target), samples, lastOkAt: series.lastOk(GATEWAY_SERIES, "")?.ts ?? null, restarts: restartHistory(rt, now) };
}

function modelTurns(rt: Runtime, since: number): ModelTurns[] {
  return new TurnStore(rt.db).byModel(since);
}

function planUsage(rt: Runtime, now: number): PlanUsage[] {
  return rt.config.checks.quota.plans.map((plan) => {
    const row = rt.db
      .prepare(
        `SELECT COALESCE(SUM(t.input + t.output + t.cache_write + CASE WHEN @cacheRead THEN t.cache_read ELSE 0 END), 0) AS used,
                COUNT(*) AS turns, MAX(t.ts) AS newest
         FROM turns t JOIN sessions s ON s.uid = t.session_uid
         WHERE s.platform = @platform AND t.ts >= @since AND t.model IS NOT '<synthetic>'`,
      )
      .get({ platform: plan.platform, since: now - plan.windowHours * 3_600_000, cacheRead: plan.includeCacheRead ? 1 : 0 }) as {
      used: number;
      turns: number;
      newest: number | null;
    };
    return {
      platform: plan.platform,
      windowHours: plan.windowHours,
      tokenLimit: plan.tokenLimit,
      usedTokens: row.used,
      turns: row.turns,
      newestTurnAt: row.newest,
    };
  });
}

/** OpenClaw's home (or a legacy one) exists here. */
function openClawInstalled(rt: Runtime): boolean {
  const o = rt.config.sources.openclaw;
  return [o.root, ...o.legacyRoots].some((p) => existsSync(p));
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Gathers everything the checks read, once per cycle: sessions (present and active recently, plus
 * every OpenClaw session), their recent turns, openclaw.json, source problems, the latest logs pass,
 * the gateway's probe series and restart history, fallback decisions (synced from logs and session
 * extras first), quota readings and plan usage, and asm's own stats. Probes and log tails run only when
 * `opts` asks (their own schedules). A part that fails is reported as a job error, never thrown.
 */
export async function gatherObservations(rt: Runtime, now: number, opts: GatherOptions = {}): Promise<Observations> {
  const c = rt.config.checks;
  const obs = emptyObservations();
  const jobErrors: JobError[] = [...(opts.jobErrors ?? [])];
  const part = async (name: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      rt.log.warn({ err, part: name }, "gathering observations failed");
      jobErrors.push({ job: `observe:${name}`, error: String((err as Error)?.message ?? err), at: now });
    }
  };

  await part("sessions", () => {
    obs.sessions = observedSessions(rt, now);
    const lookback = Math.max(c.context.growthHorizonMinutes, 60) * 60_000;
    obs.turns = recentTurns(rt, new Set(obs.sessions.map((s) => s.uid)), now - lookback);
  });
  if (rt.config.sources.openclaw.enabled) {
    obs.openclaw.path = openClawConfigPath(rt.config);
    try {
      obs.openclaw.config = readOpenClawConfig(obs.openclaw.path);
    } catch (err) {
      // No openclaw.json is normal on a machine without OpenClaw; a broken one is worth saying.
      const missing = err instanceof OpenClawConfigError && err.reason === "cannot read: ENOENT";
      if (!missing) obs.openclaw.error = (err as Error).message;
    }
  }
  await part("source-problems", () => {
    obs.sourceProblems = listSourceProblems(rt.kv);
  });
  if (c.logs.enabled) {
    await part("logs", () => {
      obs.logs = opts.logs ? tailWatchedLogs(rt, now) : (rt.kv.get<LogObservation[]>(LOGS_KV) ?? []);
    });
  }
  const target = gatewayTarget(rt);
  if (target) {
    await part("gateway", async () => {
      if (opts.probeGateway) await probeGateway(new SeriesStore(rt.db), target, c.gateway.timeoutSeconds * 1000, now);
      const g = gatewayObservation(rt, target, now);
      // A gateway never seen up on a machine without OpenClaw is not down, it is absent.
      if (g.lastOkAt !== null || openClawInstalled(rt)) obs.gateway = g;
    });
  }
  if (c.fallbackRate.enabled) {
    await part("fallback", () => {
      const store = new FallbackStore(rt.db);
      const report = syncFallbackDecisions(rt.db, store, c.fallbackRate.decisionLogs, obs.sessions, now);
      for (const e of report.errors) jobErrors.push({ job: "observe:fallback-log", error: e, at: now });
      const since = now - c.fallbackRate.windowMinutes * 60_000;
      obs.fallback = { decisions: store.since(since), modelTurns: modelTurns(rt, since) };
    });
  }
  if (c.quota.enabled) {
    await part("quota", async () => {
      const series = new SeriesStore(rt.db);
      obs.quota.probes = opts.probeQuota
        ? await probeAllQuotas(rt.config, series, opts.env ?? process.env, QUOTA_TIMEOUT_MS, now)
        : latestQuotaReadings(rt.config, series);
      obs.quota.plans = planUsage(rt, now);
    });
  }
  await part("handover", () => {
    // HandoverOps marks a worker `handover:<id>:capped` when its chain is at handover.maxChain; the chain length is
    // on its own mark. Only workers still alive matter: a finished one needs no handover any more.
    const rows = rt.db
      .prepare(
        `SELECT w.id AS worker, w.context_tokens AS contextTokens, k.updated_at AS since, m.value AS mark
         FROM kv k JOIN workers w ON k.key = 'handover:' || w.id || ':capped'
         LEFT JOIN kv m ON m.key = 'handover:' || w.id
         WHERE w.status NOT IN ('completed', 'failed', 'killed', 'interrupted')`,
      )
      .all() as { worker: string; contextTokens: number | null; since: number; mark: string | null }[];
    obs.handoverCapped = rows.map((r) => {
      let chain = 0;
      try {
        chain = Number((JSON.parse(r.mark ?? "{}") as { count?: unknown }).count) || 0;
      } catch {
        // a damaged mark: the chain length is unknown
      }
      return { worker: r.worker, chain, contextTokens: r.contextTokens, since: r.since };
    });
  });
  await part("self", () => {
    const scan = rt.kv.get<{ at: number; durationMs: number; errors: string[] }>("scan.last");
    const outbox = rt.db.prepare("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'").get() as {
      n: number;
      oldest: number | null;
    };
    const dbPath = rt.config.store.path;
    obs.self = {
      lastScanAt: scan?.at ?? null,
      scanErrors: scan?.errors ?? [],
      cycleMs: opts.cycleMs ?? scan?.durationMs ?? null,
      intervalMs: rt.config.monitor.intervalSeconds * 1000,
      outboxPending: outbox.n,
      oldestPendingAt: outbox.oldest,
      dbBytes: dbPath === ":memory:" ? 0 : fileBytes(dbPath) + fileBytes(`${dbPath}-wal`),
      jobErrors: [],
    };
  });
  obs.self.jobErrors = jobErrors;
  return obs;
}
