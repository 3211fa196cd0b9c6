import type { MessageRef } from "../messages/transport.ts";
import type { Db } from "./db.ts";

export type ActionKind = "restart_gateway" | "reset_session" | "cleanup" | "repair_gateway";
export const actionKinds: readonly ActionKind[] = ["restart_gateway", "reset_session", "cleanup", "repair_gateway"];

/** pending → approved | denied | expired; approved → running → succeeded | failed | unverified. */
export type ActionStatus = "pending" | "approved" | "denied" | "expired" | "running" | "succeeded" | "failed" | "unverified";

/** Statuses an action never leaves. */
export const finalStatuses: readonly ActionStatus[] = ["denied", "expired", "succeeded", "failed", "unverified"];

/** One requested action and everything that happened to it: the audit trail. */
export interface ActionRecord {
  id: number;
  kind: ActionKind;
  /** A session uid, agent id or similar that we validated against our own store; null = no target. */
  target: string | null;
  reason: string | null;
  /** `transport:userId`, or `check:<name>` when a check proposed it. */
  requestedBy: string;
  nonce: string;
  createdAt: number;
  expiresAt: number;
  status: ActionStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  outputTail: string | null;
  verifyNote: string | null;
  /** Fingerprint of the alert whose finding proposed it (see `fingerprint` in src/alerts/lifecycle.ts). */
  fingerprint: string | null;
  details: Record<string, unknown>;
  messageRefs: MessageRef[];
}

/** What a request starts with; everything else on the record is filled in as it is decided and run. */
export interface NewAction
  extends Pick<ActionRecord, "kind" | "target" | "reason" | "requestedBy" | "nonce" | "createdAt" | "expiresAt">,
    Partial<Pick<ActionRecord, "fingerprint" | "details">> {
  /** Auto mode: the row starts approved (decided by `decidedBy`). */
  preApprovedBy?: string;
}

type Row = Omit<ActionRecord, "details" | "messageRefs"> & { details: string; messageRefs: string };

const select = `SELECT id, kind, target, reason, requested_by AS requestedBy, nonce, created_at AS createdAt,
  expires_at AS expiresAt, status, decided_by AS decidedBy, decided_at AS decidedAt, started_at AS startedAt,
  finished_at AS finishedAt, exit_code AS exitCode, output_tail AS outputTail, verify_note AS verifyNote,
  fingerprint, details, message_refs AS messageRefs FROM actions`;

const fromRow = (r: Row): ActionRecord => ({
  ...r,
  details: JSON.parse(r.details) as Record<string, unknown>,
  messageRefs: JSON.parse(r.messageRefs) as MessageRef[],
});

/**
 * Reads and writes the `actions` table. Every state change is one conditional UPDATE, so two
 * clicks, two transports or two processes can never move the same action twice: callers act only
 * when the method reports that exactly one row changed.
 */
export class ActionStore {
  constructor(private readonly db: Db) {}

