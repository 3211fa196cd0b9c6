import { statSync } from "node:fs";
import { agentOf } from "../agents/registry.ts";
import { officialLimits } from "../checks/quota.ts";
import type { Config } from "../config/schema.ts";
import type { Severity } from "../config/sections/common.ts";
import { formatAgeCompact, formatBytes, formatDuration, formatPercent } from "../lib/present.ts";
import { severityRank } from "../messages/finding.ts";
import { GATEWAY_SERIES } from "../observe/gateway-probe.ts";
import { gatewayWatch } from "../observe/gateway-target.ts";
import { QUOTA_SERIES } from "../observe/quota-probe.ts";
import { watchedLocations } from "../sources/locations.ts";
import { ActionStore } from "../store/actions.ts";
import { AlertStore } from "../store/alerts.ts";
import { backupDirOf, listBackups, readStoreDamage } from "../store/backup.ts";
import { type Db, latestVersion, schemaVersion } from "../store/db.ts";
import type { KvStore } from "../store/kv.ts";
import { listSourceProblems } from "../store/problems.ts";
import type { Runtime } from "../store/runtime.ts";
import { SeriesStore } from "../store/series.ts";
import type { SessionStore } from "../store/sessions.ts";
import { actionRef } from "./action-views.ts";

export type HealthStatus = "ok" | "degraded";

export interface HealthItem {
  /** What is looked at: "store", "scan", "source openclaw", "gateway", "quota minimax", "outbox", "self". */
  name: string;
  status: HealthStatus | "info";
  detail: string;
}

export interface HealthReport {
  status: HealthStatus;
  items: HealthItem[];
}

