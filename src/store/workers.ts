import type { WorkerEvent } from "../agents/driver.ts";
import type { Platform } from "../agents/session.ts";
import type { MessageRef } from "../messages/transport.ts";
import type { Db } from "./db.ts";

/** A worker's life: queued until a slot is free, then as its CLI reports, until one of the final four. */
export type WorkerStatus = "queued" | "starting" | "running" | "waiting-for-input" | "completed" | "failed" | "killed" | "interrupted";

/** Why a `waiting-for-input` worker waits. */
export type WaitingReason = "permission" | "question" | "turn-finished";

export const finalStatuses: readonly WorkerStatus[] = ["completed", "failed", "killed", "interrupted"];
export const isFinal = (s: WorkerStatus) => finalStatuses.includes(s);

/** Where a worker's messages go on one transport (a Telegram forum topic, a Discord thread). */
export interface WorkerThread {
  transport: MessageRef["transport"];
  chatId: string;
  threadId?: string | undefined;
}

/** One managed worker, as kept in the `workers` table. */
export interface WorkerRow {
  id: string;
  agent: Platform;
  model: string | null;
  workspace: string;
  cwd: string;
  prompt: string;
  status: WorkerStatus;
  waitingReason: WaitingReason | null;
  sessionId: string | null;
  sessionUid: string | null;
  pid: number | null;
  pidStart: string | null;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  contextTokens: number | null;
  costUsd: number | null;
  exitCode: number | null;
  signal: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  stderrTail: string;
  outputTail: string;
  lastTool: string | null;
  denied: string[];
  resumedFrom: string | null;
  requestedBy: string | null;
  threads: WorkerThread[];
  statusRefs: MessageRef[];
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
  /** Model ids (from `runner.models`) this worker may run on, in order; empty = no fallback. */
  chain: string[];
  /** Where in `chain` it is now. */
  chainIndex: number;
  /** Tries of the current model (1 = the first). */
  attempt: number;
  /** A retry waits until then. */
  notBefore: number | null;
  /** The asm process running it (`<pid>:<start time>`), null while queued. */
  owner: string | null;
  /** Requests an auto-response rule answered (capped by `autoRespond.maxAutoResponds`). */
  respondCount: number;
  /** What a waiting worker waits for, as a person reads it (`permission: Bash(npm test)`, `question: …`). */
  waitingDetail: string | null;
  /** When the last reminder about this waiting worker went out; null since it began waiting. */
  remindedAt: number | null;
}

/** One parsed event of a worker, as stored. */
export interface WorkerEventRow {
  id: number;
  workerId: string;
  ts: number;
  type: string;
  payload: Record<string, unknown>;
}

const cols: Record<keyof WorkerRow, string> = {
  id: "id",
  agent: "agent",
  model: "model",
  workspace: "workspace",
  cwd: "cwd",
  prompt: "prompt",
  status: "status",
  waitingReason: "waiting_reason",
  sessionId: "session_id",
  sessionUid: "session_uid",
  pid: "pid",
  pidStart: "pid_start",
  turns: "turns",
  inputTokens: "input_tokens",
  outputTokens: "output_tokens",
  cacheReadTokens: "cache_read_tokens",
  cacheWriteTokens: "cache_write_tokens",
  contextTokens: "context_tokens",
  costUsd: "cost_usd",
  exitCode: "exit_code",
  signal: "signal",
  errorClass: "error_class",
  errorMessage: "error_message",
  stderrTail: "stderr_tail",
  outputTail: "output_tail",
  lastTool: "last_tool",
  denied: "denied",
  resumedFrom: "resumed_from",
  requestedBy: "requested_by",
  threads: "thread",
  statusRefs: "status_refs",
  createdAt: "created_at",
  startedAt: "started_at",
  endedAt: "ended_at",
  updatedAt: "updated_at",
  chain: "chain",
  chainIndex: "chain_index",
  attempt: "attempt",
  notBefore: "not_before",
  owner: "owner",
  respondCount: "respond_count",
  waitingDetail: "waiting_detail",
  remindedAt: "reminded_at",
};
const jsonCols = new Set<keyof WorkerRow>(["denied", "threads", "statusRefs", "chain"]);
const select = `SELECT ${Object.entries(cols)
  .map(([k, c]) => `${c} AS "${k}"`)
  .join(", ")} FROM workers`;

