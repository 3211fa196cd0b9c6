import type { Db } from "./db.ts";

/**
 * A silence mutes notifications (not tracking) for alerts it matches until `endsAt`: either one
 * fingerprint, or a check with an optional subject glob (`*` any run, `?` one character). Expired
 * silences simply stop matching; nothing has to clean them up.
 */
export interface Silence {
  id: number;
  fingerprint: string | null;
  check: string | null;
  subjectPattern: string | null;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  reason: string | null;
  createdAt: number;
}

/** What a silence matches against. */
export interface Silenceable {
  fingerprint: string;
  check: string;
  subject: string;
}

/** A silence that would match nothing, or everything, or ends before it starts. */
export class SilenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SilenceError";
  }
}

type Row = {
  id: number;
  fingerprint: string | null;
  check_name: string | null;
  subject_pattern: string | null;
  starts_at: number;
  ends_at: number;
  created_by: string;
  reason: string | null;
  created_at: number;
};

const fromRow = (r: Row): Silence => ({
  id: r.id,
  fingerprint: r.fingerprint,
  check: r.check_name,
  subjectPattern: r.subject_pattern,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  reason: r.reason,
  createdAt: r.created_at,
});

/** A glob over a subject as an anchored regex; everything but `*` and `?` is literal. */
export function subjectGlob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

/** Does this silence mute this alert at `now`? Pure. */
export function silenceMatches(s: Silence, a: Silenceable, now: number): boolean {
  if (now < s.startsAt || now >= s.endsAt) return false;
  if (s.fingerprint !== null) return s.fingerprint === a.fingerprint;
  if (s.check !== null && s.check !== a.check) return false;
  return s.subjectPattern === null || subjectGlob(s.subjectPattern).test(a.subject);
}

/** The `silences` table. */
export class SilenceStore {
  constructor(private readonly db: Db) {}

  /**
   * Adds a silence. Give a fingerprint, or a check (and optionally a subject glob); a silence
   * matching every alert of every check is refused.
   */
  add(s: {
    fingerprint?: string | null;
    check?: string | null;
    subjectPattern?: string | null;
    startsAt?: number;
    endsAt: number;
    createdBy: string;
    reason?: string | null;
    now?: number;
  }): Silence {
    const now = s.now ?? Date.now();
    const fingerprint = s.fingerprint ?? null;
    const check = s.check ?? null;
    if (fingerprint === null && check === null) throw new SilenceError("a silence needs a fingerprint or a check");
    const startsAt = s.startsAt ?? now;
    if (s.endsAt <= startsAt) throw new SilenceError(`a silence must end after it starts (${new Date(s.endsAt).toISOString()})`);
    const info = this.db
      .prepare(
        `INSERT INTO silences(fingerprint, check_name, subject_pattern, starts_at, ends_at, created_by, reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(fingerprint, check, s.subjectPattern ?? null, startsAt, s.endsAt, s.createdBy, s.reason ?? null, now);
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): Silence | undefined {
    const row = this.db.prepare("SELECT * FROM silences WHERE id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Silences in force at `now` (started, not ended), soonest-ending first. */
  active(now = Date.now()): Silence[] {
    return (this.db.prepare("SELECT * FROM silences WHERE starts_at <= ? AND ends_at > ? ORDER BY ends_at, id").all(now, now) as Row[]).map(fromRow);
  }

  /** Ends a silence now (Alertmanager's "expire"). Returns false if it was not active. */
  expire(id: number, now = Date.now()): boolean {
    return this.db.prepare("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?").run(now, id, now).changes === 1;
  }

  /** Deletes silences that ended before `beforeTs`. */
  pruneEnded(beforeTs: number): number {
    return this.db.prepare("DELETE FROM silences WHERE ends_at < ?").run(beforeTs).changes;
  }
}
