import type { MessageRef, TransportName } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";
import type { Db } from "./db.ts";

/**
 * fire = first message; repeat = reminder; escalate = severity went up; resolve = edit to resolved; group = several
 * new alerts in one message; note = a message about no alert (a worker's result), posted into its `place`.
 */
export type OutboxKind = "fire" | "repeat" | "escalate" | "resolve" | "group" | "note";

/** Where on its transport a note goes: a chat and, in a forum, a topic or thread. */
export interface OutboxPlace {
  chatId: string;
  threadId?: string | undefined;
}

/**
 * pending → sending → sent, or back to pending with a later `notBefore`, or failed (permanent / out
 * of attempts). cancelled = resolved before it was posted; merged = folded into a group row.
 * unknown = a try timed out after the request went out, so the message may be posted already; it is
 * tried again after `notBefore` like a pending row. unconfirmed = tried with unknown fate as often as
 * duplicates are allowed (`outbox.maxBlindRetries`): never sent again, it may or may not be in the chat.
 */
export type OutboxStatus = "pending" | "sending" | "sent" | "failed" | "cancelled" | "merged" | "unknown" | "unconfirmed";

/** The start of a `delivery_attempts.error` whose fate is unknown; `blind` = retried without an idempotency key. */
export const unknownFate = { keyed: "fate unknown, same key:", blind: "fate unknown:" } as const;

/** One message to deliver on one transport. */
export interface OutboxRow {
  id: number;
  /** The first (usually only) alert covered; kept for the foreign key. */
  alertId: number | null;
  /** Every alert this message covers. */
  alertIds: number[];
  transport: TransportName;
  kind: OutboxKind;
  view: View;
  status: OutboxStatus;
  attempts: number;
  notBefore: number;
  lastError: string | null;
  messageRef: MessageRef | null;
  createdAt: number;
  sentAt: number | null;
  mergedInto: number | null;
  /** A note's place (null: the transport's feed). */
  place: OutboxPlace | null;
  /** A note's subject ("worker:w3"): notes of one subject go out in order, as an alert's rows do. */
  subject: string | null;
}

/** One try at delivering a row. */
export interface DeliveryAttempt {
  outboxId: number;
  at: number;
  ok: boolean;
  error: string | null;
  retryAfterMs: number | null;
}

/** Where an alert's headline message lives on a transport. */
export interface AlertMessage {
  alertId: number;
  transport: TransportName;
  ref: MessageRef;
  /** A group message shared with other alerts. */
  grouped: boolean;
}

type Row = {
  id: number;
  alert_id: number | null;
  alert_ids: string;
  transport: string;
  kind: string;
  payload: string;
  status: string;
  attempts: number;
  not_before: number;
  last_error: string | null;
  message_ref: string | null;
  created_at: number;
  sent_at: number | null;
  merged_into: number | null;
  place: string | null;
  subject: string | null;
};

const fromRow = (r: Row): OutboxRow => ({
  id: r.id,
  alertId: r.alert_id,
  alertIds: JSON.parse(r.alert_ids) as number[],
  transport: r.transport as TransportName,
  kind: r.kind as OutboxKind,
  view: JSON.parse(r.payload) as View,
  status: r.status as OutboxStatus,
  attempts: r.attempts,
  notBefore: r.not_before,
  lastError: r.last_error,
  messageRef: r.message_ref === null ? null : (JSON.parse(r.message_ref) as MessageRef),
  createdAt: r.created_at,
  sentAt: r.sent_at,
  mergedInto: r.merged_into,
  place: r.place === null ? null : (JSON.parse(r.place) as OutboxPlace),
  subject: r.subject,
});

/** Rows that still have to go out (or are going out right now). */
const unsent = "status IN ('pending', 'sending', 'unknown')";
/** Does a row cover alert `?` (its alert_ids JSON contains it)? */
const covers = "EXISTS (SELECT 1 FROM json_each(outbox.alert_ids) WHERE value = ?)";

/**
 * The durable outbox: `outbox`, `delivery_attempts` and `alert_messages`. Every method is one
 * statement or one transaction, so a crash between any two calls loses nothing.
 */
