import type { Platform, SessionRecord } from "../agents/session.ts";
import { IDLE_AFTER_MS, STALE_RUNNING_MS } from "../agents/state.ts";
import type { Db } from "./db.ts";

export interface SessionQuery {
  platform?: Platform | undefined;
  /** Only sessions still present on disk and active within this many ms. */
  activeWithinMs?: number | undefined;
  includeGone?: boolean | undefined;
  sort?: "urgency" | "activity" | "context" | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  now?: number | undefined;
}

const columns: Record<keyof SessionRecord, string> = {
  uid: "uid",
  platform: "platform",
  agentId: "agent_id",
  sessionId: "session_id",
  sessionKey: "session_key",
  kind: "kind",
  parentUid: "parent_uid",
  project: "project",
  title: "title",
  model: "model",
  firstActivity: "first_activity",
  lastActivity: "last_activity",
  messageCount: "message_count",
  path: "path",
  sizeBytes: "size_bytes",
  contextTokens: "context_tokens",
  contextWindow: "context_window",
  contextPercent: "context_percent",
  inputTokens: "input_tokens",
  outputTokens: "output_tokens",
  cacheReadTokens: "cache_read_tokens",
  cacheWriteTokens: "cache_write_tokens",
  parseErrors: "parse_errors",
  lastParseError: "last_parse_error",
  state: "state",
  present: "present",
  extra: "extra",
  scannedAt: "scanned_at",
};
const keys = Object.keys(columns) as (keyof SessionRecord)[];
const selectList = keys.map((k) => `${columns[k]} AS ${k}`).join(", ");

type Row = Omit<SessionRecord, "present" | "extra"> & { present: number; extra: string };
const fromRow = (row: Row): SessionRecord => ({ ...row, present: row.present === 1, extra: JSON.parse(row.extra) });

/**
 * A computed column a scoped list ranks and counts by: an SQL expression over the `sessions` columns that is
 * NULL for a session the caller watches and a short reason otherwise, with its bound parameters. The rule
 * itself lives with its check (checks/context-scope.ts); the store only evaluates it.
 */
export interface SkipColumn {
  expr: string;
  params: Record<string, unknown>;
}

export interface ScopedQuery {
  platform?: Platform | undefined;
  state?: string | undefined;
  /** Only sessions whose project contains this text (ASCII case-insensitive). */
  project?: string | undefined;
  /** Leave out the sessions the skip column names a reason for. */
  watchedOnly: boolean;
  sort: "urgency" | "activity" | "context";
  limit: number;
}

/** One row of a scoped list: the session and why it is not watched (null when it is). */
export interface ScopedRow {
  session: SessionRecord;
  skip: string | null;
}

const orderBy = {
  urgency: "present DESC, COALESCE(context_percent, -1) DESC, COALESCE(last_activity, 0) DESC",
  context: "COALESCE(context_percent, -1) DESC",
  activity: "COALESCE(last_activity, 0) DESC",
} as const;

/** Reads and writes the `sessions` table. Commands read only this, never the agents' files. */
export class SessionStore {
  private readonly upsertStmt;

  constructor(private readonly db: Db) {
    const cols = keys.map((k) => columns[k]);
    this.upsertStmt = db.prepare(
      `INSERT INTO sessions (${cols.join(", ")}) VALUES (${keys.map((k) => `@${k}`).join(", ")})
       ON CONFLICT(uid) DO UPDATE SET ${cols
         .filter((c) => c !== "uid")
         .map((c) => `${c} = excluded.${c}`)
         .join(", ")}`,
    );
  }

  upsert(record: SessionRecord): void {
    this.upsertStmt.run({ ...record, present: record.present ? 1 : 0, extra: JSON.stringify(record.extra) });
  }

