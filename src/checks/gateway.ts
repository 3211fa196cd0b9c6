import type { Config } from "../config/schema.ts";
import { formatDuration } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { GatewayObservation, Observations, RestartAttempt } from "../observe/observations.ts";

/** The gateway's state as the checks see it, derived from probe samples and restart actions. */
export interface GatewayState {
  up: boolean | null;
  /** When the current outage began (first failed probe after the last good one), or null when up. */
  downSince: number | null;
  /** When our latest restart finished (or started, while it runs), or null. */
  restartAt: number | null;
  /**
   * When the gateway began answering without being ready (HTTP 503 from /readyz) in this outage:
   * it is starting, whoever restarted it. Null when it has not answered at all.
   */
  warmingSince: number | null;
  /** A (re)start happened and its startup grace has not run out (or our restart is still running). */
  inGrace: boolean;
  /** The outage began with that (re)start, rather than the start being an attempt to end it. */
  outageFromStart: boolean;
  /** Restarts started within the breaker window. */
  recentRestarts: number;
  breakerOpen: boolean;
  /** When the oldest restart in the window leaves it, i.e. when the breaker closes again. */
  breakerClosesAt: number | null;
  /** Finished restarts in a row, newest first, that did not bring the gateway back (even for a moment). */
  failedStreak: number;
  /** A restart request is waiting for approval or running. */
  restartPending: boolean;
}

const failed = (r: RestartAttempt) => r.status === "failed" || r.status === "unverified";
const finished = (r: RestartAttempt) => r.status === "succeeded" || failed(r);
const inFlight = (r: RestartAttempt) => r.status === "pending" || r.status === "approved" || r.status === "running";

/** Pure state machine over the probe series and the restart history. */
export function gatewayState(g: GatewayObservation, config: Config, now: number): GatewayState {
  const c = config.checks.gateway;
  const graceMs = c.startupGraceSeconds * 1000;
  const latest = g.samples.at(-1);
  let downSince: number | null = null;
  let warmingSince: number | null = null;
  if (latest && !latest.ok) {
    let i = g.samples.length - 1;
    while (i > 0 && !g.samples[i - 1]!.ok) i--;
    downSince = g.samples[i]!.ts;
    warmingSince = g.samples.slice(i).find((s) => s.answered)?.ts ?? null;
  }
  const started = g.restarts.filter((r) => r.startedAt !== null);
  const last = started[0];
  const restartAt = last ? (last.finishedAt ?? last.startedAt) : null;
  const running = last !== undefined && last.finishedAt === null && inFlight(last);
  const restartGrace = running || (restartAt !== null && now - restartAt < graceMs);
  const warmingGrace = warmingSince !== null && now - warmingSince < graceMs;
  // Our restart began the outage, or the gateway was answering "not ready" before it was due an alert.
  const fromRestart = restartGrace && downSince !== null && downSince >= last!.startedAt!;
  const fromWarming = warmingGrace && downSince !== null && warmingSince! - downSince <= c.downAfterSeconds * 1000;
  const windowMs = c.restartWindowMinutes * 60_000;
  const recent = started.filter((r) => now - r.startedAt! < windowMs);
  const breakerOpen = recent.length >= c.maxRestarts;
  let failedStreak = 0;
  for (const r of g.restarts) {
    if (!finished(r)) continue;
    // A success, or the gateway having been up since, ends the streak.
    if (!failed(r) || (g.lastOkAt !== null && (r.startedAt ?? r.createdAt) < g.lastOkAt)) break;
    failedStreak++;
  }
  return {
    up: latest ? latest.ok : null,
    downSince,
    restartAt,
    warmingSince,
    inGrace: restartGrace || warmingGrace,
    outageFromStart: fromRestart || fromWarming,
    recentRestarts: recent.length,
    breakerOpen,
    breakerClosesAt: breakerOpen ? Math.min(...recent.map((r) => r.startedAt!)) + windowMs : null,
    failedStreak,
    restartPending: g.restarts.some((r) => inFlight(r) && r.finishedAt === null),
  };
}

