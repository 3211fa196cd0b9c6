import { checks } from "../checks/index.ts";
import type { CheckName } from "../messages/finding.ts";
import type { AlertRecord, AlertStore } from "../store/alerts.ts";
import { type Silence, SilenceError, type SilenceStore } from "../store/silences.ts";

/** An alert reference typed in chat could not be resolved; `message` says why. */
export class AlertLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlertLookupError";
  }
}

/** What `/silence` mutes: one alert's fingerprint, or a check with an optional subject glob. */
export type SilenceTarget = { fingerprint: string } | { check: CheckName; subjectPattern: string | null };

const checkNames = new Set<string>(checks.map((c) => c.name));
const recentWindow = 500;

/**
 * Alerts, acknowledgements and silences as commands and buttons use them. Resolves what people
 * type (`12`, `#12`, a fingerprint prefix, `context:session:claude:*`) against the store; never trusts it.
 */
export class AlertOps {
  constructor(
    private readonly alerts: AlertStore,
    private readonly silences: SilenceStore,
  ) {}

  /** Open (pending and firing) alerts, most severe first; or, `all`, the recent ones of any status. */
  list(all: boolean): AlertRecord[] {
    if (all) return this.alerts.recent(50);
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    return this.alerts.open().sort((a, b) => rank[a.severity] - rank[b.severity] || b.lastSeen - a.lastSeen);
  }

  /** Open alerts about one session (their subject names its uid or session id). */
  forSession(uid: string, sessionId: string): AlertRecord[] {
    return this.alerts.open().filter((a) => a.subject === uid || a.subject.includes(sessionId));
  }

  get(id: number): AlertRecord | undefined {
    return this.alerts.get(id);
  }

  /** An alert by id (`12`, `#12`) or by a unique fingerprint prefix (6+ hex characters), open ones first. */
  find(ref: string): AlertRecord {
    const id = /^#?(\d{1,12})$/.exec(ref);
    if (id) {
      const a = this.alerts.get(Number(id[1]));
      if (!a) throw new AlertLookupError(`no alert #${id[1]}`);
      return a;
    }
    if (!/^[0-9a-f]{6,64}$/.test(ref)) throw new AlertLookupError(`"${ref.slice(0, 40)}" is neither an alert number nor a fingerprint`);
    const byFp = new Map<string, AlertRecord>();
    for (const a of [...this.alerts.open(), ...this.alerts.recent(recentWindow)]) {
      if (a.fingerprint.startsWith(ref) && !byFp.has(a.fingerprint)) byFp.set(a.fingerprint, a);
    }
    if (byFp.size === 0) throw new AlertLookupError(`no alert with fingerprint ${ref}`);
    if (byFp.size > 1) throw new AlertLookupError(`fingerprint ${ref} matches ${byFp.size} alerts; give more characters`);
    return [...byFp.values()][0]!;
  }

  /** Acknowledges an open alert once; says why when it cannot. */
  ack(alert: AlertRecord, by: string, now: number): { ok: boolean; message: string } {
    if (this.alerts.ack(alert.id, by, now)) return { ok: true, message: `Acknowledged #${alert.id}: no reminders until it resolves.` };
    const a = this.alerts.get(alert.id);
    if (a?.status === "resolved") return { ok: false, message: `#${alert.id} is already resolved.` };
    return { ok: false, message: `#${alert.id} was already acknowledged${a?.ackedBy ? ` by ${a.ackedBy}` : ""}.` };
  }

  /**
   * Parses what `/silence` was given: a known check name, optionally `:subject-glob`; or a
   * fingerprint (prefix) of a known alert.
   */
  silenceTarget(spec: string): SilenceTarget {
    const colon = spec.indexOf(":");
    const head = colon === -1 ? spec : spec.slice(0, colon);
    if (checkNames.has(head)) {
      const pattern = colon === -1 ? null : spec.slice(colon + 1);
      if (pattern !== null && (pattern.length === 0 || pattern.length > 200)) throw new AlertLookupError("the subject pattern is empty or too long");
      return { check: head as CheckName, subjectPattern: pattern };
    }
    if (/^[0-9a-f]{6,64}$/.test(spec)) return { fingerprint: this.find(spec).fingerprint };
    throw new AlertLookupError(`"${spec.slice(0, 40)}" is neither a check (${[...checkNames].join(", ")}) nor an alert fingerprint`);
  }

  /** Adds a silence until `now + durationMs`. */
  silence(target: SilenceTarget, durationMs: number, by: string, reason: string | null, now: number): Silence {
    try {
      return this.silences.add({ ...target, endsAt: now + durationMs, createdBy: by, reason, now });
    } catch (err) {
      if (err instanceof SilenceError) throw new AlertLookupError(err.message);
      throw err;
    }
  }

  /** Ends a silence now; false when it was not active. */
  unsilence(id: number, now: number): boolean {
    return this.silences.expire(id, now);
  }

  activeSilences(now: number): Silence[] {
    return this.silences.active(now);
  }
}
