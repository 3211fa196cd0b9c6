import { classifyError } from "../agents/error-reason.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Severity } from "../config/sections/common.ts";
import { formatAge, formatDuration, formatPercent, formatTokens } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";

/** One rate-limit window an agent reported about itself (official figure). */
export interface OfficialLimit {
  platform: string;
  window: "primary" | "secondary";
  usedPercent: number;
  windowMinutes: number | null;
  resetsAt: number | null;
  observedAt: number;
  sessionUid: string;
}

/** A rate-limit or billing error an agent recorded in its own files (official: the provider said so). */
export interface ReportedLimit {
  platform: string;
  sessionUid: string;
  reason: "rate_limit" | "billing";
  text: string;
  at: number;
  /** From "usage limit reached|<epoch seconds>" style messages, when present. */
  resetsAt: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Epoch seconds, epoch ms or an ISO string → epoch ms. */
function toMs(v: unknown): number | null {
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  const n = num(v);
  if (n === null) return null;
  return n < 1e12 ? n * 1000 : n;
}

/**
 * The newest rate-limit figures the Codex sessions recorded (`extra.rateLimits`), one per window.
 * A window whose reset time has passed is dropped: its figure no longer says anything.
 */
export function officialLimits(sessions: SessionRecord[], now: number): OfficialLimit[] {
  const newest = new Map<string, OfficialLimit>();
  for (const s of sessions) {
    const rl = s.extra.rateLimits as Record<string, unknown> | undefined;
    if (!rl || typeof rl !== "object") continue;
    const observedAt = toMs(rl.observedAt) ?? s.lastActivity;
    if (observedAt === null) continue;
    for (const window of ["primary", "secondary"] as const) {
      const w = rl[window] as Record<string, unknown> | undefined;
      const usedPercent = num(w?.usedPercent);
      if (!w || usedPercent === null) continue;
      const resetsAt = toMs(w.resetsAt);
      if (resetsAt !== null && resetsAt <= now) continue;
      const key = `${s.platform}:${window}`;
      const prev = newest.get(key);
      if (prev && prev.observedAt >= observedAt) continue;
      newest.set(key, { platform: s.platform, window, usedPercent, windowMinutes: num(w.windowMinutes), resetsAt, observedAt, sessionUid: s.uid });
    }
  }
  return [...newest.values()];
}

/** Limit errors we report: the provider refused for quota or money, not for a passing fault. */
function limitReason(text: string): ReportedLimit["reason"] | null {
  if (/usage limit/i.test(text)) return "rate_limit";
  const r = classifyError(text);
  return r === "rate_limit" || r === "billing" ? r : null;
}

/**
 * The newest limit error per platform that the agents recorded within `withinMs`: Claude Code's
 * `lastApiError`, OpenClaw's `lastError`/`lastErrorReason`. An error the session has since worked
 * past (activity more than two minutes after it) or whose stated reset time has passed is over.
 */
export function reportedLimits(sessions: SessionRecord[], now: number, withinMs: number): ReportedLimit[] {
  const newest = new Map<string, ReportedLimit>();
  for (const s of sessions) {
    const e = (s.extra.lastApiError ?? s.extra.lastError) as { at?: unknown; text?: unknown } | undefined;
    if (!e || typeof e !== "object") continue;
    const text = typeof e.text === "string" ? e.text : "";
    const at = toMs(e.at);
    const reason = typeof s.extra.lastErrorReason === "string" ? limitReasonOf(s.extra.lastErrorReason, text) : limitReason(text);
    if (!reason || at === null || now - at > withinMs || at > now) continue;
    if (s.lastActivity !== null && s.lastActivity - at > 2 * 60_000) continue;
    const resetSec = /\|(\d{9,11})\b/.exec(text)?.[1];
    const resetsAt = resetSec ? Number(resetSec) * 1000 : null;
    if (resetsAt !== null && resetsAt <= now) continue;
    const prev = newest.get(s.platform);
    if (prev && prev.at >= at) continue;
    newest.set(s.platform, { platform: s.platform, sessionUid: s.uid, reason, text: text.slice(0, 200), at, resetsAt });
  }
  return [...newest.values()];
}

const limitReasonOf = (recorded: string, text: string): ReportedLimit["reason"] | null =>
  recorded === "rate_limit" || recorded === "billing" ? recorded : limitReason(text);

function usedSeverity(percent: number, config: Config): Severity | null {
  const q = config.checks.quota;
  if (percent >= q.usedPercentCritical) return "critical";
  if (percent >= q.usedPercentWarning) return "warning";
  return null;
}

const maxSeverity = (a: Severity | null, b: Severity | null): Severity | null =>
  a === "critical" || b === "critical" ? "critical" : a === "warning" || b === "warning" ? "warning" : (a ?? b);

/**
 * **quota**: official figures first — rate-limit windows the agents record themselves (Codex
 * `rateLimits`, used % against 80/95%), limit errors they recorded recently (Claude Code's API error
 * lines, OpenClaw's last error: rate limit → warning, billing → critical), and configured provider probes (remaining against
 * `minRemaining`, used % when the plan `limit` is known) — then estimates from transcripts (tokens in a
 * rolling window against a configured plan), labelled as estimates and skipped for a platform that
 * has an official figure. Every value names its source and age.
 */
export function checkQuota(obs: Observations, config: Config, now: number): Finding[] {
  const q = config.checks.quota;
  const findings: Finding[] = [];
  const threshold = `${q.usedPercentWarning}% / ${q.usedPercentCritical}% used`;
  const official = officialLimits(obs.sessions, now);
  for (const o of official) {
    const severity = usedSeverity(o.usedPercent, config);
    if (!severity) continue;
    const span = o.windowMinutes ? `${formatDuration(o.windowMinutes * 60_000)} ` : "";
    const resets = o.resetsAt ? `, resets in ${formatDuration(o.resetsAt - now)}` : "";
    findings.push({
      check: "quota",
      subject: `quota:${o.platform}:${o.window}`,
      severity,
      summary: `${o.platform} ${span}rate limit ${formatPercent(o.usedPercent)} used${resets}`,
      component: `${o.platform} account`,
      value: `${formatPercent(o.usedPercent)} used (official: ${o.platform} session file, ${formatAge(o.observedAt, now)})`,
      threshold,
      action: severity === "critical" ? "Pause or move work to another account/model until the window resets" : "Slow down or plan for the limit",
      details: { ...o, official: true },
    });
  }
  for (const r of reportedLimits(obs.sessions, now, q.reportedWithinMinutes * 60_000)) {
    const billing = r.reason === "billing";
    const resets = r.resetsAt ? `, resets in ${formatDuration(r.resetsAt - now)}` : "";
    findings.push({
      check: "quota",
      subject: `quota:${r.platform}:reported`,
      severity: billing ? "critical" : "warning",
      summary: `${r.platform} hit a ${billing ? "billing/credit" : "rate"} limit ${formatAge(r.at, now)}${resets}`,
      component: `${r.platform} account`,
      value: `${r.reason}: "${r.text}" (official: ${r.platform} session ${r.sessionUid}, ${formatAge(r.at, now)})`,
      threshold: "no limit errors",
      action: billing
        ? "Add credit or fix billing for this provider; requests are being refused"
        : "Wait for the limit to reset or move work to another account/model",
      details: { ...r, official: true },
    });
  }
  for (const p of obs.quota.probes) {
    const source = `${p.source}, ${formatAge(p.at, now)}`;
    if (p.error !== null || p.remaining === null) {
      findings.push({
        check: "quota",
        subject: `quota:${p.name}`,
        severity: "warning",
        summary: `quota probe ${p.name} failed: ${p.error ?? "no number"}`,
        component: `quota ${p.name}`,
        value: `unknown (${source})`,
        threshold: `${p.minRemaining} remaining`,
        action: "Fix the probe (URL, JSON path, credentials in the environment) so quota is watched again",
        details: { ...p },
      });
      continue;
    }
    const used = p.limit ? ((p.limit - p.remaining) / p.limit) * 100 : null;
    const severity = maxSeverity(
      p.remaining <= 0 ? "critical" : p.remaining < p.minRemaining ? "warning" : null,
      used !== null ? usedSeverity(used, config) : null,
    );
    if (!severity) continue;
    findings.push({
      check: "quota",
      subject: `quota:${p.name}`,
      severity,
      summary: `${p.name} quota low: ${p.remaining} left${used !== null ? ` (${formatPercent(used)} used)` : ""}`,
      component: `quota ${p.name}`,
      value: `${p.remaining} remaining${p.limit ? ` of ${p.limit}` : ""} (official: ${source})`,
      threshold: used !== null ? `${threshold}, or under ${p.minRemaining} left` : `${p.minRemaining} remaining`,
      action: severity === "critical" ? "Top up the quota or switch to another provider now" : "Top up the quota or plan a switch",
      details: { ...p, usedPercent: used, official: true },
    });
  }
  const officialPlatforms = new Set(official.map((o) => o.platform));
  for (const f of findings) if (f.subject.endsWith(":reported")) officialPlatforms.add(f.subject.split(":")[1]!);
  for (const plan of obs.quota.plans) {
    if (officialPlatforms.has(plan.platform)) continue;
    const used = (plan.usedTokens / plan.tokenLimit) * 100;
    const severity = usedSeverity(used, config);
    if (!severity) continue;
    const window = formatDuration(plan.windowHours * 3_600_000);
    const age = plan.newestTurnAt !== null ? formatAge(plan.newestTurnAt, now) : "no turns";
    findings.push({
      check: "quota",
      subject: `quota:estimate:${plan.platform}:${plan.windowHours}h`,
      severity,
      summary: `${plan.platform}: about ${formatPercent(used)} of the ${window} plan used (estimate)`,
      component: `${plan.platform} plan`,
      value: `~${formatTokens(plan.usedTokens)} of ${formatTokens(plan.tokenLimit)} tokens in ${window} (estimate from transcripts, newest turn ${age})`,
      threshold,
      action: "Slow down or move work elsewhere; this is an estimate, check the provider's own figures",
      details: { ...plan, usedPercent: used, official: false },
    });
  }
  return findings;
}
