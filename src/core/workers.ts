import { randomBytes } from "node:crypto";
import type { Driver } from "../agents/driver.ts";
import { driversFor } from "../agents/drivers.ts";
import type { Platform, SessionRecord } from "../agents/session.ts";
import { HandoverOps, handoverPrompt } from "../handover/handover.ts";
import { saveMemory } from "../handover/save.ts";
import { formatDuration } from "../lib/present.ts";
import type { Caller, MessageRef } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";
import type { FallbackNotice } from "../runner/fallback/chain.ts";
import { Runner, RunnerError, type RunnerListener, type SpawnRequest } from "../runner/runner.ts";
import { AlertStore } from "../store/alerts.ts";
import type { Runtime } from "../store/runtime.ts";
import { isFinal, type WorkerRequestRow, WorkerRequestStore, type WorkerRow, WorkerStore, type WorkerThread, workerIdByThread } from "../store/workers.ts";
import type { Feed, FeedPlace } from "./feed.ts";
import {
  spawnRequestView,
  workerReminderView,
  workerRequestSettledView,
  workerRequestView,
  workerResultView,
  workerStatusView,
  workerThreadTitle,
  workerWaitingView,
} from "./worker-views.ts";

/** Edits of one worker's status message at most this often (Telegram allows ~1 edit/s per chat). */
const STATUS_EDIT_MS = 3000;

/** What a press or command decided, for the caller. */
export interface Decision {
  toast: string;
  view?: View;
}

const who = (c: Caller) => `${c.transport}:${c.userId}`;

/** One retry, switch or give-up of a chained worker, said in a line: "w3 retries gpt-5.2 in 1m 30s: rate_limit". */
export function fallbackNoticeText(worker: string, n: Pick<FallbackNotice, "action" | "from" | "to" | "reason" | "delayMs">): string {
  if (n.action === "retry") return `${worker} retries ${n.from}${n.delayMs ? ` in ${formatDuration(n.delayMs)}` : ""}: ${n.reason}`;
  return n.action === "fallback" ? `${worker} fell back from ${n.from} to ${n.to}: ${n.reason}` : `${worker} gave up after ${n.from}: ${n.reason}`;
}

/**
 * The workers as chat and CLI see them: spawn (or ask an admin to approve a non-admin's spawn), send,
 * interrupt, kill, resume, and the answers to permission prompts — each checked for admin rights here,
 * not only in menus. It posts each worker's status message (edited in place, throttled), its permission
 * prompts, its questions and its result into the worker's own place: a forum topic or thread opened with its
 * first message (kept in the worker row's `threads`), or the feed where a transport has none. A finished turn
 * that leaves the worker waiting for the user gets one short note, debounced, once per turn.
 */
export class WorkerOps implements RunnerListener {
  readonly store: WorkerStore;
  readonly requests: WorkerRequestStore;
  readonly runner: Runner;
  /** Hands a worker over to a fresh one when its context passes `handover.threshold` at a turn boundary. */
  readonly handover: HandoverOps;
  private readonly edits = new Map<string, { timer: NodeJS.Timeout | null; last: number; posting: Promise<void> | null }>();
  /** Each worker's places, opened once (the first message about it waits for them). */
  private readonly places = new Map<string, Promise<FeedPlace[]>>();
  /** The pending "waiting for you" note per worker, and the turn each worker was last noted for. */
  private readonly notes = new Map<string, NodeJS.Timeout>();
  private readonly noted = new Map<string, number>();
  /** How long a finished turn must stay waiting before the note goes out (a queued next turn or the exit come first). */
  waitingNoteMs = 1500;

