/**
 * The outbox sender: drains pending outbox rows to the transports, one transport at a time in
 * creation order, keeping order per alert, with exponential backoff, 429 `retry_after` honoured as
 * a not-before time, every attempt recorded, and permanent failures marked. A transport that cannot
 * send at all (`DeliveryError.transportDown`: a refused token) holds its rows back without spending
 * their attempts: they go out once it works.
 *
 * ## Delivery guarantee: at least once, duplicates bounded
 * A row is claimed (`sending`, committed), handed to the transport, and marked `sent` in one
 * transaction once the transport returns. A crash before the transport call leaves the row
 * `sending`; on restart `recoverInFlight` puts it back to pending and it is sent (nothing lost).
 * A request the platform has received is processed even if we die, so a kill while a post is in
 * flight (the whole round trip, not just our commit) posts that message again at restart: against a
 * Bot API answering in 200 ms, every kill mid-drain duplicated one message (`bench/outbox-crash.mjs`).
 * On Discord the nonce is the row's key (`sendKey`), the same on every try and after a restart, so with
 * `enforce_nonce` Discord returns the message already made for a retry within a few minutes: neither a
 * crash nor a timeout duplicates there. Telegram has no such key: a send that timed out is of unknown
 * fate (`unknown`), retried blindly at most `maxBlindRetries` times after `unknownFateWaitSeconds`,
 * then `unconfirmed` and never sent again (see `unknownFate`). Our own commit after the answer adds
 * little (`bench/outbox.ts`: p50 0.3 ms, p99 2–9 ms; `stats().commitMs` tracks it live). Nothing else
 * can duplicate a message: the claim is a conditional UPDATE and one sender drains each transport.
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { DeliveryError, type MessageRef, type Transport, type TransportName } from "../messages/transport.ts";
import type { AlertStore } from "../store/alerts.ts";
import { type OutboxKind, type OutboxRow, type OutboxStore, unknownFate } from "../store/outbox.ts";
import { groupView } from "./format.ts";

export interface SenderOptions {
  transports: Transport[];
  outbox: OutboxStore;
  alerts: AlertStore;
  config: Pick<Config, "outbox">;
  log: Logger;
  /** Injected clock (tests). */
  now?: () => number;
  /** Longest sleep between passes: rows written by another process (`asm check --once`) are picked up within it. */
  idleMs?: number;
  /** How long `stop()` waits for a delivery in flight (default 3 s). */
  stopWithinMs?: number;
}

/** What one drain pass did. */
export interface DrainReport {
  sent: number;
  retried: number;
  failed: number;
  merged: number;
}

export interface SenderStats {
  delivered: number;
  /** Time from the transport returning to the `sent` commit, ms: the local part of the duplicate window. */
  commitMs: { last: number | null; max: number | null; total: number };
}

/** Kinds that announce a firing alert: a transport short of budget may merge these into one message. */
const mergeable: OutboxKind[] = ["fire", "repeat", "escalate"];

/** Exponential backoff after `attempts` failed tries: base · 2^(attempts-1), capped. */
export function backoffMs(attempts: number, cfg: Config["outbox"]): number {
  return Math.min(cfg.baseDelaySeconds * 1000 * 2 ** Math.max(0, attempts - 1), cfg.maxDelaySeconds * 1000);
}

/**
 * The rows that may be delivered now, in order: due (`notBefore` passed) and not behind an
 * earlier unsent row that covers one of the same alerts (a resolve never overtakes its fire) or is
 * a note of the same subject (a worker's result never overtakes its earlier notice).
 */
export function deliverable(rows: OutboxRow[], now: number): OutboxRow[] {
  const blocked = new Set<number>();
  const blockedSubjects = new Set<string>();
  const out: OutboxRow[] = [];
  for (const r of rows) {
    const free = r.alertIds.every((id) => !blocked.has(id)) && (r.subject === null || !blockedSubjects.has(r.subject));
    if (free && (r.status === "pending" || r.status === "unknown") && r.notBefore <= now) out.push(r);
    for (const id of r.alertIds) blocked.add(id);
    if (r.subject !== null) blockedSubjects.add(r.subject);
  }
  return out;
}

/**
 * The same on every try of one row, also after a restart, and different for another row or database
 * (the creation time): Discord's nonce, at most 25 characters.
 */
export const sendKey = (row: Pick<OutboxRow, "id" | "createdAt">): string => `asm${row.id.toString(36)}.${row.createdAt.toString(36)}`;

