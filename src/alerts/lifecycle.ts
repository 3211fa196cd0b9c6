/**
 * The alert lifecycle: what one cycle of findings does to the alert feed. The stages run top to
 * bottom in `processFindings`, inside one SQLite transaction (a crash leaves the previous cycle's
 * state, never half of this one):
 *
 *   findings → fingerprint → dedup → track (pending/firing, flap damping) → resolve (absent)
 *            → decide (fire / repeat / escalate / resolve) → silence → group → outbox
 *
 * Checks never call a chat API: this file only writes rows. The outbox sender delivers them.
 */
import { createHash } from "node:crypto";
import type { NotChecked } from "../checks/coverage.ts";
import type { Config } from "../config/schema.ts";
import { type CheckName, type Finding, severityRank } from "../messages/finding.ts";
import type { TransportName } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";
import { type AlertRecord, AlertStore } from "../store/alerts.ts";
import type { Db } from "../store/db.ts";
import { OutboxStore } from "../store/outbox.ts";
import { type Silence, SilenceStore, silenceMatches } from "../store/silences.ts";
import { type AlertMessageKind, alertView, groupView } from "./format.ts";

/** Which findings a cycle speaks for: an open alert in scope that the cycle did not report counts a miss. */
export interface ScopeEntry {
  check: CheckName;
  /** Only this exact subject (e.g. "self:job:cycle" when the scheduler reports one job). */
  subject?: string;
  /** Only subjects starting with this. */
  subjectPrefix?: string;
}

export interface CycleOptions {
  now: number;
  config: Pick<Config, "alerts"> & Partial<Pick<Config, "host">>;
  /** The transports to post to; each message becomes one outbox row per transport. */
  transports: TransportName[];
  /** What this cycle covers. Default: every check (a full `runChecks` pass). */
  scope?: ScopeEntry[];
  /**
   * Why an open alert the cycle did not report may still be there, unseen (its check is off, its session no
   * longer checked): it closes at once saying so, never as "resolved". Default: absence means it went away.
   */
  notChecked?: (a: AlertRecord) => NotChecked | null;
}

/** What happened to one alert in a cycle. */
export type AlertChange =
  | "new-pending" // seen for the first time, waiting out minFiringSeconds
  | "fired" // posted for the first time
  | "repeated" // reminder after repeatInterval
  | "escalated" // severity went up: a new message
  | "resolved" // gone: the message is edited (or a reply sent)
  | "resolved-unposted" // gone before it was ever posted: nothing is sent
  | "silenced" // firing, but a silence matches: nothing is sent
  | "unchanged"; // still firing (or pending); nothing to say yet

export interface AlertOutcome {
  alert: AlertRecord;
  change: AlertChange;
  /** The silence that muted it, if any. */
  silencedBy?: number;
}

export interface CycleResult {
  outcomes: AlertOutcome[];
  /** Outbox rows written this cycle. */
  enqueued: number;
}

/** The stores the lifecycle writes; built once per runtime. */
export interface AlertStores {
  db: Db;
  alerts: AlertStore;
  silences: SilenceStore;
  outbox: OutboxStore;
}

export const alertStores = (db: Db): AlertStores => ({
  db,
  alerts: new AlertStore(db),
  silences: new SilenceStore(db),
  outbox: new OutboxStore(db),
});

// ── Stage 1: fingerprint ────────────────────────────────────────────────────────────────────────

/**
 * A finding's identity: check + subject, hashed (the 0xff separator cannot occur in UTF-8, as in
 * Alertmanager). Value, severity and summary are annotations and never change the fingerprint.
 */
export function fingerprint(f: Pick<Finding, "check" | "subject">, host: string | null = null): string {
  const h = createHash("sha256");
  // With `host.name` set the host is part of the identity, so the same problem on two hosts is two alerts.
  if (host) h.update(host).update(Buffer.from([0xff]));
  return h
    .update(f.check)
    .update(Buffer.from([0xff]))
    .update(f.subject)
    .digest("hex")
    .slice(0, 16);
}

// ── Stage 2: dedup ──────────────────────────────────────────────────────────────────────────────

interface Keyed {
  fingerprint: string;
  finding: Finding;
}