export class OutboxStore {
  constructor(private readonly db: Db) {}

  /** Runs `fn` in one transaction (several rows that stand or fall together). */
  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  /** Adds a message to deliver; returns its id. */
  enqueue(r: {
    alertIds: number[];
    transport: TransportName;
    kind: OutboxKind;
    view: View;
    now: number;
    notBefore?: number;
    place?: OutboxPlace | null;
    subject?: string | null;
  }): number {
    const info = this.db
      .prepare(
        `INSERT INTO outbox(alert_id, alert_ids, transport, kind, payload, status, not_before, created_at, place, subject)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
      )
      .run(
        r.alertIds[0] ?? null,
        JSON.stringify(r.alertIds),
        r.transport,
        r.kind,
        JSON.stringify(r.view),
        r.notBefore ?? 0,
        r.now,
        r.place ? JSON.stringify({ chatId: r.place.chatId, threadId: r.place.threadId }) : null,
        r.subject ?? null,
      );
    return Number(info.lastInsertRowid);
  }

  get(id: number): OutboxRow | undefined {
    const row = this.db.prepare("SELECT * FROM outbox WHERE id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Unsent rows of one transport in creation order (the order messages must keep per alert). */
  unsent(transport: TransportName): OutboxRow[] {
    return (this.db.prepare(`SELECT * FROM outbox WHERE transport = ? AND ${unsent} ORDER BY id`).all(transport) as Row[]).map(fromRow);
  }

  /** Every row, oldest first (tests, `check --json`). */
  all(): OutboxRow[] {
    return (this.db.prepare("SELECT * FROM outbox ORDER BY id").all() as Row[]).map(fromRow);
  }

  /** Transports that have something to deliver. */
  transportsWithWork(): TransportName[] {
    return (this.db.prepare(`SELECT DISTINCT transport FROM outbox WHERE ${unsent}`).all() as { transport: string }[]).map((r) => r.transport as TransportName);
  }

  /**
   * How much is waiting, and since when (self check); `unknown` of them timed out and may be posted already,
   * `unconfirmed` (not counted in `pending`) were given up that way in the last day.
   */
  backlog(now = Date.now()): { pending: number; oldestCreatedAt: number | null; unknown: number; unconfirmed: number } {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) FILTER (WHERE ${unsent}) AS n, MIN(created_at) FILTER (WHERE ${unsent}) AS oldest,
                COUNT(*) FILTER (WHERE status = 'unknown') AS unknown,
                COUNT(*) FILTER (WHERE status = 'unconfirmed' AND created_at >= ?) AS unconfirmed
           FROM outbox WHERE status IN ('pending', 'sending', 'unknown', 'unconfirmed')`,
      )
      .get(now - 24 * 3600_000) as { n: number; oldest: number | null; unknown: number; unconfirmed: number };
    return { pending: r.n, oldestCreatedAt: r.oldest, unknown: r.unknown, unconfirmed: r.unconfirmed };
  }

  /** Claims a row for delivery (pending, or due again after a try of unknown fate). A row left `sending` by a crash is what `recoverInFlight` finds. */
  markSending(id: number): boolean {
    return this.db.prepare("UPDATE outbox SET status = 'sending' WHERE id = ? AND status IN ('pending', 'unknown')").run(id).changes === 1;
  }

  /**
   * Records a delivery: the row is sent, the attempt logged, and (for messages about alerts) the
   * ref stored so a later resolve edits it. One transaction: this commit closes the duplicate window.
   */
  markSent(ids: number[], ref: MessageRef | null, now: number, about: { alertIds: number[]; grouped: boolean } | null): void {
    this.db.transaction(() => {
      const refJson = ref === null ? null : JSON.stringify(ref);
      for (const id of ids) {
        this.db
          .prepare("UPDATE outbox SET status = 'sent', sent_at = ?, message_ref = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?")
          .run(now, refJson, id);
        this.addAttempt({ outboxId: id, at: now, ok: true, error: null, retryAfterMs: null });
      }
      if (about && ref) this.setAlertMessages(about.alertIds, ref, about.grouped, now);
    })();
  }

