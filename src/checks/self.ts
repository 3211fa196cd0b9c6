import type { Config } from "../config/schema.ts";
import { formatAge, formatBytes, formatDuration } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";
import type { StoreDamage } from "../store/backup.ts";

/** Job errors named `transport:<name>` are a chat transport that cannot work (see monitor.ts). */
const transportJobPrefix = "transport:";

/** A chat transport that cannot deliver: critical, since alerts stop reaching people there. */
function transportFinding(name: string, error: string, since: number, now: number): Finding {
  return {
    check: "self",
    subject: `self:transport:${name}`,
    severity: "critical",
    summary: `${name}: ${error}`,
    component: `asm ${name} transport`,
    value: `since ${formatAge(since, now)}`,
    threshold: "connected",
    action: `Fix what the message says (token, network); ${name} alerts wait in the outbox meanwhile`,
    details: { transport: name, error, since },
  };
}

/**
 * **self**: asm's own health — errors in the last scan, a cycle slower than its interval, an outbox
 * backlog (messages not getting out), the database outgrowing its limit, and scheduled jobs that threw.
 */
export function checkSelf(obs: Observations, config: Config, now: number): Finding[] {
  const c = config.checks.self;
  const s = obs.self;
  const findings: Finding[] = [];
  if (s.scanErrors.length > 0) {
    findings.push({
      check: "self",
      subject: "self:scan",
      severity: "warning",
      summary: `last scan had ${s.scanErrors.length} error${s.scanErrors.length === 1 ? "" : "s"}: ${s.scanErrors[0]}`,
      component: "asm scanner",
      value: `${s.scanErrors.length} errors${s.lastScanAt !== null ? ` (${formatAge(s.lastScanAt, now)})` : ""}`,
      threshold: "0 errors",
      action: "Read asm's log for the failing source; sessions from it may be stale",
      details: { errors: s.scanErrors.slice(0, 20) },
    });
  }
  if (s.cycleMs !== null && s.cycleMs > s.intervalMs) {
    findings.push({
      check: "self",
      subject: "self:cycle",
      severity: "warning",
      summary: `a check cycle took ${formatDuration(s.cycleMs)}, longer than its ${formatDuration(s.intervalMs)} interval`,
      component: "asm scheduler",
      value: formatDuration(s.cycleMs),
      threshold: formatDuration(s.intervalMs),
      action: "Raise monitor.intervalSeconds or watch fewer locations; cycles are being skipped",
      details: { cycleMs: s.cycleMs, intervalMs: s.intervalMs },
    });
  }
  if (s.outboxPending > c.outboxBacklog) {
    findings.push({
      check: "self",
      subject: "self:outbox",
      severity: "warning",
      summary: `${s.outboxPending} messages waiting in the outbox${s.oldestPendingAt !== null ? `, oldest ${formatAge(s.oldestPendingAt, now)}` : ""}`,
      component: "asm outbox",
      value: `${s.outboxPending} pending`,
      threshold: `${c.outboxBacklog} pending`,
      action: "Check the chat transport (token, network, rate limits) in asm's log",
      details: { pending: s.outboxPending, oldestPendingAt: s.oldestPendingAt },
    });
  }
  if (s.dbBytes > c.dbBytes) {
    findings.push({
      check: "self",
      subject: "self:db",
      severity: "warning",
      summary: `database is ${formatBytes(s.dbBytes)}`,
      component: "asm database",
      value: formatBytes(s.dbBytes),
      threshold: formatBytes(c.dbBytes),
      action: "Lower monitor.retentionDays or move store.path to a larger disk",
      details: { bytes: s.dbBytes },
    });
  }
  for (const e of s.jobErrors) {
    if (e.job.startsWith(transportJobPrefix)) {
      findings.push(transportFinding(e.job.slice(transportJobPrefix.length), e.error, e.at, now));
      continue;
    }
    findings.push({
      check: "self",
      subject: `self:job:${e.job}`,
      severity: "warning",
      summary: `scheduled job ${e.job} failed: ${e.error}`,
      component: "asm scheduler",
      value: `${e.error} (${formatAge(e.at, now)})`,
      threshold: "no errors",
      action: "Read asm's log around that time; the job runs again on its schedule",
      details: { ...e },
    });
  }
  return findings;
}

/**
 * asm's own database failed its integrity check: critical, naming the file. Nothing more is written into it
 * (the connection is read-only), so this finding is sent straight to the transports, not through the store.
 */
export function storeDamageFinding(damage: StoreDamage, backupDir: string, newestBackup: string | null, now: number): Finding {
  return {
    check: "self",
    subject: "self:store",
    severity: "critical",
    summary: `database damaged: ${damage.path}`,
    component: "asm database",
    value: `${damage.problems[0] ?? "damaged"}${damage.problems.length > 1 ? ` (+${damage.problems.length - 1} more)` : ""}, found ${formatAge(damage.at, now)}`,
    threshold: "quick_check ok",
    action: newestBackup
      ? `asm writes nothing into it now. Stop asm, move the file aside, copy ${newestBackup} to ${damage.path}, start asm (README: If the database is damaged)`
      : `asm writes nothing into it now. No backup in ${backupDir}: stop asm, move the file aside and start asm on a fresh one (README: If the database is damaged)`,
    details: { path: damage.path, problems: damage.problems, backupDir, newestBackup },
  };
}