  constructor(
    private readonly rt: Runtime,
    private readonly feed: Feed,
    options: { drivers?: Readonly<Partial<Record<Platform, Driver>>>; clock?: () => number } = {},
  ) {
    this.store = new WorkerStore(rt.db);
    this.requests = new WorkerRequestStore(rt.db);
    const drivers = (options.drivers ?? driversFor(rt.config)) as Record<Platform, Driver>;
    this.runner = new Runner({
      config: rt.config,
      log: rt.log,
      store: this.store,
      requests: this.requests,
      drivers,
      listener: this,
      gate: (agent) => this.quotaGate(agent),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.handover = new HandoverOps({
      db: rt.db,
      config: rt.config,
      log: rt.log,
      sessions: rt.sessions,
      spawn: (req) => this.runner.spawn(req),
      link: (id, old) =>
        this.store.update(id, { resumedFrom: old.id, threads: old.threads.length ? old.threads : (this.store.get(old.id)?.threads ?? []) }, Date.now()),
      post: async (w, text, tone) => {
        await this.note(w, { sections: [{ lines: [text] }], tone });
      },
      agentWindow: (w) => drivers[w.agent]?.contextWindow?.(w.model, w.contextTokens ?? 0, rt.config) ?? null,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  /** After a turn boundary settles (the row the runner left), checks for a handover; never throws. */
  private checkHandover(id: string, answer: string | null): void {
    setImmediate(() => {
      // A worker's last turn may end while asm stops: the store is closed by then, and there is nothing to hand over.
      if (this.stopped) return;
      const w = this.store.get(id);
      if (!w) return;
      this.handover.turnEnded(w, answer).catch((err) => this.rt.log.warn({ err, worker: id }, "handover failed"));
    });
  }

  /** Recovers workers a previous run left behind; call once at start, after the transports are attached. */
  start(): void {
    const r = this.runner.recover();
    if (r.failed.length || r.resumed.length) this.rt.log.info({ failed: r.failed, resumed: r.resumed }, "workers recovered after restart");
    // `asm spawn` from a shell queues into the same store; the bot starts what it finds.
    this.adopt = setInterval(() => {
      this.runner.adoptQueued();
      this.runner.tick();
    }, 2000);
    this.adopt.unref?.();
  }

  private adopt: NodeJS.Timeout | null = null;

  /** Set once `stop()` has run: nothing more may touch the store. */
  private stopped = false;

  async stop(): Promise<void> {
    if (this.adopt) clearInterval(this.adopt);
    await this.runner.stop();
    this.stopped = true;
    for (const e of this.edits.values()) if (e.timer) clearTimeout(e.timer);
    for (const t of this.notes.values()) clearTimeout(t);
    this.notes.clear();
  }

  /** A worker's context window, the one its handover acts on: its scanned session's, else runner.models', else the model tables'. */
  contextWindow(w: WorkerRow, session?: SessionRecord): number {
    return this.handover.windowOf(w, session);
  }

  /** The worker whose topic or thread this is (plain text typed there is its next turn), if any. */
  workerForThread(place: WorkerThread): string | undefined {
    return workerIdByThread(this.rt.db, place);
  }

  /**
   * "Continue as a worker" on a context alert: the session's memory saved, then a managed worker of the same agent
   * in the session's folder (which must be a configured workspace) with the memory as its first prompt. Admins start
   * it at once; an allowed non-admin's press becomes a spawn request for the admins, like `/spawn`.
   */
  async continueSession(caller: Caller, s: SessionRecord): Promise<{ worker?: WorkerRow; requestId?: number }> {
    const workspace = this.runner.workspaceFor(s.project);
    const saved = await saveMemory({ db: this.rt.db, config: this.rt.config, log: this.rt.log }, s);
    return this.spawn(caller, { agent: s.platform, workspace, prompt: handoverPrompt(saved.memory, saved.markdown), model: null });
  }

  /** `/spawn`: admins start at once; an allowed non-admin's request goes to the admins for approval. */
  async spawn(caller: Caller, req: Omit<SpawnRequest, "requestedBy">): Promise<{ worker?: WorkerRow; requestId?: number }> {
    this.runner.workspaceDir(req.workspace); // refuse a bad workspace before anyone is asked
    if (!caller.admin) {
      const now = Date.now();
      const r = this.requests.create({
        workerId: null,
        kind: "spawn",
        requestId: null,
        nonce: randomBytes(6).toString("hex"),
        payload: { ...req, requestedBy: who(caller) },
        now,
        expiresAt: now + this.rt.config.actions.expiryMinutes * 60_000,
      });
      this.rt.log.info({ audit: "worker.spawn.requested", by: who(caller), agent: req.agent, workspace: req.workspace, request: r.id }, "spawn requested");
      const refs = await this.feed.post(spawnRequestView(r));
      this.requests.setRefs(r.id, refs);
      return { requestId: r.id };
    }
    const w = this.runner.spawn({ ...req, requestedBy: who(caller) });
    this.rt.log.info({ audit: "worker.spawned", by: who(caller), worker: w.id, agent: w.agent, workspace: w.workspace }, "worker spawned");
    return { worker: w };
  }

  /** An Allow/Deny press on a permission prompt or an Approve/Deny on a spawn request. Single use, expiring, admins only. */
  async decide(caller: Caller, id: number, nonce: string, yes: boolean, message: MessageRef | null): Promise<Decision> {
    if (!caller.admin) return { toast: "Only an admin can decide this." };
    const r = this.requests.get(id);
    if (!r || r.nonce !== nonce) return { toast: "This request is no longer active." };
    if (message && r.messageRefs.length && !r.messageRefs.some((m) => m.transport === message.transport && m.messageId === message.messageId)) {
      return { toast: "This button does not belong to that request." };
    }
    const now = Date.now();
    if (r.expiresAt <= now) return { toast: "This request has expired." };
    const status = r.kind === "spawn" ? (yes ? "allowed" : "denied") : yes ? "allowed" : "denied";
    if (!this.requests.decide(r.id, nonce, status, who(caller), now)) return { toast: "Already decided." };
    this.rt.log.info({ audit: `worker.${r.kind}.${status}`, by: who(caller), request: r.id, worker: r.workerId }, "worker request decided");
    if (r.kind === "spawn") {
      if (!yes) return { toast: "Spawn denied.", view: { ...spawnRequestView(r), buttons: [], sections: [{ lines: [`Denied by ${who(caller)}`] }] } };
      const p = r.payload as unknown as SpawnRequest & { requestedBy: string };
      try {
        const w = this.runner.spawn({
          agent: p.agent,
          workspace: p.workspace,
          prompt: p.prompt,
          model: p.model ?? null,
          requestedBy: p.requestedBy,
          chain: p.chain ?? null,
        });
        return { toast: `Started ${w.id}.`, view: { title: `Spawn request #${r.id}`, sections: [{ lines: [`Approved by ${who(caller)}: ${w.id}`] }] } };
      } catch (err) {
        return { toast: err instanceof RunnerError ? err.message : "Could not start the worker." };
      }
    }
    const answered = this.runner.answer(r, yes, yes ? undefined : `Denied by ${who(caller)} from asm`);
    const w = r.workerId ? this.store.get(r.workerId) : undefined;
    const done: View = {
      title: `${r.workerId ?? "?"} ${String(r.payload.tool ?? "")}`,
      sections: [{ lines: [`${yes ? "Allowed" : "Denied"} by ${who(caller)}`, String(r.payload.detail ?? "").slice(0, 300)] }],
    };
    if (!answered) return { toast: `${w?.id ?? "The worker"} is no longer running; nothing was sent.`, view: done };
    return { toast: yes ? "Allowed." : "Denied.", view: done };
  }

  /**
   * `/send` and text typed in a worker's place: the answer to its open question when it has one (an agent that asked
   * waits for that answer, not for a new turn), else its next turn. Admins only.
   */
  sendOrAnswer(caller: Caller, id: string, text: string): { worker: WorkerRow; answered: boolean } {
    if (!caller.admin) throw new RunnerError(`Only an admin can send ${id} its next turn.`, "state");
    const r = this.runner.answerQuestion(id, text, who(caller));
    if (r) {
      this.rt.log.info({ audit: "worker.question.answered", by: who(caller), worker: id, request: r.id }, "worker question answered");
      this.settled(this.runner.get(id), r, "answered");
      return { worker: this.runner.get(id), answered: true };
    }
    return { worker: this.runner.send(id, text), answered: false };
  }

  /** A press on one of a question's options (`wq:<id>:<nonce>:<n>`): single use, expiring, admins only. */
  async choose(caller: Caller, id: number, nonce: string, option: number, message: MessageRef | null): Promise<Decision> {
    if (!caller.admin) return { toast: "Only an admin can answer this." };
    const r = this.requests.get(id);
    if (r?.kind !== "question" || r.nonce !== nonce) return { toast: "This question is no longer open." };
    if (message && r.messageRefs.length && !r.messageRefs.some((m) => m.transport === message.transport && m.messageId === message.messageId)) {
      return { toast: "This button does not belong to that question." };
    }
    const options = Array.isArray(r.payload.options) ? (r.payload.options as unknown[]).map(String) : [];
    const answer = options[option];
    if (answer === undefined) return { toast: "No such option." };
    if (r.expiresAt <= Date.now()) return { toast: "This question has expired." };
    if (!this.requests.decide(r.id, nonce, "answered", who(caller), Date.now(), answer)) return { toast: "Already answered." };
    this.rt.log.info({ audit: "worker.question.answered", by: who(caller), request: r.id, worker: r.workerId }, "worker question answered");
    const sent = this.runner.reply(r, { kind: "question", answer });
    const w = r.workerId ? this.store.get(r.workerId) : undefined;
    const view = workerRequestSettledView(w, r, `${sent ? "Answered" : "Not sent (it stopped)"}: ${answer} — ${who(caller)}`);
    return { toast: sent ? "Answered." : `${w?.id ?? "The worker"} is no longer running; nothing was sent.`, view };
  }

  // ── RunnerListener: what the chat sees ──────────────────────────────────────

  reminds(w: WorkerRow, r: WorkerRequestRow): void {
    void this.note(w, workerReminderView(w, r, Date.now())).catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not post the reminder"));
  }

  /** A request that ended without a press: its message loses its buttons and says how; an expiry is also said in the place. */
  settled(w: WorkerRow, r: WorkerRequestRow, how: "expired" | "cancelled" | "answered"): void {
    const outcome =
      how === "expired"
        ? `No answer in ${this.rt.config.runner.permissionTimeoutMinutes} min: ${r.kind === "question" ? "declined" : "denied"} by asm`
        : how === "cancelled"
          ? "Withdrawn: the worker no longer waits for it"
          : `Answered: ${String(this.requests.get(r.id)?.answer ?? "").slice(0, 200)}`;
    const view = workerRequestSettledView(w, r, outcome);
    const edits = r.messageRefs.map((ref) => this.feed.edit(ref, view));
    void Promise.all(edits).catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not edit the request message"));
    if (how === "expired") {
      this.rt.log.info({ audit: `worker.${r.kind}.expired`, worker: w.id, request: r.id }, "worker request expired");
      void this.note(w, { sections: [{ lines: [`${w.id}: ${outcome.charAt(0).toLowerCase()}${outcome.slice(1)}.`] }], tone: "warning" }).catch((err) =>
        this.rt.log.warn({ err, worker: w.id }, "could not post the expiry"),
      );
    }
  }

  changed(w: WorkerRow): void {
    if (isFinal(w.status)) return;
    this.scheduleStatus(w.id);
    const past = this.handover.interruptNow(w, w.sessionUid ? this.rt.sessions.get(w.sessionUid) : undefined);
    if (past) {
      this.rt.log.info(
        { audit: "worker.handover.interrupt", worker: w.id, percent: Math.round(past.percent) },
        "interrupting a worker past the critical context level",
      );
      void this.note(w, {
        sections: [{ lines: [`${w.id}: context ${Math.round(past.percent)}%, past the critical level: interrupting its turn to hand it over.`] }],
        tone: "warning",
      }).catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not post the interrupt notice"));
      try {
        this.runner.interrupt(w.id);
      } catch (err) {
        this.rt.log.warn({ err, worker: w.id }, "could not interrupt for the handover");
      }
    }
  }

  asks(w: WorkerRow, r: Parameters<RunnerListener["asks"]>[1]): void {
    void this.post(w, workerRequestView(w, r))
      .then((refs) => this.requests.setRefs(r.id, refs))
      .catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not post the worker's request"));
  }

  /**
   * The quota check's open alerts about an agent's provider (`quota:<platform>:…`) hold its new workers back:
   * starting more work on a provider that is out of quota only burns the rest.
   */
  private quotaGate(agent: Platform): string | null {
    const a = new AlertStore(this.rt.db).open().find((x) => x.check === "quota" && x.status === "firing" && x.subject.split(":").includes(agent));
    return a ? `quota low: ${a.summary}` : null;
  }

  held(w: WorkerRow, reason: string): void {
    void this.note(w, { sections: [{ lines: [`${w.id} waits to start: ${reason}. It starts when the quota recovers.`] }], tone: "warning" }).catch((err) =>
      this.rt.log.warn({ err, worker: w.id }, "could not post the hold notice"),
    );
  }

  /** Every retry and switch of a chained worker is said in its place: "fell back from X to Y: rate limited". */
  fellBack(w: WorkerRow, n: FallbackNotice): void {
    void this.note(w, { sections: [{ lines: [fallbackNoticeText(w.id, n)] }], tone: n.action === "give_up" ? "critical" : "warning" }).catch((err) =>
      this.rt.log.warn({ err, worker: w.id }, "could not post the fallback notice"),
    );
  }

  turnEnded(w: WorkerRow, answer: string | null): void {
    this.scheduleStatus(w.id);
    this.scheduleWaitingNote(w, answer);
    this.checkHandover(w.id, answer);
  }

  finished(w: WorkerRow): void {
    if (w.status === "completed" || w.status === "interrupted") this.checkHandover(w.id, null);
    const e = this.edits.get(w.id);
    if (e?.timer) clearTimeout(e.timer);
    const post = async () => {
      await e?.posting;
      await this.editStatus(w.id);
      const now = this.store.get(w.id) ?? w;
      const session = now.sessionUid ? this.rt.sessions.get(now.sessionUid) : undefined;
      await this.note(now, workerResultView(now, Date.now(), session, this.contextWindow(now, session)));
    };
    void post().catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not post the worker result"));
  }

  private scheduleStatus(id: string) {
    let e = this.edits.get(id);
    if (!e) {
      e = { timer: null, last: 0, posting: null };
      this.edits.set(id, e);
    }
    if (e.timer) return;
    const wait = Math.max(0, e.last + STATUS_EDIT_MS - Date.now());
    const entry = e;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.last = Date.now();
      entry.posting = this.editStatus(id).catch((err) => this.rt.log.warn({ err, worker: id }, "could not update the worker status"));
    }, wait);
    entry.timer.unref?.();
  }

  /** Posts the status message the first time, edits it afterwards. */
  private async editStatus(id: string): Promise<void> {
    const w = this.store.get(id);
    if (!w) return;
    const session = w.sessionUid ? this.rt.sessions.get(w.sessionUid) : undefined;
    const view = workerStatusView(w, session, Date.now(), undefined, this.contextWindow(w, session));
    if (w.statusRefs.length === 0) {
      const refs = await this.post(w, view);
      this.store.update(id, { statusRefs: refs }, Date.now());
    } else {
      for (const ref of w.statusRefs) await this.feed.edit(ref, view);
    }
  }

  /**
   * Posts a message about a worker into its places (its topic or thread; the feed where it has none), now:
   * for the messages asm edits later (the status, a request's buttons), which need their refs at once.
   */
  private async post(w: WorkerRow, view: View): Promise<MessageRef[]> {
    return this.feed.postTo(view, await this.placesOf(w));
  }

  /**
   * Posts a message about a worker that must not be lost (its result, a notice, a reminder) through the durable
   * outbox: retried while a chat API is down or slow, in order per worker, as alerts are.
   */
  private async note(w: WorkerRow, view: View): Promise<void> {
    await this.feed.postDurably(view, await this.placesOf(w), `worker:${w.id}`);
  }

  /**
   * Where a worker's messages go: the places kept in its row, else opened now (once per worker, whoever asks
   * first) and kept there. A transport that cannot open one is simply not in the list.
   */
  private placesOf(w: WorkerRow): Promise<FeedPlace[]> {
    let p = this.places.get(w.id);
    if (!p) {
      const kept = this.store.get(w.id)?.threads ?? w.threads;
      p = kept.length
        ? Promise.resolve(kept)
        : this.feed.openThreads({ title: workerThreadTitle(w), tag: w.id }).then((opened) => {
            if (opened.length) {
              this.store.update(w.id, { threads: opened }, Date.now());
              this.rt.log.info({ worker: w.id, threads: opened }, "worker threads opened");
            }
            return opened;
          });
      this.places.set(w.id, p);
    }
    return p;
  }

  /**
   * "w3 is waiting for you: …" once per turn, when the turn's end leaves the worker waiting for the user a
   * moment later. Not when the worker finished meanwhile (its result says it), nor when a message sent during
   * the turn was taken as the next one; a permission request or a question is its own message already.
   */
  private scheduleWaitingNote(w: WorkerRow, answer: string | null): void {
    const turn = w.turns;
    if (this.noted.get(w.id) === turn) return;
    const pending = this.notes.get(w.id);
    if (pending) clearTimeout(pending);
    const timer = setTimeout(() => {
      this.notes.delete(w.id);
      const now = this.store.get(w.id);
      if (now?.status !== "waiting-for-input" || now.waitingReason !== "turn-finished" || now.turns !== turn) return;
      if (this.noted.get(w.id) === turn) return;
      this.noted.set(w.id, turn);
      void this.note(now, workerWaitingView(now, answer)).catch((err) => this.rt.log.warn({ err, worker: w.id }, "could not post the waiting note"));
    }, this.waitingNoteMs);
    timer.unref?.();
    this.notes.set(w.id, timer);
  }
}
