import type { Config } from "../config/schema.ts";
import type { Finding } from "./check.ts";
import { formatDuration } from "./format.ts";
import type { GatewayObservation, Observations, RestartAttempt } from "./observations.ts";

/** The gateway's state as the checks see it, derived from probe samples and restart actions. */
export interface GatewayState {
  up: boolean | null;
  /** When the current outage began (first failed probe after the last good one), or null when up. */
  downSince: number | null;
  /** A restart started and its startup grace has not run out (or it is still running). */
  restartAt: number | null;
  inGrace: boolean;
  /** Restarts started within the breaker window. */
  recentRestarts: number;
  breakerOpen: boolean;
  /** When the oldest restart in the window leaves it, i.e. when the breaker closes again. */
  breakerClosesAt: number | null;
  /** Finished restarts in a row, newest first, that did not bring the gateway back. */
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
  const latest = g.samples.at(-1);
  let downSince: number | null = null;
  if (latest && !latest.ok) {
    let i = g.samples.length - 1;
    while (i > 0 && !g.samples[i - 1]!.ok) i--;
    downSince = g.samples[i]!.ts;
  }
  const started = g.restarts.filter((r) => r.startedAt !== null);
  const last = started[0];
  const restartAt = last ? (last.finishedAt ?? last.startedAt) : null;
  const running = last !== undefined && last.finishedAt === null && inFlight(last);
  const inGrace = running || (restartAt !== null && now - restartAt < c.startupGraceSeconds * 1000);
  const windowMs = c.restartWindowMinutes * 60_000;
  const recent = started.filter((r) => now - r.startedAt! < windowMs);
  const breakerOpen = recent.length >= c.maxRestarts;
  let failedStreak = 0;
  for (const r of g.restarts) {
    if (!finished(r)) continue;
    if (!failed(r)) break;
    failedStreak++;
  }
  return {
    up: latest ? latest.ok : null,
    downSince,
    restartAt,
    inGrace,
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
 * just restarted gets a startup grace: an outage that began with the restart is not reported until
 * the grace ends. `repairAfterFailedRestarts` failed restarts in a row → a separate "needs repair"
 * escalation (`gateway:repair`) while it stays down.
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
  const outageFromRestart = st.restartAt !== null && st.downSince >= (g.restarts.find((r) => r.startedAt !== null)?.startedAt ?? Infinity);
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
      action: "Restarting will not fix it: read the gateway logs (journalctl --user -u openclaw-gateway), check its config and disk",
      details,
    });
  }
  if (downFor <= c.downAfterSeconds * 1000) return findings;
  if (st.inGrace && outageFromRestart) return findings;

  let note = "";
  let action = "Restart the gateway";
  let propose = c.restart !== "off";
  if (st.inGrace) {
    note = `; restarted ${formatDuration(now - st.restartAt!)} ago, waiting out its startup grace`;
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
