import { randomBytes } from "node:crypto";
import type { Reply, WorkerEvent } from "../agents/driver.ts";
import { clip } from "../lib/present.ts";
import type { WorkerRequestRow, WorkerRow } from "../store/workers.ts";
import { autoResponse } from "./auto-respond.ts";
import type { Run, RunnerContext } from "./context.ts";
import { armStall, guard, write } from "./control.ts";

/**
 * What a worker asks a person: a permission prompt or a question, answered by an auto-response rule while the
 * worker's cap allows, else recorded and put to the chat with a reminder and an expiry; and the answers, sent
 * back through the run's protocol session or its driver's stdin encoding.
 */

/** What a waiting worker waits for, short enough for a status line: `permission: Bash(npm test)`, `question: …` (its first line). */
export function waitingText(e: Extract<WorkerEvent, { type: "permission" | "question" }>): string {
  return e.type === "permission" ? clip(`permission: ${e.tool}${e.detail ? `(${e.detail})` : ""}`, 80) : clip(`question: ${e.text.split("\n", 1)[0]!}`, 80);
}

/**
 * A permission request or a question: answered by an auto-response rule while the worker's cap allows, else
 * recorded and put to a person, with a reminder and an expiry (denied, and said so).
 */
export function openRequest(ctx: RunnerContext, run: Run, w: WorkerRow, e: Extract<WorkerEvent, { type: "permission" | "question" }>): void {
  const now = ctx.now();
  const id = run.worker;
  const payload =
    e.type === "permission"
      ? { tool: e.tool, detail: e.detail, reason: e.reason, input: e.input, action: e.action ?? null }
      : { text: e.text, options: e.options ?? [], input: e.input };
  const create = () =>
    ctx.deps.requests.create({
      workerId: id,
      kind: e.type,
      requestId: e.requestId,
      nonce: randomBytes(6).toString("hex"),
      payload,
      now,
      expiresAt: now + ctx.cfg.permissionTimeoutMinutes * 60_000,
    });
  if (e.type === "permission") {
    const auto = ctx.cfg.drivers[w.agent].autoRespond;
    const rule = autoResponse(e.action, w.cwd, auto.rules);
    if (rule && w.respondCount < auto.maxAutoResponds) {
      const r = create();
      ctx.deps.requests.decide(r.id, null, "allowed", "asm:auto", now, rule);
      ctx.deps.store.update(id, { respondCount: w.respondCount + 1 }, now);
      ctx.deps.store.addEvent(id, now, { type: "other", kind: `auto-allowed: ${rule}` });
      sendReply(ctx, r, { kind: "permission", allow: true });
      return;
    }
    if (rule) ctx.deps.store.addEvent(id, now, { type: "other", kind: `auto-respond cap reached (${auto.maxAutoResponds}): asking` });
  }
  const r = create();
  ctx.setStatus(id, "waiting-for-input", e.type, waitingText(e));
  ctx.notify("asks", ctx.get(id), r);
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      run.requestTimers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    run.requestTimers.add(t);
  };
  if (ctx.cfg.waitingReminderMinutes < ctx.cfg.permissionTimeoutMinutes) {
    later(ctx.cfg.waitingReminderMinutes * 60_000, () => {
      if (ctx.deps.requests.get(r.id)?.status !== "pending") return;
      ctx.deps.store.update(id, { remindedAt: ctx.now() }, ctx.now());
      ctx.notify("reminds", ctx.get(id), r);
    });
  }
  later(ctx.cfg.permissionTimeoutMinutes * 60_000, () => {
    if (!ctx.deps.requests.decide(r.id, null, "expired", "asm", ctx.now())) return;
    const mins = ctx.cfg.permissionTimeoutMinutes;
    sendReply(
      ctx,
      r,
      r.kind === "question" ? { kind: "question", answer: null } : { kind: "permission", allow: false, message: `No answer within ${mins} min; denied by asm` },
    );
    ctx.deps.store.addEvent(id, ctx.now(), { type: "other", kind: `${r.kind}-expired` });
    ctx.notify("settled", ctx.get(id), ctx.deps.requests.get(r.id) ?? r, "expired");
  });
}

/**
 * Sends an answer to a live worker's request (the row must already be decided in the store: single use is the
 * store's job). Through its protocol session, else the driver's stdin encoding. False when it no longer runs or
 * its CLI cannot take this kind of answer.
 */
export function sendReply(ctx: RunnerContext, r: WorkerRequestRow, reply: Reply): boolean {
  const run = r.workerId ? ctx.runs.get(r.workerId) : undefined;
  if (!run || !r.requestId) return false;
  if (run.session) {
    const session = run.session;
    guard(ctx, run, () => session.reply(r.requestId!, reply));
  } else if (run.driver.encodeReply) {
    write(ctx, run, run.driver.encodeReply(r.requestId, reply, r.payload.input));
  } else if (reply.kind === "permission" && run.driver.encodePermission) {
    write(ctx, run, run.driver.encodePermission(r.requestId, reply.allow, r.payload.input, reply.message));
  } else return false;
  const kind =
    reply.kind === "permission"
      ? reply.allow
        ? "permission-allowed"
        : "permission-denied"
      : reply.answer === null
        ? "question-declined"
        : "question-answered";
  ctx.deps.store.addEvent(run.worker, ctx.now(), { type: "other", kind });
  afterRequest(ctx, run);
  return true;
}

/** Answers a worker's open question with typed text (a reply in its topic). False when it has none open. */
export function answerQuestion(ctx: RunnerContext, workerId: string, text: string, by: string): WorkerRequestRow | null {
  const r = ctx.deps.requests.pending(workerId).find((x) => x.kind === "question");
  if (!r || !ctx.deps.requests.decide(r.id, null, "answered", by, ctx.now(), text)) return null;
  if (!sendReply(ctx, r, { kind: "question", answer: text })) return null;
  return ctx.deps.requests.get(r.id) ?? r;
}

/** After a request was answered: back to running when none is open, and the stall clock restarts. */
export function afterRequest(ctx: RunnerContext, run: Run): void {
  const w = ctx.deps.store.get(run.worker);
  if (ctx.deps.requests.pending(run.worker).length === 0 && w?.status === "waiting-for-input" && w.waitingReason !== "turn-finished")
    ctx.setStatus(run.worker, "running", null);
  armStall(ctx, run);
}
