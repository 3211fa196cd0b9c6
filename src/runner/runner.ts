import { realpathSync, statSync } from "node:fs";
import type { Reply } from "../agents/driver.ts";
import { agentOf } from "../agents/registry.ts";
import { type Platform, sessionUid } from "../agents/session.ts";
import { BreakerStore } from "../store/breakers.ts";
import { FallbackStore } from "../store/fallback.ts";
import { isFinal, type WorkerRequestRow, type WorkerRow, type WorkerStatus } from "../store/workers.ts";
import { type Run, type RunnerContext, type RunnerDeps, RunnerError, type RunnerListener } from "./context.ts";
import { askToStop, graceKill } from "./control.ts";
import { FallbackChain } from "./fallback/chain.ts";
import { processStartTime, signalGroup } from "./process.ts";
import { WorkQueue } from "./queue.ts";
import { recoverWorkers } from "./recovery.ts";
import { answerQuestion, sendReply } from "./requests.ts";
import { type RunHooks, startRun } from "./run.ts";

export { RunnerError, type RunnerListener } from "./context.ts";

/** What `/spawn`, `asm spawn`, a resume, a handover or a gateway repair asks the runner to start. */
export interface SpawnRequest {
  agent: Platform;
  workspace: string;
  prompt: string;
  model?: string | null;
  requestedBy?: string | null;
  /** Model ids from `runner.models` to run on, in order (the first is used now); empty or absent = no fallback. */
  chain?: string[] | null;
  /** Resume this finished worker's agent session in a new worker linked to it. */
  resumeOf?: string | null;
  /**
   * A folder asm itself chose (the OpenClaw state folder for a gateway repair), used instead of a workspace.
   * Chat and CLI requests never set it: they name a workspace from `runner.workspaces`.
   */
  internalDir?: string;
}

/**
 * Managed workers: starts agent CLIs through their drivers, in configured workspaces only, each in its own
 * process group; reads their events into statuses, tokens and answers; answers their permission prompts;
 * interrupts, kills and resumes them; queues past `runner.maxConcurrent`; fails a wedged turn; and after a
 * restart of asm leaves no ghost `running` row and no orphan process.
 *
 * A worker is a conversation: each turn is one run of the CLI (Claude keeps its process for the turn and
 * takes messages sent meanwhile on stdin), and `/send` on a finished worker continues its agent session.
 */
export class Runner {
  private readonly runs = new Map<string, Run>();
  private readonly queue: WorkQueue;
  private readonly ctx: RunnerContext;
  private readonly chainOps: FallbackChain;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** This asm process, as recorded in the rows it runs. */
  private readonly owner = `${process.pid}:${processStartTime(process.pid) ?? "?"}`;
  /** Who hears about the workers; set after construction by an owner that is built later (else `deps.listener`). */
  listener: RunnerListener | undefined;