  get(uid: string): SessionRecord | undefined {
    const row = this.db.prepare(`SELECT ${selectList} FROM sessions WHERE uid = ?`).get(uid) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Sessions whose session id (or uid) starts with `prefix`; callers decide what an ambiguous match means. */
  findByPrefix(prefix: string, limit = 10): SessionRecord[] {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = this.db
      .prepare(
        `SELECT ${selectList} FROM sessions WHERE session_id LIKE @like ESCAPE '\\' OR uid LIKE @like ESCAPE '\\'
         ORDER BY present DESC, last_activity DESC LIMIT @limit`,
      )
      .all({ like, limit }) as Row[];
    return rows.map(fromRow);
  }

  private where(q: SessionQuery): { sql: string; params: Record<string, unknown> } {
    const clauses: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.platform) {
      clauses.push("platform = @platform");
      params.platform = q.platform;
    }
    if (!q.includeGone) clauses.push("present = 1");
    if (q.activeWithinMs !== undefined) {
      clauses.push("last_activity >= @since");
      params.since = (q.now ?? Date.now()) - q.activeWithinMs;
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
  }

  list(q: SessionQuery = {}): SessionRecord[] {
    const { sql, params } = this.where(q);
    const rows = this.db
      .prepare(`SELECT ${selectList} FROM sessions ${sql} ORDER BY ${orderBy[q.sort ?? "urgency"]} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: q.limit ?? -1, offset: q.offset ?? 0 }) as Row[];
    return rows.map(fromRow);
  }

  count(q: SessionQuery = {}): number {
    const { sql, params } = this.where(q);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM sessions ${sql}`).get(params) as { n: number }).n;
  }

  /**
   * Sessions with the reason `skip` gives for each, ranked in SQL (urgency: watched ones first, fullest context
   * first), the total that matched and how many were left out by reason: one query for the page, one for counts.
   */
  scoped(q: ScopedQuery, skip: SkipColumn): { rows: ScopedRow[]; total: number; skipped: Record<string, number> } {
    const clauses: string[] = [];
    const params: Record<string, unknown> = { ...skip.params };
    if (q.platform) {
      clauses.push("platform = @platform");
      params.platform = q.platform;
    }
    if (q.state) {
      clauses.push("state = @state");
      params.state = q.state;
    }
    if (q.project) {
      clauses.push("instr(lower(COALESCE(project, '')), lower(@project)) > 0");
      params.project = q.project;
    }
    // Rank on the few columns the order needs, then read the whole rows of one page only (a store of 10,000
    // sessions must not be sorted with every row's JSON).
    const light = `SELECT uid, present, context_percent, last_activity, (${skip.expr}) AS skip FROM sessions${clauses.length ? ` WHERE ${clauses.join(" AND ")}` : ""}`;
    const counts = this.db.prepare(`SELECT skip, COUNT(*) AS n FROM (${light}) GROUP BY skip`).all(params) as { skip: string | null; n: number }[];
    const skipped: Record<string, number> = {};
    let watched = 0;
    let all = 0;
    for (const c of counts) {
      all += c.n;
      if (c.skip === null) watched += c.n;
      else skipped[c.skip] = c.n;
    }
    const order =
      q.sort === "urgency"
        ? `(skip IS NOT NULL), ${orderBy.urgency}`
        : q.sort === "context"
          ? `${orderBy.context}, COALESCE(last_activity, 0) DESC`
          : orderBy.activity;
    const page = this.db
      .prepare(`SELECT uid, skip FROM (${light})${q.watchedOnly ? " WHERE skip IS NULL" : ""} ORDER BY ${order} LIMIT @limit`)
      .all({ ...params, limit: q.limit }) as { uid: string; skip: string | null }[];
    const full = new Map(
      (
        this.db
          .prepare(`SELECT ${selectList} FROM sessions WHERE uid IN (SELECT value FROM json_each(@uids))`)
          .all({ uids: JSON.stringify(page.map((p) => p.uid)) }) as Row[]
      ).map((row) => [row.uid, row]),
    );
    const rows = page.flatMap((p) => {
      const row = full.get(p.uid);
      return row ? [{ session: fromRow(row), skip: p.skip }] : [];
    });
    return { rows, total: q.watchedOnly ? watched : all, skipped };
  }

  /** Marks a session gone (its file vanished or became unreadable). */
  markGone(uid: string, now = Date.now()): void {
    this.db.prepare("UPDATE sessions SET present = 0, scanned_at = ? WHERE uid = ?").run(now, uid);
  }
}

/**
 * Applies `ageState` to the rows of a platform whose files did not change this cycle (their rows were
 * not rewritten): one UPDATE each, so a no-change cycle stays at stat cost.
 */
export function ageSessionStates(db: Db, platform: Platform, now: number): void {
  db.prepare("UPDATE sessions SET state = 'idle' WHERE platform = ? AND state = 'waiting' AND present = 1 AND last_activity < ?").run(
    platform,
    now - IDLE_AFTER_MS,
  );
  db.prepare("UPDATE sessions SET state = 'unknown' WHERE platform = ? AND state = 'running' AND present = 1 AND last_activity < ?").run(
    platform,
    now - STALE_RUNNING_MS,
  );
}