function fromRow(r: Record<string, unknown>): WorkerRow {
  const out = { ...r } as Record<string, unknown>;
  for (const k of jsonCols) {
    try {
      out[k] = JSON.parse(String(r[k] ?? (k === "threads" ? "[]" : "[]")));
    } catch {
      out[k] = [];
    }
    if (k === "threads" && !Array.isArray(out[k])) out[k] = [];
  }
  return out as unknown as WorkerRow;
}

/** Longest text kept in an event payload; the full output is in the agent's own transcript. */
const PAYLOAD_TEXT = 2000;

/** A stored form of an event: long strings cut, the raw tool input dropped (it can be megabytes). */
export function compactEvent(e: WorkerEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "type" || k === "input") continue;
    out[k] = typeof v === "string" && v.length > PAYLOAD_TEXT ? `${v.slice(0, PAYLOAD_TEXT)}…` : v;
  }
  return out;
}

/**
 * Reads and writes the `workers` and `worker_events` tables. Ids are short (`w1`, `w2`, …) because people
 * type them on a phone.
 */
export class WorkerStore {
  constructor(readonly db: Db) {}

  /** The next free id. */
  nextId(): string {
    const r = this.db.prepare("SELECT MAX(CAST(SUBSTR(id, 2) AS INTEGER)) AS n FROM workers WHERE id GLOB 'w[0-9]*'").get() as { n: number | null };
    return `w${(r.n ?? 0) + 1}`;
  }