  /** A failed try that may succeed later: back to pending, not before `notBefore`. */
  markRetry(id: number, notBefore: number, error: string, retryAfterMs: number | null, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE outbox SET status = 'pending', attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?").run(notBefore, error, id);
      this.addAttempt({ outboxId: id, at: now, ok: false, error, retryAfterMs });
    })();
  }

  /**
   * A try that timed out after the request went out: the platform may have posted it. The row waits until
   * `notBefore`, then is tried again; `error` starts with one of `unknownFate`, which `unknownFateTries` counts.
   */
  markUnknown(id: number, notBefore: number, error: string, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE outbox SET status = 'unknown', attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?").run(notBefore, error, id);
      this.addAttempt({ outboxId: id, at: now, ok: false, error, retryAfterMs: null });
    })();
  }

  /** Tried with unknown fate as often as duplicates are allowed: never sent again (it may be in the chat). */
  markUnconfirmed(id: number, error: string, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE outbox SET status = 'unconfirmed', attempts = attempts + 1, last_error = ? WHERE id = ?").run(error, id);
      this.addAttempt({ outboxId: id, at: now, ok: false, error, retryAfterMs: null });
    })();
  }

  /** Earlier tries of a row whose fate is unknown: those retried blindly, and when the first of any kind ended. */
  unknownFateTries(id: number): { blind: number; firstAt: number | null } {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) FILTER (WHERE substr(error, 1, ?) = ?) AS blind, MIN(at) AS first
           FROM delivery_attempts WHERE outbox_id = ? AND (substr(error, 1, ?) = ? OR substr(error, 1, ?) = ?)`,
      )
      .get(unknownFate.blind.length, unknownFate.blind, id, unknownFate.blind.length, unknownFate.blind, unknownFate.keyed.length, unknownFate.keyed) as {
      blind: number;
      first: number | null;
    };
    return { blind: r.blind, firstAt: r.first };
  }

  /**
   * A try the transport could not make (its token is refused, it is not connected): back to pending,
   * not before `notBefore`, without counting an attempt, so a long outage never uses up the row.
   */
  markWaiting(id: number, notBefore: number, error: string, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ?").run(notBefore, error, id);
      this.addAttempt({ outboxId: id, at: now, ok: false, error, retryAfterMs: null });
    })();
  }

  /** A try that cannot succeed (permanent error, or out of attempts). */
  markFailed(id: number, error: string, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?").run(error, id);
      this.addAttempt({ outboxId: id, at: now, ok: false, error, retryAfterMs: null });
    })();
  }

  /** Folds pending rows into one new group row (the transport's budget is smaller than the queue). */
  merge(ids: number[], group: { alertIds: number[]; transport: TransportName; view: View; now: number }): number {
    return this.db.transaction(() => {
      const groupId = this.enqueue({ ...group, kind: "group" });
      const stmt = this.db.prepare("UPDATE outbox SET status = 'merged', merged_into = ? WHERE id = ? AND status = 'pending'");
      for (const id of ids) stmt.run(groupId, id);
      return groupId;
    })();
  }

  /**
   * Rows a crash left `sending` go back to pending: they may have reached the platform just before
   * the crash (the documented duplicate window). Returns their ids.
   */
  recoverInFlight(): number[] {
    return this.db.transaction(() => {
      const ids = (this.db.prepare("SELECT id FROM outbox WHERE status = 'sending' ORDER BY id").all() as { id: number }[]).map((r) => r.id);
      this.db.prepare("UPDATE outbox SET status = 'pending' WHERE status = 'sending'").run();
      return ids;
    })();
  }

  /**
   * Gives up on unsent rows for transports that are not running (e.g. queued for the console by
   * `asm check --once` while the bot runs on Telegram), so they do not sit in the backlog forever.
   */
  abandonOthers(running: TransportName[], now: number): number {
    const rows = this.db
      .prepare(`SELECT id, transport FROM outbox WHERE ${unsent} AND transport NOT IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(running)) as { id: number; transport: string }[];
    for (const r of rows) this.markFailed(r.id, `transport ${r.transport} is not running`, now);
    return rows.length;
  }

  /** Puts claimed rows back to pending without counting an attempt (a shared edit that did not happen). */
  release(ids: number[]): void {
    const stmt = this.db.prepare("UPDATE outbox SET status = 'pending' WHERE id = ? AND status = 'sending'");
    for (const id of ids) stmt.run(id);
  }

  /** Cancels an alert's own unsent rows on one transport (resolved before posted). Returns how many. */
  cancelPending(alertId: number, transport: TransportName): number {
    return this.db
      .prepare(`UPDATE outbox SET status = 'cancelled' WHERE transport = ? AND status = 'pending' AND alert_ids = ?`)
      .run(transport, JSON.stringify([alertId])).changes;
  }

  /** Has anything covering this alert been sent (or maybe sent: a try of unknown fate), or is it being sent, or queued inside a group? */
  reachedOrQueuedInGroup(alertId: number, transport: TransportName): boolean {
    if (this.alertMessage(alertId, transport) !== undefined) return true;
    const row = this.db
      .prepare(
        `SELECT 1 FROM outbox WHERE transport = ? AND ${covers}
           AND (status IN ('sent', 'sending', 'unknown', 'unconfirmed') OR (status = 'pending' AND kind = 'group')) LIMIT 1`,
      )
      .get(transport, alertId);
    return row !== undefined;
  }

  addAttempt(a: DeliveryAttempt): void {
    this.db
      .prepare("INSERT INTO delivery_attempts(outbox_id, at, ok, error, retry_after_ms) VALUES (?, ?, ?, ?, ?)")
      .run(a.outboxId, a.at, a.ok ? 1 : 0, a.error, a.retryAfterMs);
  }

  attempts(outboxId: number): DeliveryAttempt[] {
    const rows = this.db.prepare("SELECT outbox_id, at, ok, error, retry_after_ms FROM delivery_attempts WHERE outbox_id = ? ORDER BY rowid").all(outboxId) as {
      outbox_id: number;
      at: number;
      ok: number;
      error: string | null;
      retry_after_ms: number | null;
    }[];
    return rows.map((r) => ({ outboxId: r.outbox_id, at: r.at, ok: r.ok === 1, error: r.error, retryAfterMs: r.retry_after_ms }));
  }

  setAlertMessages(alertIds: number[], ref: MessageRef, grouped: boolean, now: number): void {
    const stmt = this.db.prepare("INSERT OR IGNORE INTO alert_messages(alert_id, transport, ref, grouped, created_at) VALUES (?, ?, ?, ?, ?)");
    for (const id of alertIds) stmt.run(id, ref.transport, JSON.stringify(ref), grouped ? 1 : 0, now);
  }

  /** The newest message posted about an alert on a transport. */
  alertMessage(alertId: number, transport: TransportName): AlertMessage | undefined {
    return this.alertMessages(alertId, transport)[0];
  }

  /** Every message posted about an alert on a transport, newest first (all are edited when it resolves). */
  alertMessages(alertId: number, transport: TransportName): AlertMessage[] {
    const rows = this.db
      .prepare("SELECT ref, grouped FROM alert_messages WHERE alert_id = ? AND transport = ? ORDER BY created_at DESC, rowid DESC")
      .all(alertId, transport) as { ref: string; grouped: number }[];
    return rows.map((r) => ({ alertId, transport, ref: JSON.parse(r.ref) as MessageRef, grouped: r.grouped === 1 }));
  }

  /** The alerts this message is about (the members of a group message). */
  alertsOnMessage(transport: TransportName, ref: MessageRef): number[] {
    return (
      this.db.prepare("SELECT alert_id FROM alert_messages WHERE transport = ? AND ref = ? ORDER BY alert_id").all(transport, JSON.stringify(ref)) as {
        alert_id: number;
      }[]
    ).map((r) => r.alert_id);
  }

  /** Deletes finished rows (sent, failed, cancelled, merged) created before `beforeTs`. */
  pruneFinished(beforeTs: number): number {
    return this.db.prepare(`DELETE FROM outbox WHERE NOT (${unsent}) AND created_at < ?`).run(beforeTs).changes;
  }
}