  create(a: NewAction): ActionRecord {
    const approved = a.preApprovedBy !== undefined;
    const info = this.db
      .prepare(
        `INSERT INTO actions (kind, target, reason, requested_by, nonce, created_at, expires_at, status, decided_by,
           decided_at, fingerprint, details)
         VALUES (@kind, @target, @reason, @requestedBy, @nonce, @createdAt, @expiresAt, @status, @decidedBy,
           @decidedAt, @fingerprint, @details)`,
      )
      .run({
        kind: a.kind,
        target: a.target,
        reason: a.reason,
        requestedBy: a.requestedBy,
        nonce: a.nonce,
        createdAt: a.createdAt,
        expiresAt: a.expiresAt,
        status: approved ? "approved" : "pending",
        decidedBy: approved ? a.preApprovedBy : null,
        decidedAt: approved ? a.createdAt : null,
        fingerprint: a.fingerprint ?? null,
        details: JSON.stringify(a.details ?? {}),
      });
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): ActionRecord | undefined {
    const row = this.db.prepare(`${select} WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /**
   * The approval or denial: one UPDATE that succeeds only while the action is pending, the nonce
   * matches, it has not expired and the decider is an admin. Returns true when this call decided it.
   */
  decide(id: number, nonce: string, decision: "approved" | "denied", by: string, isAdmin: boolean, now: number): boolean {
    const info = this.db
      .prepare(
        `UPDATE actions SET status = @decision, decided_by = @by, decided_at = @now
         WHERE id = @id AND status = 'pending' AND nonce = @nonce AND expires_at > @now AND @admin = 1`,
      )
      .run({ id, nonce, decision, by, now, admin: isAdmin ? 1 : 0 });
    return info.changes === 1;
  }

  /** Marks every pending action whose time is up as expired; returns the ones this call expired. */
  expireDue(now: number): ActionRecord[] {
    return this.db.transaction(() => {
      const due = (this.db.prepare(`${select} WHERE status = 'pending' AND expires_at <= ?`).all(now) as Row[]).map(fromRow);
      const stmt = this.db.prepare("UPDATE actions SET status = 'expired', decided_at = ? WHERE id = ? AND status = 'pending'");
      return due.filter((a) => stmt.run(now, a.id).changes === 1).map((a) => ({ ...a, status: "expired" as const, decidedAt: now }));
    })();
  }

  /** approved → running; true when this call claimed the run (so it happens once). */
  start(id: number, now: number): boolean {
    return this.db.prepare("UPDATE actions SET status = 'running', started_at = ? WHERE id = ? AND status = 'approved'").run(now, id).changes === 1;
  }

  /** running → a final status, with what the command printed and how verification went. */
  finish(
    id: number,
    result: { status: "succeeded" | "failed" | "unverified"; exitCode: number | null; outputTail: string; verifyNote: string },
    now: number,
  ): void {
    this.db
      .prepare(
        `UPDATE actions SET status = @status, exit_code = @exitCode, output_tail = @outputTail, verify_note = @verifyNote,
           finished_at = @now WHERE id = @id AND status = 'running'`,
      )
      .run({ id, now, ...result });
  }

  /** Remembers where an approval message for this action was posted (one per transport/chat). */
  addMessageRef(id: number, ref: MessageRef): void {
    this.db.transaction(() => {
      const row = this.db.prepare("SELECT message_refs AS refs FROM actions WHERE id = ?").get(id) as { refs: string } | undefined;
      if (!row) return;
      const refs = JSON.parse(row.refs) as MessageRef[];
      if (refs.some((r) => r.transport === ref.transport && r.chatId === ref.chatId && r.messageId === ref.messageId)) return;
      refs.push(ref);
      this.db.prepare("UPDATE actions SET message_refs = ? WHERE id = ?").run(JSON.stringify(refs), id);
    })();
  }

  /** Pending actions first, then the most recent others: the audit trail. */
  recent(limit = 20): ActionRecord[] {
    const rows = this.db
      .prepare(`${select} ORDER BY CASE status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 ELSE 2 END, created_at DESC, id DESC LIMIT ?`)
      .all(limit) as Row[];
    return rows.map(fromRow);
  }

  /** Actions of one kind created since `sinceTs` (the gateway check counts restart attempts). */
  since(kind: ActionKind, sinceTs: number): ActionRecord[] {
    const rows = this.db.prepare(`${select} WHERE kind = ? AND created_at >= ? ORDER BY created_at, id`).all(kind, sinceTs) as Row[];
    return rows.map(fromRow);
  }

  /** Open (pending, approved or running) actions of a kind and target, to avoid asking twice. */
  open(kind: ActionKind, target: string | null): ActionRecord[] {
    const rows = this.db
      .prepare(`${select} WHERE kind = ? AND target IS ? AND status IN ('pending', 'approved', 'running') ORDER BY id`)
      .all(kind, target) as Row[];
    return rows.map(fromRow);
  }

  /** Actions that were approved or running when the process stopped (run them or close them at start). */
  interrupted(): ActionRecord[] {
    return (this.db.prepare(`${select} WHERE status IN ('approved', 'running') ORDER BY id`).all() as Row[]).map(fromRow);
  }

  /** Closes an action that was running when asm stopped: we cannot know how it ended. */
  abandon(id: number, note: string, now: number): void {
    this.db.prepare("UPDATE actions SET status = 'unverified', verify_note = ?, finished_at = ? WHERE id = ? AND status = 'running'").run(note, now, id);
  }
}