  insert(
    w: Pick<WorkerRow, "id" | "agent" | "model" | "workspace" | "cwd" | "prompt" | "resumedFrom" | "requestedBy" | "sessionId"> & { now: number },
  ): WorkerRow {
    this.db
      .prepare(
        `INSERT INTO workers (id, agent, model, workspace, cwd, prompt, status, session_id, resumed_from, requested_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
      )
      .run(w.id, w.agent, w.model, w.workspace, w.cwd, w.prompt, w.sessionId, w.resumedFrom, w.requestedBy, w.now, w.now);
    return this.get(w.id)!;
  }

  get(id: string): WorkerRow | undefined {
    const r = this.db.prepare(`${select} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Workers newest first; `activeOnly` leaves out the finished ones. */
  list(opts: { activeOnly?: boolean; limit?: number } = {}): WorkerRow[] {
    const where = opts.activeOnly ? "WHERE status NOT IN ('completed','failed','killed','interrupted')" : "";
    const rows = this.db.prepare(`${select} ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(opts.limit ?? 50) as Record<string, unknown>[];
    return rows.map(fromRow);
  }

  /** Workers in the given statuses, oldest first. */
  /**
   * Per model, the median time a completed worker took per turn since `since` (its run from start to end over its
   * turns), and how many such workers there were: the speed the adaptive fallback order weighs.
   */
  turnTimesByModel(since: number): { model: string; medianMs: number; runs: number }[] {
    const rows = this.db
      .prepare(
        `SELECT model, (ended_at - started_at) * 1.0 / MAX(turns, 1) AS ms FROM workers
         WHERE status = 'completed' AND model IS NOT NULL AND started_at IS NOT NULL AND ended_at >= ? ORDER BY model, ms`,
      )
      .all(since) as { model: string; ms: number }[];
    const by = new Map<string, number[]>();
    for (const r of rows) by.set(r.model, [...(by.get(r.model) ?? []), r.ms]);
    return [...by].map(([model, ms]) => ({ model, medianMs: ms[Math.floor((ms.length - 1) / 2)]!, runs: ms.length }));
  }

  withStatus(statuses: readonly WorkerStatus[]): WorkerRow[] {
    const rows = this.db.prepare(`${select} WHERE status IN (${statuses.map(() => "?").join(",")}) ORDER BY created_at, id`).all(...statuses) as Record<
      string,
      unknown
    >[];
    return rows.map(fromRow);
  }

  /** Workers that ran this agent session. */
  bySession(sessionId: string): WorkerRow[] {
    return (this.db.prepare(`${select} WHERE session_id = ? ORDER BY created_at DESC`).all(sessionId) as Record<string, unknown>[]).map(fromRow);
  }

  /** The newest worker of each of these agent sessions (by session uid), for marking managed sessions. */
  newestBySessionUid(uids: readonly string[]): Map<string, WorkerRow> {
    const out = new Map<string, WorkerRow>();
    if (uids.length === 0) return out;
    const rows = this.db.prepare(`${select} WHERE session_uid IN (${uids.map(() => "?").join(",")}) ORDER BY created_at, id`).all(...uids) as Record<
      string,
      unknown
    >[];
    for (const r of rows.map(fromRow)) out.set(r.sessionUid!, r);
    return out;
  }

  /**
   * Takes a queued worker for this process: one conditional UPDATE, so when two asm processes share the store
   * (the bot and `asm spawn --wait`) exactly one starts it.
   */
  claim(id: string, owner: string, now: number): boolean {
    return (
      this.db.prepare("UPDATE workers SET status = 'starting', owner = ?, updated_at = ? WHERE id = ? AND status = 'queued'").run(owner, now, id).changes === 1
    );
  }

  /** Updates some fields; `updatedAt` is set to `now`. */
  update(id: string, patch: Partial<Omit<WorkerRow, "id" | "createdAt">>, now: number): void {
    const keys = Object.keys(patch) as (keyof WorkerRow)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${cols[k]} = @${k}`).join(", ");
    const params: Record<string, unknown> = { id, updatedAt: now };
    for (const k of keys) {
      const v = (patch as Partial<WorkerRow>)[k];
      params[k] = jsonCols.has(k) ? JSON.stringify(v ?? []) : v;
    }
    this.db.prepare(`UPDATE workers SET ${sets}, updated_at = @updatedAt WHERE id = @id`).run(params);
  }

  /** The chain of workers this one resumed, newest first (C → B → A). */
  chain(id: string): WorkerRow[] {
    const out: WorkerRow[] = [];
    const seen = new Set<string>();
    for (let w = this.get(id); w && !seen.has(w.id); w = w.resumedFrom ? this.get(w.resumedFrom) : undefined) {
      seen.add(w.id);
      out.push(w);
    }
    return out;
  }

  addEvent(workerId: string, ts: number, e: WorkerEvent): void {
    this.db.prepare("INSERT INTO worker_events (worker_id, ts, type, payload) VALUES (?, ?, ?, ?)").run(workerId, ts, e.type, JSON.stringify(compactEvent(e)));
  }

  /** The last `limit` events, oldest first; `type` filters. */
  events(workerId: string, opts: { type?: string; limit?: number } = {}): WorkerEventRow[] {
    const where = opts.type ? "AND type = @type" : "";
    const rows = this.db
      .prepare(`SELECT id, worker_id AS workerId, ts, type, payload FROM worker_events WHERE worker_id = @w ${where} ORDER BY id DESC LIMIT @limit`)
      .all({ w: workerId, type: opts.type, limit: opts.limit ?? 20 }) as (Omit<WorkerEventRow, "payload"> & { payload: string })[];
    return rows.reverse().map((r) => ({ ...r, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  }
}

/** What an admin is asked to decide for a worker. */
export type WorkerRequestKind = "permission" | "question" | "spawn";
export type WorkerRequestStatus = "pending" | "allowed" | "denied" | "expired" | "answered";

export interface WorkerRequestRow {
  id: number;
  workerId: string | null;
  kind: WorkerRequestKind;
  requestId: string | null;
  nonce: string;
  status: WorkerRequestStatus;
  payload: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  messageRefs: MessageRef[];
  /** The answer given: a question's option or free text, or the auto-response rule that decided it. */
  answer: string | null;
}

const reqSelect = `SELECT id, worker_id AS workerId, kind, request_id AS requestId, nonce, status, payload, created_at AS createdAt,
  expires_at AS expiresAt, decided_at AS decidedAt, decided_by AS decidedBy, message_refs AS messageRefs, answer FROM worker_requests`;
const reqRow = (r: Record<string, unknown>): WorkerRequestRow => ({
  ...(r as unknown as WorkerRequestRow),
  payload: JSON.parse(String(r.payload ?? "{}")) as Record<string, unknown>,
  messageRefs: JSON.parse(String(r.messageRefs ?? "[]")) as MessageRef[],
});

/**
 * Permission requests, questions and spawn approvals. Deciding is one conditional UPDATE (pending, nonce
 * matches, not expired), so two presses of the same button decide once.
 */
export class WorkerRequestStore {
  constructor(private readonly db: Db) {}

  create(r: {
    workerId: string | null;
    kind: WorkerRequestKind;
    requestId: string | null;
    nonce: string;
    payload: Record<string, unknown>;
    now: number;
    expiresAt: number;
  }): WorkerRequestRow {
    const info = this.db
      .prepare("INSERT INTO worker_requests (worker_id, kind, request_id, nonce, payload, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(r.workerId, r.kind, r.requestId, r.nonce, JSON.stringify(r.payload), r.now, r.expiresAt);
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): WorkerRequestRow | undefined {
    const r = this.db.prepare(`${reqSelect} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return r ? reqRow(r) : undefined;
  }

  pending(workerId?: string): WorkerRequestRow[] {
    const rows = workerId
      ? this.db.prepare(`${reqSelect} WHERE status = 'pending' AND worker_id = ? ORDER BY id`).all(workerId)
      : this.db.prepare(`${reqSelect} WHERE status = 'pending' ORDER BY id`).all();
    return (rows as Record<string, unknown>[]).map(reqRow);
  }

  /**
   * Decides a pending request; false when it was already decided, expired, or the nonce is wrong. `answer` keeps
   * what was answered (a question's text, or the rule of an auto-response).
   */
  decide(id: number, nonce: string | null, status: Exclude<WorkerRequestStatus, "pending">, by: string, now: number, answer: string | null = null): boolean {
    const info = this.db
      .prepare(
        `UPDATE worker_requests SET status = ?, decided_at = ?, decided_by = ?, answer = ?
         WHERE id = ? AND status = 'pending' AND (? IS NULL OR nonce = ?) AND (expires_at > ? OR ? = 'expired')`,
      )
      .run(status, now, by, answer, id, nonce, nonce, now, status);
    return info.changes === 1;
  }

  /** Marks every pending request of a worker (it ended, so nobody can answer them any more). */
  closeFor(workerId: string, now: number): number {
    return this.db.prepare("UPDATE worker_requests SET status = 'expired', decided_at = ? WHERE worker_id = ? AND status = 'pending'").run(now, workerId)
      .changes;
  }

  setRefs(id: number, refs: MessageRef[]): void {
    this.db.prepare("UPDATE worker_requests SET message_refs = ? WHERE id = ?").run(JSON.stringify(refs), id);
  }
}

/**
 * The newest worker whose messages go to this thread (`threads` holds it): plain text typed there is that
 * worker's next turn. Added for the chat side; a lookup only.
 */
export function workerIdByThread(db: Db, place: WorkerThread): string | undefined {
  const r = db
    .prepare(
      `SELECT w.id AS id FROM workers w, json_each(CASE WHEN json_valid(w.thread) THEN w.thread ELSE '[]' END) t
       WHERE json_extract(t.value, '$.transport') = ? AND json_extract(t.value, '$.chatId') = ? AND json_extract(t.value, '$.threadId') = ?
       ORDER BY w.created_at DESC, w.id DESC LIMIT 1`,
    )
    .get(place.transport, place.chatId, place.threadId ?? null) as { id: string } | undefined;
  return r?.id;
}
