import type { Db } from "./db.ts";

/** One sample of a measured series (gateway probe, quota probe, ...). */
export interface SeriesPoint {
  name: string;
  /** What was measured within the series ("" when there is one thing, e.g. the gateway). */
  subject: string;
  ts: number;
  value: number | null;
  ok: boolean | null;
  extra: Record<string, unknown> | null;
}

type Row = { name: string; subject: string; ts: number; value: number | null; ok: number | null; extra: string | null };

const fromRow = (r: Row): SeriesPoint => ({
  name: r.name,
  subject: r.subject,
  ts: r.ts,
  value: r.value,
  ok: r.ok === null ? null : r.ok === 1,
  extra: r.extra === null ? null : (JSON.parse(r.extra) as Record<string, unknown>),
});

/** Reads and writes the `series` table: small time series the checks compare over time. */
export class SeriesStore {
  constructor(private readonly db: Db) {}

  add(point: SeriesPoint): void {
    this.db
      .prepare("INSERT INTO series(name, subject, ts, value, ok, extra) VALUES (?, ?, ?, ?, ?, ?)")
      .run(
        point.name,
        point.subject,
        point.ts,
        point.value,
        point.ok === null ? null : point.ok ? 1 : 0,
        point.extra === null ? null : JSON.stringify(point.extra),
      );
  }

  /** Samples of one series since `sinceTs` (inclusive), oldest first. */
  since(name: string, subject: string, sinceTs: number): SeriesPoint[] {
    const rows = this.db
      .prepare("SELECT name, subject, ts, value, ok, extra FROM series WHERE name = ? AND subject = ? AND ts >= ? ORDER BY ts, rowid")
      .all(name, subject, sinceTs) as Row[];
    return rows.map(fromRow);
  }

  /** The newest sample of each subject of a series. */
  latestBySubject(name: string): SeriesPoint[] {
    const rows = this.db
      .prepare(
        `SELECT s.name, s.subject, s.ts, s.value, s.ok, s.extra FROM series s
         JOIN (SELECT subject, MAX(ts) AS ts FROM series WHERE name = ? GROUP BY subject) m
           ON m.subject = s.subject AND m.ts = s.ts
         WHERE s.name = ? ORDER BY s.subject`,
      )
      .all(name, name) as Row[];
    // Two samples with the same timestamp: keep one per subject.
    const seen = new Map<string, SeriesPoint>();
    for (const r of rows) seen.set(r.subject, fromRow(r));
    return [...seen.values()];
  }

  /** The newest sample with `ok` = true, or undefined. */
  lastOk(name: string, subject: string): SeriesPoint | undefined {
    const row = this.db
      .prepare("SELECT name, subject, ts, value, ok, extra FROM series WHERE name = ? AND subject = ? AND ok = 1 ORDER BY ts DESC, rowid DESC LIMIT 1")
      .get(name, subject) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Deletes samples older than `beforeTs`; returns how many. */
  prune(beforeTs: number): number {
    return this.db.prepare("DELETE FROM series WHERE ts < ?").run(beforeTs).changes;
  }
}