/**
 * **gateway**: unresponsive for longer than `downAfterSeconds` → critical finding proposing a restart
 * (unless restarts are off, the circuit breaker is open, or one is already pending). A gateway that
 * just (re)started gets a startup grace: after our restart, or from its first "not ready" answer
 * (HTTP 503 while starting, whoever restarted it). An outage that began with the start is not
 * reported until the grace ends; an older one stays reported, without proposing another restart.
 * `repairAfterFailedRestarts` failed restarts in a row (no success and no good probe in between) → a
 * separate "needs repair" escalation (`gateway:repair`) while it stays down.
 */
export function checkGateway(obs: Observations, config: Config, now: number): Finding[] {
  const c = config.checks.gateway;
  const g = obs.gateway;
  if (!g || g.samples.length === 0) return [];
  const st = gatewayState(g, config, now);
  if (st.up !== false || st.downSince === null) return [];
  const findings: Finding[] = [];
  const downFor = now - st.downSince;
  const lastDetail = g.samples.at(-1)!.detail;
  const details = { target: g.target, lastError: lastDetail, ...st, restartMode: c.restart };

  if (st.failedStreak >= c.repairAfterFailedRestarts) {
    findings.push({
      check: "gateway",
      subject: "gateway:repair",
      severity: "critical",
      summary: `gateway needs repair: ${st.failedStreak} restarts in a row did not bring it back`,
      component: "OpenClaw gateway",
      value: `${st.failedStreak} failed restarts, down ${formatDuration(downFor)}`,
      threshold: `${c.repairAfterFailedRestarts} failed restarts`,
      action:
        "Restarting will not fix it: read the gateway logs (journalctl --user -u openclaw-gateway), check its config and disk, or approve a repair worker",
      proposedAction: {
        kind: "repair_gateway",
        context: [
          `probe target: ${g.target}`,
          `down for ${formatDuration(downFor)}; ${st.failedStreak} restarts in a row did not bring it back`,
          ...g.samples.slice(-5).map((s) => `probe ${new Date(s.ts).toISOString()}: ${s.ok ? "ok" : "failed"}${s.detail ? ` (${s.detail})` : ""}`),
        ],
      },
      details,
    });
  }
  if (downFor <= c.downAfterSeconds * 1000) return findings;
  if (st.inGrace && st.outageFromStart) return findings;

  let note = "";
  let action = "Restart the gateway";
  let propose = c.restart !== "off";
  if (st.inGrace) {
    const since = Math.max(st.restartAt ?? 0, st.warmingSince ?? 0);
    const how = since === st.restartAt ? "restarted" : "answering but not ready since";
    note = `; ${how} ${formatDuration(now - since)} ago, waiting out its startup grace`;
    action = `Wait for the restart to finish (grace ${formatDuration(c.startupGraceSeconds * 1000)}), then investigate`;
    propose = false;
  } else if (st.restartPending) {
    note = "; a restart is already requested";
    action = "Approve the pending restart request";
    propose = false;
  } else if (st.breakerOpen) {
    note = `; restart circuit breaker open (${st.recentRestarts} restarts in ${formatDuration(c.restartWindowMinutes * 60_000)})`;
    action = `Investigate by hand; restarts are allowed again ${formatDuration(st.breakerClosesAt! - now)} from now`;
    propose = false;
  } else if (st.failedStreak >= c.repairAfterFailedRestarts) {
    action = "Repair the gateway by hand: restarts have not helped";
    propose = false;
  } else if (c.restart === "off") {
    action = "Restart the gateway by hand (automatic restart proposals are off)";
  }
  findings.push({
    check: "gateway",
    subject: "gateway",
    severity: "critical",
    summary: `gateway unresponsive for ${formatDuration(downFor)}${note}`,
    component: "OpenClaw gateway",
    value: `down ${formatDuration(downFor)}${lastDetail ? ` (${lastDetail})` : ""}`,
    threshold: `${formatDuration(c.downAfterSeconds * 1000)} unresponsive`,
    action,
    proposedAction: propose ? { kind: "restart_gateway" } : undefined,
    details,
  });
  return findings;
}