/** One finding per fingerprint: two checks passes reporting the same thing keep the more severe. */
export function dedup(findings: Finding[], host: string | null = null): Keyed[] {
  const byFp = new Map<string, Keyed>();
  for (const finding of findings) {
    const fp = fingerprint(finding, host);
    const prev = byFp.get(fp);
    if (!prev || severityRank[finding.severity] > severityRank[prev.finding.severity]) byFp.set(fp, { fingerprint: fp, finding });
  }
  return [...byFp.values()];
}

// ── Stage 3: track ──────────────────────────────────────────────────────────────────────────────

/** A finding seen this cycle: refresh the open alert's annotations, or start a new one. */
export function track(prev: AlertRecord | undefined, k: Keyed, now: number, minFiringMs: number): AlertRecord {
  const f = k.finding;
  const base = prev ?? {
    id: 0,
    fingerprint: k.fingerprint,
    check: f.check,
    subject: f.subject,
    status: "pending" as const,
    firstSeen: now,
    firedAt: null,
    resolvedAt: null,
    lastNotifiedAt: null,
    notifiedSeverity: null,
    ackedBy: null,
    ackedAt: null,
  };
  const next: AlertRecord = { ...base, severity: f.severity, summary: f.summary, report: f, lastSeen: now, missed: 0 };
  // Flap damping: firing only once the condition has held for minFiringSeconds.
  if (next.status === "pending" && now - next.firstSeen >= minFiringMs) {
    next.status = "firing";
    next.firedAt = now;
  }
  return next;
}

// ── Stage 4: resolve ────────────────────────────────────────────────────────────────────────────

const inScope = (a: AlertRecord, scope: ScopeEntry[] | undefined) =>
  scope === undefined ||
  scope.some(
    (s) =>
      s.check === a.check && (s.subject === undefined || s.subject === a.subject) && (s.subjectPrefix === undefined || a.subject.startsWith(s.subjectPrefix)),
  );

/** An open alert its check did not report: one more miss; enough misses and it is resolved. */
export function miss(a: AlertRecord, now: number, resolveAfter: number): AlertRecord {
  const missed = a.missed + 1;
  return missed >= resolveAfter ? { ...a, missed, status: "resolved", resolvedAt: now } : { ...a, missed };
}

/** An open alert nobody looks at any more: closed now, the reason kept with its report (`details.notChecked`). */
export function closeUnchecked(a: AlertRecord, now: number, why: NotChecked): AlertRecord {
  return { ...a, missed: a.missed + 1, status: "resolved", resolvedAt: now, report: { ...a.report, details: { ...a.report.details, notChecked: why } } };
}

// ── Stage 5: decide ─────────────────────────────────────────────────────────────────────────────

/**
 * The message an alert needs now, given what the feed last heard (Alertmanager's dedup stage):
 * first firing → fire; severity up → escalate; unchanged for repeatInterval and not acked →
 * repeat; resolved after being posted → resolve; otherwise nothing.
 */
export function decide(a: AlertRecord, now: number, repeatMs: number): AlertMessageKind | null {
  if (a.status === "resolved") return a.notifiedSeverity !== null ? "resolve" : null;
  if (a.status !== "firing") return null;
  if (a.notifiedSeverity === null) return "fire";
  if (severityRank[a.severity] > severityRank[a.notifiedSeverity]) return "escalate";
  if (a.ackedAt === null && a.lastNotifiedAt !== null && now - a.lastNotifiedAt >= repeatMs) return "repeat";
  return null;
}

// ── Stage 6: silence ────────────────────────────────────────────────────────────────────────────

/** The first active silence matching the alert, if any. Resolves are never silenced: they only edit. */
export const silencing = (a: AlertRecord, silences: Silence[], now: number) => silences.find((s) => silenceMatches(s, a, now));

// ── The cycle ───────────────────────────────────────────────────────────────────────────────────

interface Planned {
  alert: AlertRecord;
  kind: AlertMessageKind;
  view: View;
  outcome: AlertOutcome;
}

/**
 * Runs one cycle of findings through every stage and writes alerts and outbox rows in one
 * transaction. `findings` must be everything the checks in `scope` reported this cycle.
 */