/** How long to wait for a transport that cannot send, when it does not say. */
const transportDownRetryMs = 60_000;

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Drains the outbox to the transports; `kick()` after writing rows, `stop()` before stopping transports. */
export class OutboxSender {
  private readonly now: () => number;
  private readonly idleMs: number;
  /** Per transport: no sends before this time (the last 429's retry_after). */
  private readonly blockedUntil = new Map<TransportName, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** Not started yet, or stopped: `kick` does nothing. */
  private stopped = true;
  /** `stop()` was called: a pass in progress ends after its current delivery. */
  private halted = false;
  private readonly counters: SenderStats = { delivered: 0, commitMs: { last: null, max: null, total: 0 } };

  constructor(private readonly options: SenderOptions) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? 5_000;
  }

  /** Recovers rows a crash left in flight, then drains continuously. */
  start(): void {
    const recovered = this.options.outbox.recoverInFlight();
    if (recovered.length) {
      this.options.log.warn({ outboxIds: recovered }, "outbox rows were in flight at the last stop; sending them again (they may arrive twice)");
    }
    const names = this.options.transports.map((t) => t.name);
    const abandoned = this.options.outbox.abandonOthers(names, this.now());
    if (abandoned) this.options.log.warn({ rows: abandoned, running: names }, "outbox rows for transports that are not running were given up");
    this.stopped = false;
    this.halted = false;
    this.kick();
  }

  /** Drain soon (coalesced): call after the lifecycle wrote rows. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.loop();
  }

  /**
   * Stops draining and waits for the delivery in flight, so no row is left half-done, but no longer than
   * `stopWithinMs` (a hung request): a row left `sending` is sent again at the next start (`recoverInFlight`).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.options.stopWithinMs ?? 3_000);
      timer.unref();
    });
    if ((await Promise.race([this.running, late])) === "late")
      this.options.log.warn("outbox: a delivery is still in flight at stop; it is sent again at the next start");
    clearTimeout(timer);
  }

  /** Resolves when the pass in progress (if any) has finished. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  stats(): SenderStats {
    return structuredClone(this.counters);
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.drainOnce();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.options.log.error({ err }, "outbox drain failed");
    } finally {
      this.running = null;
      if (!this.stopped) this.timer = setTimeout(() => this.kick(), this.nextWakeMs());
    }
  }

  /** Sleep until the earliest row or rate limit is due, at most `idleMs`. */
  private nextWakeMs(): number {
    const now = this.now();
    let wake = now + this.idleMs;
    for (const t of this.options.transports) {
      const rows = this.options.outbox.unsent(t.name);
      // Out of send budget: look again in a second rather than spinning on rows that are due.
      const budgetWait = t.sendBudget?.() === 0 ? now + 1_000 : 0;
      const blocked = Math.max(this.blockedUntil.get(t.name) ?? 0, budgetWait);
      for (const r of rows) if (r.status === "pending" || r.status === "unknown") wake = Math.min(wake, Math.max(r.notBefore, blocked));
    }
    return Math.max(50, wake - now);
  }

  /** One pass over every transport (each drained in order; transports in parallel). */
  async drainOnce(): Promise<DrainReport> {
    const reports = await Promise.all(this.options.transports.map((t) => this.drainTransport(t)));
    return reports.reduce((a, b) => ({ sent: a.sent + b.sent, retried: a.retried + b.retried, failed: a.failed + b.failed, merged: a.merged + b.merged }), {
      sent: 0,
      retried: 0,
      failed: 0,
      merged: 0,
    });
  }

  /** Passes over one transport's queue until a pass delivers nothing more. */
  private async drainTransport(t: Transport): Promise<DrainReport> {
    const report: DrainReport = { sent: 0, retried: 0, failed: 0, merged: 0 };
    while (!this.halted) {
      const pass = await this.passOnce(t);
      for (const k of ["sent", "retried", "failed", "merged"] as const) report[k] += pass[k];
      // A pass reads the queue once: rows unblocked by this pass's deliveries need another pass.
      if (pass.sent === 0 && pass.merged === 0) break;
    }
    return report;
  }

  /** Reads the queue once and delivers what is ready, in order; O(queue) per pass. */
  private async passOnce(t: Transport): Promise<DrainReport> {
    const report: DrainReport = { sent: 0, retried: 0, failed: 0, merged: 0 };
    const { outbox } = this.options;
    const now = this.now();
    const isBlocked = () => (this.blockedUntil.get(t.name) ?? 0) > this.now();
    if (isBlocked()) return report;
    const unsent = outbox.unsent(t.name);
    let ready = deliverable(unsent, now);
    const budget = t.sendBudget?.();
    if (budget !== undefined && budget > 0) {
      // Only rows that are their alerts' sole unsent message: the group row is newer than
      // everything queued, so merging a row with a later sibling would put the sibling first.
      const rowsPerAlert = new Map<number, number>();
      for (const r of unsent) for (const id of r.alertIds) rowsPerAlert.set(id, (rowsPerAlert.get(id) ?? 0) + 1);
      // A row of unknown fate is never folded into a group: it may be in the chat already.
      const burst = ready.filter((r) => r.status === "pending" && mergeable.includes(r.kind) && r.alertIds.every((id) => rowsPerAlert.get(id) === 1));
      if (burst.length > budget && burst.length > 1) {
        this.mergeBurst(t.name, burst, now);
        report.merged += burst.length;
        ready = deliverable(outbox.unsent(t.name), now);
      }
    }
    const done = new Set<number>();
    /** Alerts with a row that did not go out this pass: their later rows wait (order per alert); so do a note's subject's. */
    const held = new Set<number>();
    const heldSubjects = new Set<string>();
    for (const row of ready) {
      if (this.halted || isBlocked()) break;
      if (done.has(row.id) || row.alertIds.some((id) => held.has(id)) || (row.subject !== null && heldSubjects.has(row.subject))) continue;
      if (t.sendBudget && t.sendBudget() <= 0) break;
      const { outcome, ids } = await this.deliver(
        t,
        row,
        ready.filter((r) => !done.has(r.id)),
      );
      for (const id of ids) done.add(id);
      report[outcome]++;
      if (outcome !== "sent") {
        for (const id of row.alertIds) held.add(id);
        if (row.subject !== null) heldSubjects.add(row.subject);
      }
    }
    return report;
  }

  /** Folds a burst of alert messages into one group message (durably, before sending it). */
  private mergeBurst(transport: TransportName, burst: OutboxRow[], now: number): void {
    const alertIds = [...new Set(burst.flatMap((r) => r.alertIds))];
    const view = groupView(this.options.alerts.getMany(alertIds), now);
    const groupId = this.options.outbox.merge(
      burst.map((r) => r.id),
      { alertIds, transport, view, now },
    );
    this.options.log.info({ transport, rows: burst.length, groupId }, "send budget short: merged pending alerts into one message");
  }

  /** Delivers one row (a resolve may take its group siblings along); records the outcome. */
  private async deliver(t: Transport, row: OutboxRow, ready: OutboxRow[]): Promise<{ outcome: "sent" | "retried" | "failed"; ids: number[] }> {
    const { outbox, alerts, log } = this.options;
    if (!outbox.markSending(row.id)) return { outcome: "retried", ids: [row.id] };
    const ids = [row.id];
    /** A new message was being posted (not an edit, which is safe to repeat) when it failed. */
    let posting = false;
    try {
      let ref: MessageRef;
      let about: { alertIds: number[]; grouped: boolean } | null = null;
      if (row.kind === "resolve") {
        // Every message posted about the alert is edited, so nothing in the feed still says "firing".
        let edited: MessageRef | null = null;
        for (const target of outbox.alertMessages(row.alertIds[0]!, t.name)) {
          let view = row.view;
          if (target.grouped) {
            // One edit of a group message covers every member whose resolve is ready and whose only message it is.
            const members = outbox.alertsOnMessage(t.name, target.ref);
            const only = JSON.stringify(target.ref);
            const siblings = ready.filter(
              (r) =>
                !ids.includes(r.id) &&
                r.kind === "resolve" &&
                members.includes(r.alertIds[0]!) &&
                outbox.alertMessages(r.alertIds[0]!, t.name).every((m) => JSON.stringify(m.ref) === only) &&
                outbox.markSending(r.id),
            );
            ids.push(...siblings.map((r) => r.id));
            view = groupView(alerts.getMany(members), this.now());
          }
          try {
            await t.edit(target.ref, view);
            edited ??= target.ref;
          } catch (err) {
            if (!(err instanceof DeliveryError && err.permanent)) throw err;
            log.info({ transport: t.name, outboxId: row.id, err: err.message }, "cannot edit an alert message; skipping it");
          }
        }
        // Nothing left to edit (never posted here, deleted, too old to edit): say it in a new message.
        posting = edited === null;
        ref = edited ?? (await t.send(row.view, undefined, { key: sendKey(row) }));
      } else if (row.kind === "note") {
        posting = true;
        ref = await this.sendNote(t, row);
      } else {
        posting = true;
        ref = await t.send(row.view, undefined, { key: sendKey(row) });
        about = { alertIds: row.alertIds, grouped: row.kind === "group" };
      }
      const accepted = performance.now();
      outbox.markSent(ids, ref, this.now(), about);
      this.recordCommit(performance.now() - accepted);
      return { outcome: "sent", ids };
    } catch (err) {
      // Group siblings claimed for a shared edit go back to pending untouched.
      outbox.release(ids.slice(1));
      return { outcome: this.recordFailure(t, row, err, posting), ids: [row.id] };
    }
  }

  /**
   * A note goes into its place (a worker's topic or thread); a place that is gone for good (a deleted topic, an
   * archived thread) sends it to the feed instead, as a direct post would, so it is not lost.
   */
  private async sendNote(t: Transport, row: OutboxRow): Promise<MessageRef> {
    if (!row.place) return t.send(row.view, undefined, { key: sendKey(row) });
    try {
      return await t.send(row.view, { chatId: row.place.chatId, threadId: row.place.threadId }, { key: sendKey(row) });
    } catch (err) {
      if (!(err instanceof DeliveryError && err.permanent)) throw err;
      this.options.log.warn({ transport: t.name, outboxId: row.id, place: row.place, err: err.message }, "a note's place refused it; posting it to the feed");
      return t.send(row.view, undefined, { key: sendKey(row) });
    }
  }

  private recordCommit(ms: number): void {
    const c = this.counters;
    c.delivered++;
    c.commitMs.last = ms;
    c.commitMs.max = Math.max(c.commitMs.max ?? 0, ms);
    c.commitMs.total += ms;
  }

  private recordFailure(t: Transport, row: OutboxRow, err: unknown, posting: boolean): "retried" | "failed" {
    const { outbox, log, config } = this.options;
    const now = this.now();
    const attempts = row.attempts + 1;
    const delivery = err instanceof DeliveryError ? err : null;
    const message = describe(err);
    if (delivery?.transportDown) {
      // The transport's problem (reported by the self check), not the message's: wait, spend no attempt.
      const waitMs = delivery.retryAfterMs ?? transportDownRetryMs;
      this.blockedUntil.set(t.name, now + waitMs);
      outbox.markWaiting(row.id, now + waitMs, message, now);
      log.warn({ transport: t.name, outboxId: row.id, retryInMs: waitMs, err: message }, "transport cannot send now; the message waits");
      return "retried";
    }
    if (delivery?.uncertain && posting) return this.unknownFate(t, row, delivery, attempts, now);
    if (delivery?.permanent || attempts >= config.outbox.maxAttempts) {
      outbox.markFailed(row.id, message, now);
      log.error({ transport: t.name, outboxId: row.id, attempts, err: message }, "outbox message failed permanently");
      return "failed";
    }
    const retryAfter = delivery?.retryAfterMs ?? null;
    if (retryAfter !== null) this.blockedUntil.set(t.name, now + retryAfter);
    const notBefore = now + Math.max(backoffMs(attempts, config.outbox), retryAfter ?? 0);
    outbox.markRetry(row.id, notBefore, message, retryAfter, now);
    log.warn({ transport: t.name, outboxId: row.id, attempts, retryAfterMs: retryAfter, err: message }, "outbox delivery failed; will retry");
    return "retried";
  }

  /**
   * A try that timed out after the request went out: the platform may have posted the message and be slow
   * to say so. With an idempotency key still honoured (Discord's nonce, the same on every try of the row) the
   * retry returns the message already made, so it goes at the usual backoff. Without one (Telegram) a retry is
   * blind: it waits `unknownFateWaitSeconds` (a slow platform usually catches up), and after
   * `maxBlindRetries` such retries the row is `unconfirmed` and never sent again, so one message is posted
   * at most `maxBlindRetries + 1` times however long the slowness lasts.
   */
  private unknownFate(t: Transport, row: OutboxRow, err: DeliveryError, attempts: number, now: number): "retried" | "failed" {
    const { outbox, log, config } = this.options;
    const earlier = outbox.unknownFateTries(row.id);
    const delay = backoffMs(attempts, config.outbox);
    const firstAt = earlier.firstAt ?? now;
    if (t.sameKeyWithinMs !== undefined && now + delay - firstAt < t.sameKeyWithinMs && attempts < config.outbox.maxAttempts) {
      outbox.markUnknown(row.id, now + delay, `${unknownFate.keyed} ${err.message}`, now);
      log.warn({ transport: t.name, outboxId: row.id, attempts, err: err.message }, "outbox send timed out; retrying with the same key (no duplicate)");
      return "retried";
    }
    if (earlier.blind >= config.outbox.maxBlindRetries) {
      outbox.markUnconfirmed(row.id, `${unknownFate.blind} ${err.message}; not sent again (it may be in the chat)`, now);
      log.error(
        { transport: t.name, outboxId: row.id, attempts, blindRetries: earlier.blind, err: err.message },
        "outbox send timed out again; not sending it again to bound duplicates (it may or may not be in the chat)",
      );
      return "failed";
    }
    const waitMs = Math.max(config.outbox.unknownFateWaitSeconds * 1000, delay);
    outbox.markUnknown(row.id, now + waitMs, `${unknownFate.blind} ${err.message}`, now);
    log.warn(
      { transport: t.name, outboxId: row.id, attempts, retryInMs: waitMs, err: err.message },
      "outbox send timed out: it may be posted; one retry after a wait",
    );
    return "retried";
  }
}
