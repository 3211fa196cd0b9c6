import type { Severity } from "../config/sections/common.ts";
import type { CheckName, Finding } from "../messages/finding.ts";
import type { Db } from "./db.ts";

/** pending = seen, not yet firing long enough to post; firing = the condition holds; resolved = gone. */
export type AlertStatus = "pending" | "firing" | "resolved";

/**
 * One alert: a fingerprint's life from first sight to resolution. `report` is the latest finding
 * (annotations change between cycles; identity does not). Notification state (`notifiedSeverity`,
 * `lastNotifiedAt`) is separate from the condition (`status`): a silenced alert fires without being posted.
 */
export interface AlertRecord {
  id: number;
  fingerprint: string;
  check: CheckName;
  subject: string;
  severity: Severity;
  status: AlertStatus;
  summary: string;
  report: Finding;
  firstSeen: number;
  lastSeen: number;
  firedAt: number | null;
  resolvedAt: number | null;
  lastNotifiedAt: number | null;
  /** The severity the feed last heard about; null = never posted. */
  notifiedSeverity: Severity | null;
  ackedBy: string | null;
  ackedAt: number | null;
  /** Consecutive cycles of its check that did not report it. */
  missed: number;
}

type Row = {
  id: number;
  fingerprint: string;
  check_name: string;
  subject: string;
  severity: string;
  status: string;
  summary: string;
  report: string;
  first_seen: number;
  last_seen: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_notified_at: number | null;
  notified_severity: string | null;
  acked_by: string | null;
  acked_at: number | null;
  missed: number;
};

const fromRow = (r: Row): AlertRecord => ({
  id: r.id,
  fingerprint: r.fingerprint,
  check: r.check_name as CheckName,
  subject: r.subject,
  severity: r.severity as Severity,
  status: r.status as AlertStatus,
  summary: r.summary,
  report: JSON.parse(r.report) as Finding,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  firedAt: r.fired_at,
  resolvedAt: r.resolved_at,
  lastNotifiedAt: r.last_notified_at,
  notifiedSeverity: r.notified_severity as Severity | null,
  ackedBy: r.acked_by,
  ackedAt: r.acked_at,
  missed: r.missed,
});

/** The `alerts` table. Every state change the chat can cause (ack) is one conditional UPDATE. */
export class AlertStore {
  constructor(private readonly db: Db) {}

  get(id: number): AlertRecord | undefined {
    const row = this.db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  getMany(ids: number[]): AlertRecord[] {
    return ids.map((id) => this.get(id)).filter((a): a is AlertRecord => a !== undefined);
  }

  /** Alerts not yet resolved (pending and firing), oldest first. */
  open(): AlertRecord[] {
    return (this.db.prepare("SELECT * FROM alerts WHERE status != 'resolved' ORDER BY id").all() as Row[]).map(fromRow);
  }

  /** The most recent alerts of any status, newest first (for `/alerts` and `check --json`). */
  recent(limit = 50): AlertRecord[] {
    return (this.db.prepare("SELECT * FROM alerts ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(fromRow);
  }

  /** Starts tracking a finding that has no open alert. */
  insert(a: Omit<AlertRecord, "id">): AlertRecord {
    const info = this.db
      .prepare(
        `INSERT INTO alerts(fingerprint, check_name, subject, severity, status, summary, report, first_seen, last_seen,
           fired_at, resolved_at, last_notified_at, notified_severity, acked_by, acked_at, missed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.fingerprint,
        a.check,
        a.subject,
        a.severity,
        a.status,
        a.summary,
        JSON.stringify(a.report),
        a.firstSeen,
        a.lastSeen,
        a.firedAt,
        a.resolvedAt,
        a.lastNotifiedAt,
        a.notifiedSeverity,
        a.ackedBy,
        a.ackedAt,
        a.missed,
      );
    return { ...a, id: Number(info.lastInsertRowid) };
  }

  /** Writes back the lifecycle's view of an alert (everything but identity and ack). */
  update(a: AlertRecord): void {
    this.db
      .prepare(
        `UPDATE alerts SET severity = ?, status = ?, summary = ?, report = ?, last_seen = ?, fired_at = ?, resolved_at = ?,
           last_notified_at = ?, notified_severity = ?, missed = ? WHERE id = ?`,
      )
      .run(
        a.severity,
        a.status,
        a.summary,
        JSON.stringify(a.report),
        a.lastSeen,
        a.firedAt,
        a.resolvedAt,
        a.lastNotifiedAt,
        a.notifiedSeverity,
        a.missed,
        a.id,
      );
  }

  /**
   * Acknowledges a firing or pending alert: no more reminders until it resolves. Returns false when
   * the alert does not exist, is resolved, or was already acknowledged (a double click does nothing).
   */
  ack(alertId: number, by: string, now = Date.now()): boolean {
    return (
      this.db.prepare("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND status != 'resolved' AND acked_at IS NULL").run(by, now, alertId)
        .changes === 1
    );
  }

  /** When each alert fired, for alerts that fired within [since, until] (the report's alerts per day), oldest first. */
  firedBetween(since: number, until: number): { check: CheckName; severity: Severity; firedAt: number }[] {
    return this.db
      .prepare('SELECT check_name AS "check", severity, fired_at AS firedAt FROM alerts WHERE fired_at >= ? AND fired_at <= ? ORDER BY fired_at, id')
      .all(since, until) as { check: CheckName; severity: Severity; firedAt: number }[];
  }

  /** Open alerts per status, for health and the self check. */
  countOpen(): { pending: number; firing: number } {
    const rows = this.db.prepare("SELECT status, COUNT(*) AS n FROM alerts WHERE status != 'resolved' GROUP BY status").all() as {
      status: string;
      n: number;
    }[];
    const get = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    return { pending: get("pending"), firing: get("firing") };
  }

  /** Deletes alerts resolved before `beforeTs` (their outbox rows and message refs cascade). */
  pruneResolved(beforeTs: number): number {
    return this.db.prepare("DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < ?").run(beforeTs).changes;
  }
}