export function processFindings(stores: AlertStores, findings: Finding[], options: CycleOptions): CycleResult {
  const { now, transports, scope } = options;
  const cfg = options.config.alerts;
  const minFiringMs = cfg.minFiringSeconds * 1000;
  const repeatMs = cfg.repeatIntervalMinutes * 60_000;

  return stores.db.transaction((): CycleResult => {
    const outcomes: AlertOutcome[] = [];
    const planned: Planned[] = [];
    const silences = stores.silences.active(now);
    const open = new Map(stores.alerts.open().map((a) => [a.fingerprint, a]));

    // Stages 1–3: fingerprint, dedup, track.
    const seen = new Set<string>();
    const current: AlertRecord[] = [];
    for (const k of dedup(findings, options.config.host?.name ?? null)) {
      seen.add(k.fingerprint);
      const prev = open.get(k.fingerprint);
      let alert = track(prev, k, now, minFiringMs);
      if (!prev) alert = stores.alerts.insert(alert);
      current.push(alert);
    }

    // Stage 4: resolve what its check no longer reports.
    for (const a of open.values()) {
      if (seen.has(a.fingerprint) || !inScope(a, scope)) continue;
      const why = options.notChecked?.(a) ?? null;
      current.push(why ? closeUnchecked(a, now, why) : miss(a, now, cfg.resolveAfterMissedScans));
    }

    // Stages 5–6: decide, then silence.
    for (const a of current) {
      const kind = decide(a, now, repeatMs);
      const silence = kind && kind !== "resolve" ? silencing(a, silences, now) : undefined;
      if (kind === null || silence) {
        const change: AlertChange = silence
          ? "silenced"
          : a.status === "resolved"
            ? "resolved-unposted"
            : a.status === "pending" && a.firstSeen === now
              ? "new-pending"
              : "unchanged";
        // A severity that went down is remembered silently, so going back up is news again.
        const notifiedSeverity = a.notifiedSeverity !== null && severityRank[a.severity] < severityRank[a.notifiedSeverity] ? a.severity : a.notifiedSeverity;
        const next = { ...a, notifiedSeverity };
        stores.alerts.update(next);
        outcomes.push({ alert: next, change, ...(silence ? { silencedBy: silence.id } : {}) });
        continue;
      }
      // The view is written before the notification state moves (an escalation says "from warning").
      const view = alertView(a, kind, now);
      const next: AlertRecord = kind === "resolve" ? a : { ...a, lastNotifiedAt: now, notifiedSeverity: kind === "repeat" ? a.notifiedSeverity : a.severity };
      stores.alerts.update(next);
      const outcome: AlertOutcome = { alert: next, change: ({ fire: "fired", repeat: "repeated", escalate: "escalated", resolve: "resolved" } as const)[kind] };
      planned.push({ alert: next, kind, view, outcome });
      outcomes.push(outcome);
    }

    // Stages 7–8: group many new alerts (or many reminders) of one check, then write the outbox.
    let enqueued = 0;
    const bursts = new Map<string, Planned[]>();
    for (const p of planned) {
      if (p.kind !== "fire" && p.kind !== "repeat") continue;
      const key = `${p.kind}:${p.alert.check}`;
      const members = bursts.get(key) ?? [];
      members.push(p);
      bursts.set(key, members);
    }
    const grouped = new Set<Planned>();
    for (const members of bursts.values()) {
      if (members.length <= cfg.groupAbove) continue;
      const alerts = members.map((m) => m.alert);
      const view = groupView(alerts, now, { reminder: members[0]!.kind === "repeat" });
      for (const t of transports) {
        stores.outbox.enqueue({ alertIds: alerts.map((a) => a.id), transport: t, kind: "group", view, now });
        enqueued++;
      }
      for (const m of members) grouped.add(m);
    }
    for (const p of planned) {
      if (grouped.has(p)) continue;
      let reached = false;
      for (const t of transports) {
        if (p.kind === "resolve") {
          // Resolved before it reached this transport: drop the unsent message and say nothing.
          stores.outbox.cancelPending(p.alert.id, t);
          if (!stores.outbox.reachedOrQueuedInGroup(p.alert.id, t)) continue;
        }
        stores.outbox.enqueue({ alertIds: [p.alert.id], transport: t, kind: p.kind, view: p.view, now });
        enqueued++;
        reached = true;
      }
      if (p.kind === "resolve" && !reached) p.outcome.change = "resolved-unposted";
    }
    return { outcomes, enqueued };
  })();
}
