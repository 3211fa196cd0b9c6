import type { Config } from "../config/schema.ts";
import { formatBytes, formatDuration, formatLatency, formatPercent } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { LogObservation, Observations } from "../observe/observations.ts";

interface Problem {
  text: string;
  value: string;
  threshold: string;
  action: string;
}

function problemsOf(o: LogObservation, config: Config): Problem[] {
  const c = config.checks.logs;
  const out: Problem[] = [];
  const interval = o.previousAt !== null ? ` in ${formatDuration(o.at - o.previousAt)}` : "";
  if (!o.firstSight && !o.rotated && !o.truncated && o.sizeBefore > 0 && o.sizeBefore >= c.growthMinBytes) {
    const growth = ((o.size - o.sizeBefore) / o.sizeBefore) * 100;
    if (growth > c.growthPercent) {
      out.push({
        text: `grew ${formatPercent(growth)}${interval}`,
        value: `${formatBytes(o.sizeBefore)} → ${formatBytes(o.size)}`,
        threshold: `${c.growthPercent}% growth per interval`,
        action: "Something is logging in a loop: look at the newest lines",
      });
    }
  }
  if (o.lines > 0) {
    const rate = (o.errorLines / o.lines) * 100;
    if (rate > c.errorRatePercent) {
      out.push({
        text: `${formatPercent(rate)} of new lines are errors`,
        value: `${o.errorLines} of ${o.lines} lines${interval}`,
        threshold: `${c.errorRatePercent}% errors`,
        action: "Read the errors; restart the component if it is stuck",
      });
    }
  }
  if (o.slowLines > 0 && o.maxDurationMs !== null) {
    out.push({
      text: `${o.slowLines} slow response${o.slowLines === 1 ? "" : "s"} (up to ${formatLatency(o.maxDurationMs)})`,
      value: `${o.slowLines} lines over ${formatLatency(c.slowMs)}, max ${formatLatency(o.maxDurationMs)}`,
      threshold: formatLatency(c.slowMs),
      action: "Check the provider's latency and the gateway's load",
    });
  }
  if (o.size > c.rotationBytes) {
    out.push({
      text: `is ${formatBytes(o.size)}, over its rotation size`,
      value: formatBytes(o.size),
      threshold: formatBytes(c.rotationBytes),
      action: "Rotate or truncate the log (check logrotate / the logger's rotation settings)",
    });
  }
  return out;
}

/**
 * **logs**: per watched log file (`log:<path>`), growth over the interval, error rate of the new
 * lines, response times over the slow threshold, and size over the rotation size. Reads the
 * observations the incremental log tail wrote; a file that cannot be read is reported too.
 */
export function checkLogs(obs: Observations, config: Config, _now: number): Finding[] {
  const c = config.checks.logs;
  const findings: Finding[] = [];
  for (const o of obs.logs) {
    if (o.error !== null) {
      findings.push({
        check: "logs",
        subject: `log:${o.path}`,
        severity: c.severity,
        summary: `log ${o.path} cannot be read: ${o.error}`,
        component: `log ${o.path}`,
        value: o.error,
        threshold: "readable",
        action: "Fix the file's permissions, or remove it from checks.logs.files",
        details: { path: o.path },
      });
      continue;
    }
    const problems = problemsOf(o, config);
    if (problems.length === 0) continue;
    const top = problems[0]!;
    findings.push({
      check: "logs",
      subject: `log:${o.path}`,
      severity: c.severity,
      summary: `log ${o.path}: ${problems.map((p) => p.text).join("; ")}`,
      component: `log ${o.path}`,
      value: top.value,
      threshold: top.threshold,
      action: top.action,
      details: { path: o.path, problems: problems.map((p) => p.text), observation: o },
    });
  }
  return findings;
}