  constructor(private readonly deps: RunnerDeps) {
    this.ctx = {
      deps,
      cfg: deps.config.runner,
      runs: this.runs,
      now: () => this.now,
      get: (id) => this.get(id),
      notify: (k, ...args) => this.notify(k, ...args),
      setStatus: (id, status, waitingReason, waitingDetail = null) =>
        deps.store.update(id, { status, waitingReason, waitingDetail: waitingReason ? waitingDetail : null, remindedAt: null }, this.now),
    };
    const hooks: RunHooks = {
      owner: this.owner,
      concluded: (id, status) => this.concluded(id, status),
      nextTurn: (id, prompt) => this.queue.next(id, prompt),
    };
    this.queue = new WorkQueue(this.ctx, (w, prompt) => startRun(this.ctx, hooks, w, prompt));
    this.chainOps = new FallbackChain({
      config: deps.config,
      log: deps.log,
      workers: deps.store,
      breakers: new BreakerStore(deps.store.db),
      decisions: new FallbackStore(deps.store.db),
      clock: () => this.now,
      requeue: (worker, prompt, delayMs) => {
        if (delayMs <= 0) return this.queue.enqueue(worker, prompt);
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.queue.enqueue(worker, prompt);
        }, delayMs);
        t.unref?.();
        this.timers.add(t);
      },
      notice: (w, n) => this.notify("fellBack", w, n),
    });
  }

  private get now() {
    return (this.deps.clock ?? Date.now)();
  }
  private get cfg() {
    return this.deps.config.runner;
  }
  private notify<K extends keyof RunnerListener>(k: K, ...args: Parameters<NonNullable<RunnerListener[K]>>) {
    const l = this.listener ?? this.deps.listener;
    try {
      (l?.[k] as ((...a: unknown[]) => void) | undefined)?.(...args);
    } catch (err) {
      this.deps.log.warn({ err, event: k }, "worker listener failed");
    }
  }

  /** Each model's breaker now, for `/fallback`. */
  breaker(model: string) {
    return this.chainOps.breaker(model);
  }

  /** The absolute folder of a configured workspace, or a RunnerError naming the ones there are. */
  workspaceDir(name: string): string {
    const dir = Object.hasOwn(this.cfg.workspaces, name) ? this.cfg.workspaces[name] : undefined;
    const known = Object.keys(this.cfg.workspaces);
    if (!dir) {
      throw new RunnerError(
        known.length
          ? `no workspace "${name}"; configured: ${known.join(", ")}`
          : "no workspaces are configured: add runner.workspaces (name → folder) to the config",
        "workspace",
      );
    }
    try {
      if (!statSync(dir).isDirectory()) throw new Error("not a folder");
      return realpathSync(dir);
    } catch (err) {
      throw new RunnerError(`workspace "${name}" (${dir}) is not a usable folder: ${(err as Error).message}`, "workspace");
    }
  }

  /** The configured workspace whose folder is `dir` (symlinks followed), or a RunnerError saying none is. */
  workspaceFor(dir: string | null): string {
    const real = (p: string) => {
      try {
        return realpathSync(p);
      } catch {
        return null;
      }
    };
    const want = dir ? real(dir) : null;
    const name = want ? Object.keys(this.cfg.workspaces).find((n) => real(this.cfg.workspaces[n]!) === want) : undefined;
    if (!name) throw new RunnerError(`${dir ?? "its folder"} is not a configured workspace (runner.workspaces); a worker can only run in one`, "workspace");
    return name;
  }

  private internalDir(dir: string): string {
    try {
      if (!statSync(dir).isDirectory()) throw new Error("not a folder");
      return realpathSync(dir);
    } catch (err) {
      throw new RunnerError(`${dir} is not a usable folder: ${(err as Error).message}`, "workspace");
    }
  }

  /**
   * Creates a worker and starts it (or queues it when `maxConcurrent` run already). With `start: false` it
   * is only queued in the store, for the running bot to pick up (`asm spawn` without `--wait`).
   */
  spawn(req: SpawnRequest, opts: { start?: boolean } = {}): WorkerRow {
    const driver = this.deps.drivers[req.agent];
    if (!driver) throw new RunnerError(`no driver for ${req.agent}`, "agent");
    const prompt = req.prompt.trim();
    if (!prompt) throw new RunnerError("the prompt is empty", "argument");
    const cwd = req.internalDir ? this.internalDir(req.internalDir) : this.workspaceDir(req.workspace);
    let sessionId: string | null = null;
    if (req.resumeOf) {
      const prev = this.get(req.resumeOf);
      if (!isFinal(prev.status)) throw new RunnerError(`${prev.id} is still ${prev.status}; /send continues it, /resume is for finished workers`, "state");
      if (!prev.sessionId) throw new RunnerError(`${prev.id} never reported an agent session id, so there is nothing to resume`, "state");
      sessionId = prev.sessionId;
    }
    let agent = req.agent;
    let model = req.model ?? this.cfg.drivers[req.agent].model ?? null;
    const chain = req.chain?.length ? [...req.chain] : [];
    if (chain.length) {
      const unknown = chain.filter((m) => !Object.hasOwn(this.cfg.models, m));
      if (unknown.length) throw new RunnerError(`not in runner.models: ${unknown.join(", ")}`, "argument");
      // An agent with its own failover chain (OpenClaw): a second one stacked on it would retry what it already retried.
      const own = chain.filter((m) => agentOf(this.cfg.models[m]!.driver).capabilities.ownFailover);
      if (own.length && chain.length > 1) {
        const names = [...new Set(own.map((m) => agentOf(this.cfg.models[m]!.driver).displayName))].join(", ");
        throw new RunnerError(`${own.join(", ")} run on ${names}, which falls back on its own; leave them out of a chain`, "argument");
      }
      const first = this.cfg.models[chain[0]!]!;
      agent = first.driver;
      model = first.model;
      if (!this.deps.drivers[agent]) throw new RunnerError(`no driver for ${agent}`, "agent");
    }
    const w = this.deps.store.insert({
      id: this.deps.store.nextId(),
      agent,
      model,
      workspace: req.workspace,
      cwd,
      prompt,
      resumedFrom: req.resumeOf ?? null,
      requestedBy: req.requestedBy ?? null,
      sessionId,
      now: this.now,
    });
    if (sessionId) this.deps.store.update(w.id, { sessionUid: sessionUid(agent, null, sessionId) }, this.now);
    if (chain.length) this.deps.store.update(w.id, { chain }, this.now);
    if (opts.start !== false) this.queue.enqueue(w.id, prompt);
    return this.get(w.id);
  }

  /** A worker by id, or a RunnerError. */
  get(id: string): WorkerRow {
    const w = this.deps.store.get(id);
    if (!w) throw new RunnerError(`no worker ${id}`, "not-found");
    return w;
  }

  /** The next turn: written to a live multi-turn process, else a new run resuming the agent session. */
  send(id: string, text: string): WorkerRow {
    const w = this.get(id);
    const prompt = text.trim();
    if (!prompt) throw new RunnerError("the message is empty", "argument");
    const run = this.runs.get(id);
    if (run) {
      if (run.intent && run.intent !== "close") throw new RunnerError(`${id} is stopping; send again when it has stopped`, "state");
      // Taken at the turn's end: written to the same process (multi-turn), or the next run resumes with it.
      run.pendingTurns.push(prompt);
      this.deps.store.addEvent(id, this.now, { type: "other", kind: "user-turn-queued" });
      return this.get(id);
    }
    if (w.status === "queued") throw new RunnerError(`${id} has not started yet`, "state");
    if (!w.sessionId) throw new RunnerError(`${id} has no agent session to continue (it failed before its CLI started one); use /spawn`, "state");
    this.deps.store.update(
      id,
      { status: "queued", waitingReason: null, exitCode: null, signal: null, errorClass: null, errorMessage: null, endedAt: null },
      this.now,
    );
    this.queue.enqueue(id, prompt);
    return this.get(id);
  }

  /** A new worker continuing a finished one's agent session (the chain C → B → A). */
  resume(id: string, prompt: string | null, requestedBy: string | null): WorkerRow {
    const prev = this.get(id);
    return this.spawn({
      agent: prev.agent,
      workspace: prev.workspace,
      prompt: prompt?.trim() || "Continue where you left off.",
      model: prev.model,
      requestedBy,
      resumeOf: prev.id,
    });
  }

  /** Answers a permission request of a live worker. False when it no longer runs. */
  answer(r: WorkerRequestRow, allow: boolean, message?: string): boolean {
    return this.reply(r, { kind: "permission", allow, ...(message ? { message } : {}) });
  }

  /**
   * Sends an answer to a live worker's request (the row must already be decided in the store: single use is the
   * store's job). Through its protocol session, else the driver's stdin encoding. False when it no longer runs or
   * its CLI cannot take this kind of answer.
   */
  reply(r: WorkerRequestRow, reply: Reply): boolean {
    return sendReply(this.ctx, r, reply);
  }

  /** Answers a worker's open question with typed text (a reply in its topic). False when it has none open. */
  answerQuestion(workerId: string, text: string, by: string): WorkerRequestRow | null {
    return answerQuestion(this.ctx, workerId, text, by);
  }

  /**
   * Asks the worker to stop its turn: the protocol's interrupt where there is one, else SIGINT to its group;
   * SIGKILL after `runner.interruptGraceSeconds`. Recorded as our intent, since some CLIs exit 0 on SIGINT.
   */
  interrupt(id: string): WorkerRow {
    const w = this.get(id);
    const run = this.runs.get(id);
    if (!run) {
      if (w.status === "queued") return this.finishQueued(id, "interrupted");
      throw new RunnerError(`${id} is not running (${w.status})`, "state");
    }
    run.intent = "interrupt";
    askToStop(this.ctx, run);
    graceKill(run, this.cfg.interruptGraceSeconds * 1000);
    return this.get(id);
  }

  /** SIGKILL to the worker's process group, at once. */
  kill(id: string): WorkerRow {
    const w = this.get(id);
    const run = this.runs.get(id);
    if (!run) {
      if (w.status === "queued") return this.finishQueued(id, "killed");
      throw new RunnerError(`${id} is not running (${w.status})`, "state");
    }
    run.intent = "kill";
    signalGroup(run.child.pid, "SIGKILL");
    return this.get(id);
  }

  /** Workers running or waiting now. */
  get active(): number {
    return this.runs.size;
  }

  /** Resolves when the worker reaches a final status (for `asm spawn --wait`). */
  async waitFor(id: string, pollMs = 100): Promise<WorkerRow> {
    for (;;) {
      const w = this.get(id);
      if (isFinal(w.status) && !this.runs.has(id) && !this.queue.has(id)) return w;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * After asm restarts: a worker left starting/running/waiting whose process is gone is failed with the reason
   * and offered for resume; a live orphan with our marker (env var + start time, so a reused pid is never
   * touched) is killed and its session resumed. Queued workers start.
   */
  recover(): { failed: string[]; resumed: string[] } {
    return recoverWorkers(this.ctx, this.queue, this.owner);
  }

  /** Takes up workers another process queued in the store (`asm spawn` while the bot runs). */
  adoptQueued(): number {
    let n = 0;
    for (const w of this.deps.store.withStatus(["queued"])) {
      if (this.runs.has(w.id)) continue;
      if (w.notBefore !== null && w.notBefore > this.now) continue; // a retry waiting out its delay
      if (this.queue.adopt(w)) n++;
    }
    if (n) this.queue.pump();
    return n;
  }

  /** On a clean stop: running workers are interrupted (recorded as such), queued ones stay queued. */
  async stop(): Promise<void> {
    this.queue.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const runs = [...this.runs.values()];
    for (const run of runs) {
      run.intent = "shutdown";
      askToStop(this.ctx, run);
      graceKill(run, this.cfg.interruptGraceSeconds * 1000);
    }
    await Promise.all(runs.map((r) => r.done));
  }

  /** Starts what can start now (after a gate opened or a delay ran out); the owner calls it periodically. */
  tick(): void {
    this.queue.pump();
  }

  private finishQueued(id: string, status: WorkerStatus): WorkerRow {
    this.queue.remove(id);
    this.deps.store.update(id, { status, endedAt: this.now }, this.now);
    const w = this.get(id);
    this.notify("finished", w);
    return w;
  }

  /** A run ended: on a chained worker, success closes the model's breaker and a failure may fall back. */
  private concluded(id: string, status: WorkerStatus) {
    const w = this.get(id);
    if (w.chain.length && (status === "completed" || status === "failed")) {
      const model = w.chain[w.chainIndex]!;
      if (status === "completed") this.chainOps.succeeded(model);
      else if (this.chainOps.failed(w)) {
        this.queue.pump();
        return;
      }
    }
    this.notify("finished", this.get(id));
    this.queue.pump();
  }
}