/** What the report reads; all of it from asm's own store, never from the agents' files. */
export interface HealthInputs {
  config: Config;
  db: Db;
  kv: KvStore;
  sessions: SessionStore;
  series: SeriesStore;
  actions?: ActionStore;
  /** Open alerts, summarised by severity. */
  alerts?: AlertStore;
  /** Unsent outbox rows (from the outbox store, when the alert pipeline runs). */
  outboxBacklog?: () => { pending: number; oldestCreatedAt: number | null; unknown?: number; unconfirmed?: number };
  /** When this process started (epoch ms), for the `self` line of the long-running bot. */
  startedAt?: number;
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/**
 * One screen of health, used by `/health` and `asm health`: the store, the last scan, each watched
 * source and its document problems, the gateway's latest probe, quota readings, the outbox
 * backlog, pending actions, and this process. "degraded" when anything needs a person.
 */
export function healthReport(inp: HealthInputs, now = Date.now()): HealthReport {
  const items: HealthItem[] = [];
  try {
    reportInto(items, inp, now);
  } catch (err) {
    // A damaged page met by one of the reads below: say so instead of failing the whole report.
    if (!isCorruption(err)) throw err;
    items.push(damagedItem(inp.config, [`${(err as { code: string }).code}: ${(err as Error).message}`], now));
  }
  return { status: items.some((i) => i.status === "degraded") ? "degraded" : "ok", items };
}

/** SQLite's words for a damaged file (the page or header cannot be read as the database). */
const isCorruption = (err: unknown) => /^SQLITE_(CORRUPT|NOTADB)/.test(String((err as { code?: unknown } | null)?.code ?? ""));

/** The store line for a damaged database: what was found and the way back. */
function damagedItem(config: Config, problems: string[], now: number, at?: number): HealthItem {
  const newest = listBackups(backupDirOf(config.store.path, config.store.backupDir))[0];
  return {
    name: "store",
    status: "degraded",
    detail: `DAMAGED ${config.store.path}${at !== undefined ? ` (found ${formatAgeCompact(at, now)} ago)` : ""}: ${problems[0] ?? "integrity check failed"}; nothing more is written to it. Restore ${newest ? `the newest backup, ${newest.path}` : "a backup"} (README: If the database is damaged)`,
  };
}

function reportInto(items: HealthItem[], inp: HealthInputs, now: number): void {
  const { config } = inp;
  const damage = readStoreDamage(config.store.path);
  if (damage) items.push(damagedItem(config, damage.problems, now, damage.at));
  const version = schemaVersion(inp.db);
  const dbBytes = sizeOf(config.store.path);
  if (!damage) {
    items.push({
      name: "store",
      status: version === latestVersion && (dbBytes ?? 0) <= config.checks.self.dbBytes ? "ok" : "degraded",
      detail: `${config.store.path} (schema v${version}, ${dbBytes === null ? "size unknown" : formatBytes(dbBytes)})`,
    });
  }

  const last = inp.kv.get<{ at: number; durationMs: number; errors: string[] }>("scan.last");
  const staleAfter = config.monitor.intervalSeconds * 3 * 1000;
  if (!last) items.push({ name: "scan", status: "info", detail: "no scan yet" });
  else {
    const stale = now - last.at > staleAfter;
    items.push({
      name: "scan",
      status: stale || last.errors.length ? "degraded" : "ok",
      detail: `last ${formatAgeCompact(last.at, now)} ago in ${Math.round(last.durationMs)} ms${last.errors.length ? `, ${last.errors.length} error(s): ${last.errors[0]}` : ""}${stale ? " (stale)" : ""}`,
    });
  }

  const problems = listSourceProblems(inp.kv);
  const locations = watchedLocations(config);
  for (const loc of locations) {
    const mine = problems.filter((p) => p.path === loc.path || p.path.startsWith(`${loc.path}/`));
    items.push({
      name: `source ${loc.platform}`,
      status: mine.length ? "degraded" : loc.exists ? "ok" : "info",
      detail: `${loc.path}${loc.exists ? "" : " (not present)"}${mine.length ? ` — ${mine.length} problem(s): ${mine[0]!.path}: ${mine[0]!.problem}` : ""}`,
    });
  }
  items.push({
    name: "sessions",
    status: "info",
    detail: `${inp.sessions.count()} present, ${inp.sessions.count({ activeWithinMs: config.checks.context.activeWithinHours * 3_600_000, now })} active in ${config.checks.context.activeWithinHours}h`,
  });

  const watch = config.checks.gateway.enabled ? gatewayWatch(config) : null;
  if (watch && !watch.target) items.push({ name: "gateway", status: "info", detail: watch.reason });
  else if (watch) {
    const g = inp.series.latestBySubject(GATEWAY_SERIES)[0];
    const lastOk = g && !g.ok ? inp.series.lastOk(GATEWAY_SERIES, "") : undefined;
    const detail = typeof g?.extra?.detail === "string" ? g.extra.detail : "";
    // An old "up" says nothing about now (asm run stopped probing): as with the scan, stale is degraded.
    const stale = g !== undefined && now - g.ts > config.monitor.gatewayIntervalSeconds * 3 * 1000;
    // As in the checks: a gateway never seen up on a machine without OpenClaw is absent, not down.
    const absent = g !== undefined && !g.ok && !lastOk && !locations.some((l) => agentOf(l.platform).capabilities.gateway && l.exists);
    items.push(
      absent
        ? { name: "gateway", status: "info", detail: `no OpenClaw here, nothing answers at the gateway (${detail || "no detail"})` }
        : g
          ? {
              name: "gateway",
              status: g.ok && !stale ? "ok" : "degraded",
              detail: `${g.ok ? "up" : "DOWN"} (${detail || "no detail"}) ${formatAgeCompact(g.ts, now)} ago${g.ok ? "" : lastOk ? `; last up ${formatAgeCompact(lastOk.ts, now)} ago` : "; never seen up"}${stale ? " (stale)" : ""}`,
            }
          : { name: "gateway", status: "info", detail: "not probed yet" },
    );
  }

  // The rate-limit figures the agents record themselves (Codex), newest per window.
  const recorded = officialLimits(inp.sessions.list({ includeGone: true, sort: "activity", limit: 500 }), now);
  for (const o of recorded) {
    const q = config.checks.quota;
    const span = o.windowMinutes ? ` (${formatDuration(o.windowMinutes * 60_000)} window)` : "";
    items.push({
      name: `quota ${o.platform} ${o.window}`,
      status: o.usedPercent >= q.usedPercentCritical ? "degraded" : "ok",
      detail: `${formatPercent(o.usedPercent)} used${span}${o.resetsAt ? `, resets in ${formatDuration(o.resetsAt - now, "minute")}` : ""}, recorded ${formatAgeCompact(o.observedAt, now)} ago`,
    });
  }

  for (const q of inp.series.latestBySubject(QUOTA_SERIES)) {
    const min = typeof q.extra?.minRemaining === "number" ? q.extra.minRemaining : config.checks.quota.minRemaining;
    const err = typeof q.extra?.error === "string" ? q.extra.error : null;
    items.push({
      name: `quota ${q.subject}`,
      status: err || (q.value !== null && q.value < min) ? "degraded" : "ok",
      detail: err ? `probe failed: ${err}` : `${q.value ?? "?"} remaining (minimum ${min}), ${formatAgeCompact(q.ts, now)} ago`,
    });
  }

  if (inp.alerts) {
    const firing = inp.alerts.open().filter((a) => a.status === "firing");
    const count = (s: Severity) => firing.filter((a) => a.severity === s).length;
    const parts = (["critical", "warning", "info"] as const).filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`);
    const worst = [...firing].sort((a, b) => severityRank[b.severity] - severityRank[a.severity])[0];
    items.push({
      name: "alerts",
      // An open critical alert needs a person: health is not "ok" while one fires.
      status: count("critical") > 0 ? "degraded" : firing.length ? "info" : "ok",
      detail: worst ? `${parts.join(", ")} open; worst: ${worst.summary}` : "none open",
    });
  }

  if (inp.outboxBacklog) {
    const b = inp.outboxBacklog();
    items.push({
      name: "outbox",
      // A send that timed out may be in the chat already (fate unknown); one given up on may be missing or doubled.
      status: b.pending > config.checks.self.outboxBacklog ? "degraded" : b.unknown || b.unconfirmed ? "info" : "ok",
      detail: [
        `${b.pending} unsent${b.oldestCreatedAt !== null ? `, oldest ${formatAgeCompact(b.oldestCreatedAt, now)}` : ""}`,
        ...(b.unknown ? [`${b.unknown} of unknown fate (timed out, retry waits)`] : []),
        ...(b.unconfirmed ? [`${b.unconfirmed} unconfirmed today (timed out, not re-sent)`] : []),
      ].join("; "),
    });
  }

  if (inp.actions) {
    const open = inp.actions.recent(50).filter((a) => a.status === "pending" || a.status === "running");
    items.push({
      name: "actions",
      status: "info",
      detail: open.length ? open.map((a) => `${actionRef(a.id)} ${a.kind} ${a.status}`).join(", ") : "none pending",
    });
  }

  if (inp.startedAt !== undefined) {
    const rss = process.memoryUsage().rss;
    items.push({
      name: "self",
      status: "ok",
      detail: `up ${formatAgeCompact(inp.startedAt, now)}, pid ${process.pid}, ${formatBytes(rss)} RSS, node ${process.versions.node}`,
    });
  }
}

/** The inputs of a one-shot report (`asm health`) from an opened runtime. */
export const healthInputsOf = (rt: Runtime): HealthInputs => ({
  config: rt.config,
  db: rt.db,
  kv: rt.kv,
  sessions: rt.sessions,
  series: new SeriesStore(rt.db),
  actions: new ActionStore(rt.db),
  alerts: new AlertStore(rt.db),
});
