import { alertStores } from "../alerts/lifecycle.ts";
import { type ContextSkip, contextSkip, noSkips, skippedText, skipWhy } from "../checks/context-scope.ts";
import { runCheckCycle } from "../monitor/cycle.ts";
import { transportNames } from "../monitor/service.ts";
import type { Runtime } from "../store/runtime.ts";
import type { CliIo } from "./io.ts";
import { print, printJson } from "./io.ts";

/**
 * `asm check --once`: one scan, every check (logs tailed and probes run now), and the alert
 * lifecycle. Alerts are recorded and their messages queued for the configured transports even
 * though nothing is sent here: a running `asm run` (or the next one) delivers them, once.
 */
export async function runCheckOnce(rt: Runtime, io: CliIo, opts: { json: boolean }): Promise<number> {
  const now = Date.now();
  const transports = transportNames(rt);
  const report = await runCheckCycle(rt, alertStores(rt.db), {
    now,
    transports,
    gather: { logs: true, probeGateway: true, probeQuota: true },
  });
  const alerts = report.alerts.outcomes.map(({ alert: a, change, silencedBy }) => ({
    id: a.id,
    fingerprint: a.fingerprint,
    check: a.check,
    subject: a.subject,
    severity: a.severity,
    status: a.status,
    change,
    summary: a.summary,
    firstSeen: new Date(a.firstSeen).toISOString(),
    ...(a.ackedBy ? { ackedBy: a.ackedBy } : {}),
    ...(silencedBy !== undefined ? { silencedBy } : {}),
  }));
  // What the context check looked at and what it left out, by the same rule `/sessions` lists by.
  const skipped = noSkips();
  let checked = 0;
  for (const s of rt.sessions.list({ includeGone: true })) {
    const skip = contextSkip(s, rt.config, now);
    if (skip) skipped[skip]++;
    else checked++;
  }
  if (opts.json) {
    printJson(io, {
      scan: { durationMs: Math.round(report.scan.durationMs), errors: report.scan.results.flatMap((r) => r.errors) },
      context: { checked, notChecked: skipped },
      findings: report.findings,
      alerts,
      outbox: { enqueued: report.alerts.enqueued, transports },
    });
    return 0;
  }
  print(io, `scan took ${Math.round(report.scan.durationMs)} ms; ${report.findings.length} findings`);
  const left = skippedText(skipped, rt.config);
  print(io, `context: ${checked} sessions checked${left ? `; ${left}` : ""}`);
  for (const why of Object.keys(skipWhy) as ContextSkip[]) if (skipped[why]) print(io, `  ${why}: ${skipWhy[why]}`);
  for (const f of report.findings) print(io, `  ${f.severity.padEnd(8)} ${f.check.padEnd(13)} ${f.summary}`);
  const changed = alerts.filter((a) => a.change !== "unchanged");
  if (changed.length) {
    print(io, "alerts:");
    for (const a of changed) print(io, `  #${a.id} ${a.change.padEnd(17)} ${a.check}/${a.subject}`);
  }
  if (report.alerts.enqueued) print(io, `${report.alerts.enqueued} messages queued for ${transports.join(", ")} (sent by asm run)`);
  return 0;
}
