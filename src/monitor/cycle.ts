import { type AlertStores, type CycleResult, processFindings, type ScopeEntry } from "../alerts/lifecycle.ts";
import { notCheckedReason } from "../checks/coverage.ts";
import { checks, runChecks } from "../checks/index.ts";
import type { Finding } from "../messages/finding.ts";
import type { TransportName } from "../messages/transport.ts";
import { type GatherOptions, gatherObservations } from "../observe/gather.ts";
import { runScan, type ScanReport } from "../sources/scan.ts";
import type { Runtime } from "../store/runtime.ts";

/** One scan + checks + lifecycle pass. */
export interface CheckCycleReport {
  scan: ScanReport;
  findings: Finding[];
  alerts: CycleResult;
  durationMs: number;
  /** How long each enabled check took, by name (the metrics' histogram). */
  checkMs: Record<string, number>;
}

export interface CheckCycleOptions {
  now: number;
  transports: TransportName[];
  gather?: GatherOptions;
}

/** Prefix of the `self` finding `runChecks` raises for a check that threw. */
const failedCheckPrefix = "self:check:";

/**
 * What a full check pass speaks for: every check, except one that threw this time (its alerts
 * stay as they were instead of resolving because it said nothing).
 */
export function cycleScope(findings: Finding[]): ScopeEntry[] {
  const failed = new Set(
    findings.filter((f) => f.check === "self" && f.subject.startsWith(failedCheckPrefix)).map((f) => f.subject.slice(failedCheckPrefix.length)),
  );
  return checks.filter((c) => !failed.has(c.name)).map((c) => ({ check: c.name }));
}

/** runScan → gatherObservations → runChecks → the alert lifecycle (alerts and outbox rows). */
export async function runCheckCycle(rt: Runtime, stores: AlertStores, options: CheckCycleOptions): Promise<CheckCycleReport> {
  const started = performance.now();
  const { now } = options;
  const scan = await runScan(rt, undefined, now);
  const obs = await gatherObservations(rt, now, options.gather);
  const checkMs: Record<string, number> = {};
  const findings = checks.flatMap((check) => {
    const t0 = performance.now();
    const found = runChecks(obs, rt.config, now, [check]);
    if (rt.config.checks[check.section].enabled) checkMs[check.name] = performance.now() - t0;
    return found;
  });
  const alerts = processFindings(stores, findings, {
    now,
    config: rt.config,
    transports: options.transports,
    scope: cycleScope(findings),
    notChecked: (a) => notCheckedReason(a, obs, rt.config),
  });
  return { scan, findings, alerts, durationMs: performance.now() - started, checkMs };
}
