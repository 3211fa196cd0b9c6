import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver, ProtocolSession, Reply, WorkerEvent } from "../agents/driver.ts";
import { classifyError, type ErrorReason } from "../agents/error-reason.ts";
import { agentOf } from "../agents/registry.ts";
import { type Platform, sessionUid } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { BreakerStore } from "../store/breakers.ts";
import { FallbackStore } from "../store/fallback.ts";
import {
  isFinal,
  type WaitingReason,
  type WorkerRequestRow,
  type WorkerRequestStore,
  type WorkerRow,
  type WorkerStatus,
  type WorkerStore,
} from "../store/workers.ts";
import { autoResponse } from "./auto-respond.ts";
import { FallbackChain, type FallbackNotice } from "./fallback/chain.ts";
import { LineSplitter, Tail } from "./lines.ts";
import { type ChildHandle, isOurProcess, ownerAlive, processStartTime, SpawnError, signalGroup, startChild } from "./process.ts";

/** What the runner tells the rest of asm (the core posts it to the chat). */
export interface RunnerListener {
  /** Status, tokens, last tool or turn count changed (called often; the listener throttles). */
  changed(w: WorkerRow): void;
  /** The worker asks an admin to decide (a permission prompt or a question). */
  asks(w: WorkerRow, r: WorkerRequestRow): void;
  /** A turn ended (the worker may continue with the next message). */
  turnEnded(w: WorkerRow, answer: string | null): void;
  /** The worker reached a final status. */
  finished(w: WorkerRow): void;
  /** A chained worker retries its model or falls back to the next one. */
  fellBack?(w: WorkerRow, n: FallbackNotice): void;
  /** A queued worker waits because of the gate (quota low), said once per worker. */
  held?(w: WorkerRow, reason: string): void;
  /** A request still waits for a person after `runner.waitingReminderMinutes` (said once per request). */
  reminds?(w: WorkerRow, r: WorkerRequestRow): void;
  /**
   * A request was settled without a person's press: `expired` (nobody answered in time: denied), `cancelled` (the agent
   * withdrew it, or the run ended), `answered` (a reply typed in the worker's place). The message that asked can say so.
   */
  settled?(w: WorkerRow, r: WorkerRequestRow, how: "expired" | "cancelled" | "answered"): void;
}

/** A request the runner refuses, with a message a person can act on. */
export class RunnerError extends Error {
  constructor(
    message: string,
    readonly code: "workspace" | "agent" | "not-found" | "state" | "argument",
  ) {
    super(message);
    this.name = "RunnerError";
  }
}

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

/** What one live run of a worker's CLI holds. */
interface Run {
  worker: string;
  driver: Driver;
  child: ChildHandle;
  /**
   * Why we are ending it, when we are: recorded before the signal so the exit is read right. `close`: the turn
   * ended and no other is pending, so a protocol CLI is let go; `protocol`: its session could not go on.
   */
  intent: "interrupt" | "kill" | "stall" | "no-init" | "shutdown" | "close" | "protocol" | null;
  /** The protocol conversation, for drivers that have one (`Driver.openSession`). */
  session: ProtocolSession | null;
  /** Reminder and expiry timers of its open requests. */
  requestTimers: Set<NodeJS.Timeout>;
  /** Fires when a chained worker shows no sign of life (no init event) within `runner.fallback.timeoutSeconds`. */
  initTimer: NodeJS.Timeout | null;
  stall: NodeJS.Timeout | null;
  grace: NodeJS.Timeout | null;
  stderr: Tail;
  output: Tail;
  /** Output of drivers whose stdout is one document (parsed at exit). */
  whole: string[];
  sawInit: boolean;
  lastError: { reason: string; message: string } | null;
  lastTurnOk: boolean | null;
  /** User turns sent while the CLI was busy: written at the turn's end (multi-turn), or run next. */
  pendingTurns: string[];
  stdinClosed: boolean;
  /** The usage of the turn in progress; added to the worker's totals when the turn ends. */
  turnUsage: Extract<WorkerEvent, { type: "usage" }> | null;
  promptDir: string | null;
  done: Promise<void>;
}

const STDERR_TAIL = 8 * 1024;

/** What a waiting worker waits for, short enough for a status line: `permission: Bash(npm test)`, `question: …`. */
export function waitingText(e: Extract<WorkerEvent, { type: "permission" | "question" }>): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const flat = (s: string) => s.replace(/\s+/g, " ").trim();
  return e.type === "permission" ? cut(`permission: ${e.tool}${e.detail ? `(${flat(e.detail)})` : ""}`, 80) : cut(`question: ${flat(e.text)}`, 80);
}
const OUTPUT_TAIL = 4 * 1024;

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
  private readonly queue: { worker: string; prompt: string }[] = [];
  private stopping = false;
  private readonly chainOps: FallbackChain;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Queued workers the gate holds back (told once). */
  private readonly held = new Set<string>();
  /** This asm process, as recorded in the rows it runs. */
  private readonly owner = `${process.pid}:${processStartTime(process.pid) ?? "?"}`;

  constructor(
    private readonly deps: {
      config: Config;
      log: Logger;
      store: WorkerStore;
      requests: WorkerRequestStore;
      drivers: Readonly<Record<Platform, Driver>>;
      listener?: RunnerListener;
      clock?: () => number;
      /**
       * Why new runs of an agent must wait now (its provider's quota is low), or null. Queued workers of that
       * agent stay queued and start when it answers null again; running ones are not touched.
       */
      gate?: (agent: Platform) => string | null;
    },
  ) {
    this.chainOps = new FallbackChain({
      config: deps.config,
      log: deps.log,
      workers: deps.store,
      breakers: new BreakerStore(deps.store.db),
      decisions: new FallbackStore(deps.store.db),
      clock: () => this.now,
      requeue: (worker, prompt, delayMs) => {
        if (delayMs <= 0) return this.enqueue(worker, prompt);
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.enqueue(worker, prompt);
        }, delayMs);
        t.unref?.();
        this.timers.add(t);
      },
      notice: (w, n) => this.notify("fellBack", w, n),
    });
  }

  /** Each model's breaker now, for `/fallback`. */
  breaker(model: string) {
    return this.chainOps.breaker(model);
  }

  private get now() {
    return (this.deps.clock ?? Date.now)();
  }
  private get cfg() {
    return this.deps.config.runner;
  }
  listener: RunnerListener | undefined;
  private notify<K extends keyof RunnerListener>(k: K, ...args: Parameters<NonNullable<RunnerListener[K]>>) {
    const l = this.listener ?? this.deps.listener;
    try {
      (l?.[k] as ((...a: unknown[]) => void) | undefined)?.(...args);
    } catch (err) {
      this.deps.log.warn({ err, event: k }, "worker listener failed");
    }
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
    if (opts.start !== false) this.enqueue(w.id, prompt);
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
    this.enqueue(id, prompt);
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
    const run = r.workerId ? this.runs.get(r.workerId) : undefined;
    if (!run || !r.requestId) return false;
    if (run.session) {
      const session = run.session;
      this.guard(run, () => session.reply(r.requestId!, reply));
    } else if (run.driver.encodeReply) {
      this.write(run, run.driver.encodeReply(r.requestId, reply, r.payload.input));
    } else if (reply.kind === "permission" && run.driver.encodePermission) {
      this.write(run, run.driver.encodePermission(r.requestId, reply.allow, r.payload.input, reply.message));
    } else return false;
    const kind =
      reply.kind === "permission"
        ? reply.allow
          ? "permission-allowed"
          : "permission-denied"
        : reply.answer === null
          ? "question-declined"
          : "question-answered";
    this.deps.store.addEvent(run.worker, this.now, { type: "other", kind });
    this.afterRequest(run);
    return true;
  }

  /** Answers a worker's open question with typed text (a reply in its topic). False when it has none open. */
  answerQuestion(workerId: string, text: string, by: string): WorkerRequestRow | null {
    const r = this.deps.requests.pending(workerId).find((x) => x.kind === "question");
    if (!r || !this.deps.requests.decide(r.id, null, "answered", by, this.now, text)) return null;
    if (!this.reply(r, { kind: "question", answer: text })) return null;
    return this.deps.requests.get(r.id) ?? r;
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
    this.askToStop(run);
    this.graceKill(run, this.cfg.interruptGraceSeconds * 1000);
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
      if (isFinal(w.status) && !this.runs.has(id) && !this.queue.some((q) => q.worker === id)) return w;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * After asm restarts: a worker left starting/running/waiting whose process is gone is failed with the reason
   * and offered for resume; a live orphan with our marker (env var + start time, so a reused pid is never
   * touched) is killed and its session resumed. Queued workers start.
   */
  recover(): { failed: string[]; resumed: string[] } {
    const failed: string[] = [];
    const resumed: string[] = [];
    for (const w of this.deps.store.withStatus(["starting", "running", "waiting-for-input"])) {
      if (this.runs.has(w.id)) continue;
      if (w.owner && w.owner !== this.owner && ownerAlive(w.owner)) continue; // another live asm runs it
      const orphan = w.pid !== null && isOurProcess(w.pid, w.pidStart, w.id);
      if (orphan) signalGroup(w.pid!, "SIGKILL");
      this.deps.requests.closeFor(w.id, this.now);
      if (orphan && w.sessionId) {
        this.deps.store.addEvent(w.id, this.now, { type: "other", kind: "orphan-stopped" });
        this.deps.store.update(w.id, { status: "queued", waitingReason: null, pid: null, pidStart: null }, this.now);
        this.enqueue(w.id, "asm restarted while you were working; continue where you left off.");
        resumed.push(w.id);
      } else {
        this.deps.store.update(
          w.id,
          { status: "failed", errorClass: "restart", errorMessage: "asm restarted while it ran", waitingReason: null, endedAt: this.now, pid: null },
          this.now,
        );
        failed.push(w.id);
        this.notify("finished", this.get(w.id));
      }
    }
    for (const w of this.deps.store.withStatus(["queued"])) {
      if (!this.queue.some((q) => q.worker === w.id)) this.queue.push({ worker: w.id, prompt: w.prompt });
    }
    this.pump();
    return { failed, resumed };
  }

  /** Takes up workers another process queued in the store (`asm spawn` while the bot runs). */
  adoptQueued(): number {
    let n = 0;
    for (const w of this.deps.store.withStatus(["queued"])) {
      if (this.runs.has(w.id) || this.queue.some((q) => q.worker === w.id)) continue;
      if (w.notBefore !== null && w.notBefore > this.now) continue; // a retry waiting out its delay
      this.queue.push({ worker: w.id, prompt: w.prompt });
      n++;
    }
    if (n) this.pump();
    return n;
  }

  /** On a clean stop: running workers are interrupted (recorded as such), queued ones stay queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const runs = [...this.runs.values()];
    for (const run of runs) {
      run.intent = "shutdown";
      this.askToStop(run);
      this.graceKill(run, this.cfg.interruptGraceSeconds * 1000);
    }
    await Promise.all(runs.map((r) => r.done));
  }

  /** The protocol's interrupt where there is one, else SIGINT to the group. */
  private askToStop(run: Run) {
    if (run.session) {
      const session = run.session;
      this.guard(run, () => session.interrupt());
    } else if (run.driver.encodeInterrupt && run.child.stdin) this.write(run, run.driver.encodeInterrupt(`req_asm_${randomBytes(4).toString("hex")}`));
    else signalGroup(run.child.pid, "SIGINT");
  }

  // ── scheduling ──────────────────────────────────────────────────────────────

  private enqueue(worker: string, prompt: string) {
    this.queue.push({ worker, prompt });
    this.pump();
    const w = this.get(worker);
    if (w.status === "queued") this.notify("changed", w);
  }

  /** Starts queued workers while slots are free; one run per agent session at a time. */
  private pump() {
    if (this.stopping) return;
    for (let i = 0; i < this.queue.length && this.runs.size < this.cfg.maxConcurrent; ) {
      const q = this.queue[i]!;
      const w = this.deps.store.get(q.worker);
      if (w?.status !== "queued") {
        this.queue.splice(i, 1);
        continue;
      }
      const busy = w.sessionId !== null && [...this.runs.values()].some((r) => this.deps.store.get(r.worker)?.sessionId === w.sessionId);
      if (busy) {
        i++;
        continue;
      }
      const held = this.deps.gate?.(w.agent) ?? null;
      if (held) {
        if (!this.held.has(w.id)) {
          this.held.add(w.id);
          this.deps.store.addEvent(w.id, this.now, { type: "other", kind: `held: ${held}` });
          this.notify("held", this.get(w.id), held);
        }
        i++;
        continue;
      }
      this.held.delete(w.id);
      this.queue.splice(i, 1);
      this.startRun(w, q.prompt);
    }
  }

  /** Starts what can start now (after a gate opened or a delay ran out); the owner calls it periodically. */
  tick(): void {
    this.pump();
  }

  private finishQueued(id: string, status: WorkerStatus): WorkerRow {
    const i = this.queue.findIndex((q) => q.worker === id);
    if (i >= 0) this.queue.splice(i, 1);
    this.deps.store.update(id, { status, endedAt: this.now }, this.now);
    const w = this.get(id);
    this.notify("finished", w);
    return w;
  }

  // ── one run ─────────────────────────────────────────────────────────────────

  private startRun(w: WorkerRow, prompt: string) {
    if (!this.deps.store.claim(w.id, this.owner, this.now)) return; // another asm process took it
    const driver = this.deps.drivers[w.agent];
    const dcfg = this.cfg.drivers[w.agent];
    let spec: ReturnType<Driver["runSpec"]>;
    try {
      if (w.sessionId && !driver.sessionIdPattern.test(w.sessionId))
        throw new RunnerError(`session id ${JSON.stringify(w.sessionId)} is not a valid ${w.agent} id`, "argument");
      spec = driver.runSpec({
        resumeSessionId: w.sessionId,
        newSessionId: w.sessionId ? null : randomUUID(),
        model: w.model,
        cwd: w.cwd,
        permissionMode: dcfg.permissionMode,
      });
    } catch (err) {
      this.fail(w.id, "spawn", (err as Error).message);
      return;
    }
    let promptDir: string | null = null;
    // A driver that runs a helper asm ships (the OpenClaw gateway bridge) names its program itself.
    const argv = [...(spec.command ?? dcfg.command ?? driver.defaultCommand), ...spec.args];
    if (spec.prompt === "file") {
      promptDir = mkdtempSync(join(tmpdir(), "asm-prompt-"));
      const file = join(promptDir, "prompt.txt");
      writeFileSync(file, prompt, { mode: 0o600 });
      argv.push(spec.promptFileFlag ?? "--message-file", file);
    }
    let child: ChildHandle;
    try {
      // PWD too: some CLIs (OpenCode) take their project folder from it rather than from where they start.
      child = startChild(argv, w.cwd, { ...dcfg.env, ...(spec.env ?? {}), PWD: w.cwd }, w.id);
    } catch (err) {
      if (promptDir) rmSync(promptDir, { recursive: true, force: true });
      this.fail(w.id, "spawn", err instanceof SpawnError ? err.message : String(err));
      return;
    }
    const run: Run = {
      worker: w.id,
      driver,
      child,
      intent: null,
      initTimer: null,
      stall: null,
      grace: null,
      stderr: new Tail(STDERR_TAIL),
      output: new Tail(OUTPUT_TAIL),
      whole: [],
      sawInit: false,
      lastError: null,
      lastTurnOk: null,
      pendingTurns: [],
      stdinClosed: false,
      turnUsage: null,
      promptDir,
      session: null,
      requestTimers: new Set(),
      done: Promise.resolve(),
    };
    this.runs.set(w.id, run);
    if (spec.sessionId && !w.sessionId)
      this.deps.store.update(w.id, { sessionId: spec.sessionId, sessionUid: sessionUid(w.agent, null, spec.sessionId) }, this.now);
    this.deps.store.update(
      w.id,
      { status: "starting", waitingReason: null, pid: child.pid > 0 ? child.pid : null, pidStart: child.startTime, startedAt: w.startedAt ?? this.now },
      this.now,
    );
    this.deps.store.addEvent(w.id, this.now, { type: "other", kind: "process-started" });
    this.notify("changed", this.get(w.id));

    child.stdin?.on("error", () => {}); // EPIPE when the CLI exits first: its exit says what happened
    if (spec.prompt === "protocol" && driver.openSession) {
      const req = { resumeSessionId: w.sessionId, model: w.model, cwd: w.cwd, permissionMode: dcfg.permissionMode };
      try {
        run.session = driver.openSession(req, spec, {
          write: (line) => this.write(run, line),
          emit: (events) => {
            for (const e of events) this.onEvent(run, e);
          },
          fail: (reason, message) => this.protocolFailed(run, reason, message),
          debug: (msg, data) => this.deps.log.debug({ worker: run.worker, ...data }, msg),
        });
        const session = run.session;
        this.guard(run, () => session.turn(prompt));
      } catch (err) {
        this.protocolFailed(run, "error", `could not open the ${w.agent} protocol session: ${(err as Error).message}`);
      }
    } else if (spec.prompt === "stdin") {
      child.stdin?.end(prompt);
    } else if (spec.prompt === "protocol" && driver.encodeTurn) {
      this.write(run, driver.encodeTurn(prompt));
    } else {
      child.stdin?.end();
    }

    const lines = new LineSplitter();
    child.stdout.on("data", (chunk: Buffer) => {
      for (const line of lines.push(chunk)) this.onLine(run, line);
      if (lines.oversized) {
        this.deps.store.addEvent(run.worker, this.now, { type: "other", kind: "oversized-line-skipped" });
        lines.oversized = 0;
      }
    });
    child.stderr.on("data", (chunk: Buffer) => run.stderr.push(chunk.toString("utf8")));
    this.armStall(run);
    if (w.chain.length) {
      run.initTimer = setTimeout(() => {
        if (run.sawInit || run.intent) return;
        run.intent = "no-init";
        signalGroup(run.child.pid, "SIGKILL");
      }, this.cfg.fallback.timeoutSeconds * 1000);
      run.initTimer.unref?.();
    }
    run.done = child.exited.then((exit) => {
      for (const line of lines.end()) this.onLine(run, line);
      this.onExit(run, exit);
    });
  }

  /** Runs a protocol-session call; a throw (a driver bug) fails the run instead of taking asm down. */
  private guard(run: Run, call: () => void) {
    try {
      call();
    } catch (err) {
      this.protocolFailed(run, "error", `protocol session error: ${(err as Error).message}`);
    }
  }

  /** The protocol cannot go on: record why, then end the process (SIGTERM, SIGKILL after the grace). */
  private protocolFailed(run: Run, reason: ErrorReason, message: string) {
    if (!run.lastError) run.lastError = { reason, message };
    this.deps.store.addEvent(run.worker, this.now, { type: "error", reason, message });
    if (run.intent && run.intent !== "close") return;
    run.intent = "protocol";
    signalGroup(run.child.pid, "SIGTERM");
    this.graceKill(run, this.cfg.interruptGraceSeconds * 1000);
  }

  /** No turn is pending after a turn's end: let the CLI go (its session closes, stdin ends, then the group is signalled). */
  private closeRun(run: Run) {
    if (!run.intent) run.intent = "close";
    if (run.session) {
      const session = run.session;
      this.guard(run, () => session.close());
    }
    if (!run.stdinClosed) {
      run.stdinClosed = true;
      run.child.stdin?.end();
    }
    if (run.session && !run.grace) {
      // A server (OpenCode serve) does not end with its stdin: SIGTERM after the grace, SIGKILL after another.
      const ms = this.cfg.interruptGraceSeconds * 1000;
      run.grace = setTimeout(() => {
        signalGroup(run.child.pid, "SIGTERM");
        run.grace = setTimeout(() => signalGroup(run.child.pid, "SIGKILL"), ms);
        run.grace.unref?.();
      }, ms);
      run.grace.unref?.();
    }
  }

  /** After a request was answered: back to running when none is open, and the stall clock restarts. */
  private afterRequest(run: Run) {
    const w = this.deps.store.get(run.worker);
    if (this.deps.requests.pending(run.worker).length === 0 && w?.status === "waiting-for-input" && w.waitingReason !== "turn-finished")
      this.setStatus(run.worker, "running", null);
    this.armStall(run);
  }

  private write(run: Run, line: string) {
    try {
      run.child.stdin?.write(`${line}\n`);
    } catch (err) {
      this.deps.log.warn({ err, worker: run.worker }, "could not write to worker stdin");
    }
  }

  private armStall(run: Run) {
    if (run.stall) clearTimeout(run.stall);
    run.stall = setTimeout(() => {
      const w = this.deps.store.get(run.worker);
      // Waiting for a person is not a stall: the permission timeout handles that.
      if (w?.status === "waiting-for-input" && w.waitingReason !== "turn-finished") return this.armStall(run);
      run.intent = "stall";
      signalGroup(run.child.pid, "SIGKILL");
    }, this.cfg.stallSeconds * 1000);
    run.stall.unref?.();
  }

  private graceKill(run: Run, ms: number) {
    if (run.grace) return;
    run.grace = setTimeout(() => signalGroup(run.child.pid, "SIGKILL"), ms);
    run.grace.unref?.();
  }

  private onLine(run: Run, line: string) {
    if (run.session) {
      const session = run.session;
      this.guard(run, () => session.onLine(line));
      return;
    }
    if (run.driver.parseOutput) run.whole.push(line);
    let events: WorkerEvent[];
    try {
      events = run.driver.parseLine(line);
    } catch (err) {
      events = [{ type: "other", kind: `parse-error: ${(err as Error).message}` }];
    }
    for (const e of events) this.onEvent(run, e);
  }

  private onEvent(run: Run, e: WorkerEvent) {
    const id = run.worker;
    const now = this.now;
    this.armStall(run);
    // Text deltas (Gemini streams pieces) and system chatter would drown the log; the output tail keeps the text.
    const noise = (e.type === "other" && e.kind.startsWith("system/")) || (e.type === "text" && e.delta === true);
    if (!noise) this.deps.store.addEvent(id, now, e);
    const w = this.deps.store.get(id);
    if (!w) return;
    switch (e.type) {
      case "init": {
        run.sawInit = true;
        const patch: Partial<WorkerRow> = { sessionId: e.sessionId, sessionUid: sessionUid(w.agent, e.agentId ?? null, e.sessionId) };
        if (e.model) patch.model = e.model;
        if (w.status === "starting") patch.status = "running";
        this.deps.store.update(id, patch, now);
        break;
      }
      case "text":
        run.output.push(e.delta ? e.text : `${e.text}\n`);
        this.deps.store.update(id, { outputTail: run.output.toString(), ...(w.status === "starting" ? { status: "running" as const } : {}) }, now);
        break;
      case "tool":
        this.deps.store.update(id, { lastTool: e.detail ? `${e.name}: ${e.detail}`.slice(0, 200) : e.name }, now);
        break;
      case "usage":
        // Usage is per turn in every stream; the worker's figures add up its turns, its context is the latest.
        this.deps.store.update(id, { contextTokens: e.contextTokens ?? w.contextTokens }, now);
        run.turnUsage = e;
        break;
      case "permission":
      case "question":
        this.onRequest(run, w, e);
        break;
      case "turn_end": {
        const u = run.turnUsage;
        run.turnUsage = null;
        run.lastTurnOk = !e.isError;
        if (e.result) run.output.push(e.result);
        this.deps.store.update(
          id,
          {
            turns: w.turns + 1,
            inputTokens: w.inputTokens + (u?.input ?? 0),
            outputTokens: w.outputTokens + (u?.output ?? 0),
            cacheReadTokens: w.cacheReadTokens + (u?.cacheRead ?? 0),
            cacheWriteTokens: w.cacheWriteTokens + (u?.cacheWrite ?? 0),
            costUsd: e.costUsd !== null ? (w.costUsd ?? 0) + e.costUsd : w.costUsd,
            outputTail: e.result ? e.result.slice(-OUTPUT_TAIL) : run.output.toString(),
            denied: [...new Set([...w.denied, ...e.denied])],
            status: "waiting-for-input",
            waitingReason: "turn-finished",
            waitingDetail: e.interrupted ? "turn interrupted" : e.isError ? "turn failed" : "turn finished",
            remindedAt: null,
          },
          now,
        );
        if (e.isError && !run.lastError) run.lastError = { reason: classifyError(e.result ?? ""), message: e.result ?? "the turn failed" };
        this.notify("turnEnded", this.get(id), e.result);
        // A multi-turn CLI waits on stdin: write what was sent meanwhile, else close it so the run ends cleanly.
        if (run.session) {
          const session = run.session;
          const next = run.intent ? undefined : run.pendingTurns.shift();
          if (next !== undefined) {
            this.guard(run, () => session.turn(next));
            this.setStatus(id, "running", null);
          } else this.closeRun(run);
        } else if (run.driver.multiTurn && run.driver.encodeTurn && run.pendingTurns.length && !run.intent) {
          this.write(run, run.driver.encodeTurn(run.pendingTurns.shift()!));
          this.setStatus(id, "running", null);
        } else if (run.driver.multiTurn && !run.stdinClosed) {
          run.stdinClosed = true;
          run.child.stdin?.end();
        }
        break;
      }
      case "error":
        if (!e.willRetry) run.lastError = { reason: e.reason, message: e.message };
        break;
      case "request_cancelled": {
        const r = this.deps.requests.pending(id).find((x) => x.requestId === e.requestId);
        if (r && this.deps.requests.decide(r.id, null, "expired", "agent", now)) this.notify("settled", w, this.deps.requests.get(r.id) ?? r, "cancelled");
        this.afterRequest(run);
        break;
      }
      case "model_switch":
        this.deps.store.update(id, { model: e.to }, now);
        break;
      case "other":
        return;
    }
    this.notify("changed", this.get(id));
  }

  private onExit(run: Run, exit: { exitCode: number | null; signal: string | null; spawnError: string | null }) {
    if (run.stall) clearTimeout(run.stall);
    if (run.initTimer) clearTimeout(run.initTimer);
    if (run.grace) clearTimeout(run.grace);
    if (run.promptDir) rmSync(run.promptDir, { recursive: true, force: true });
    for (const t of run.requestTimers) clearTimeout(t);
    if (run.driver.parseOutput && run.whole.length) {
      for (const e of run.driver.parseOutput(run.whole.join("\n"))) this.onEvent(run, e);
    }
    this.runs.delete(run.worker);
    const id = run.worker;
    const now = this.now;
    const open = this.deps.requests.pending(id);
    this.deps.requests.closeFor(id, now);
    for (const r of open) this.notify("settled", this.get(id), this.deps.requests.get(r.id) ?? r, "cancelled");
    const base = {
      exitCode: exit.exitCode,
      signal: exit.signal,
      stderrTail: run.stderr.toString(),
      pid: null,
      waitingReason: null,
      waitingDetail: null,
      endedAt: now,
    };
    let status: WorkerStatus;
    let errorClass: string | null = null;
    let errorMessage: string | null = null;
    if (run.intent === "kill") status = "killed";
    else if (run.intent === "interrupt" || run.intent === "shutdown") status = "interrupted";
    else if (run.intent === "stall") {
      status = "failed";
      errorClass = "timeout";
      errorMessage = `no event for ${this.cfg.stallSeconds}s; the turn was stopped`;
    } else if (run.intent === "protocol") {
      status = "failed";
      errorClass = run.lastError?.reason ?? "error";
      errorMessage = run.lastError?.message ?? "the protocol session failed";
    } else if (run.intent === "no-init") {
      status = "failed";
      errorClass = "timeout";
      errorMessage = `no sign of life (no init event) within ${this.cfg.fallback.timeoutSeconds}s`;
    } else if (exit.spawnError) {
      status = "failed";
      errorClass = "spawn";
      errorMessage = exit.spawnError;
    } else if ((exit.exitCode === 0 || (run.intent === "close" && exit.signal !== null)) && run.lastTurnOk !== false && !run.lastError) {
      // A protocol CLI let go after its last turn may end by our signal: the work itself succeeded.
      status = "completed";
    } else {
      status = "failed";
      errorClass = run.lastError?.reason ?? (run.sawInit ? "crash" : "spawn");
      errorMessage =
        run.lastError?.message ??
        (run.sawInit
          ? `exited with ${exit.signal ?? `code ${exit.exitCode}`}`
          : `exited with ${exit.signal ?? `code ${exit.exitCode}`} before starting a session`);
    }
    this.deps.store.update(id, { ...base, status, errorClass, errorMessage }, now);
    this.deps.store.addEvent(id, now, { type: "other", kind: `exit ${exit.signal ?? exit.exitCode}` });
    const next = run.pendingTurns.shift();
    if (next && status === "completed" && this.get(id).sessionId) {
      // A message sent while the last turn ran is the next turn: resume the same agent session with it.
      this.deps.store.update(id, { status: "queued", endedAt: null }, now);
      this.queue.unshift({ worker: id, prompt: [next, ...run.pendingTurns].join("\n\n") });
      this.pump();
      return;
    }
    this.concluded(id, status);
  }

  /** A run ended: on a chained worker, success closes the model's breaker and a failure may fall back. */
  private concluded(id: string, status: WorkerStatus) {
    const w = this.get(id);
    if (w.chain.length && (status === "completed" || status === "failed")) {
      const model = w.chain[w.chainIndex]!;
      if (status === "completed") this.chainOps.succeeded(model);
      else if (this.chainOps.failed(w)) {
        this.pump();
        return;
      }
    }
    this.notify("finished", this.get(id));
    this.pump();
  }

  private setStatus(id: string, status: WorkerStatus, waitingReason: WaitingReason | null, waitingDetail: string | null = null) {
    this.deps.store.update(id, { status, waitingReason, waitingDetail: waitingReason ? waitingDetail : null, remindedAt: null }, this.now);
  }

  /**
   * A permission request or a question: answered by an auto-response rule while the worker's cap allows, else
   * recorded and put to a person, with a reminder and an expiry (denied, and said so).
   */
  private onRequest(run: Run, w: WorkerRow, e: Extract<WorkerEvent, { type: "permission" | "question" }>) {
    const now = this.now;
    const id = run.worker;
    const payload =
      e.type === "permission"
        ? { tool: e.tool, detail: e.detail, reason: e.reason, input: e.input, action: e.action ?? null }
        : { text: e.text, options: e.options ?? [], input: e.input };
    const create = () =>
      this.deps.requests.create({
        workerId: id,
        kind: e.type,
        requestId: e.requestId,
        nonce: randomBytes(6).toString("hex"),
        payload,
        now,
        expiresAt: now + this.cfg.permissionTimeoutMinutes * 60_000,
      });
    if (e.type === "permission") {
      const auto = this.cfg.drivers[w.agent].autoRespond;
      const rule = autoResponse(e.action, w.cwd, auto.rules);
      if (rule && w.respondCount < auto.maxAutoResponds) {
        const r = create();
        this.deps.requests.decide(r.id, null, "allowed", "asm:auto", now, rule);
        this.deps.store.update(id, { respondCount: w.respondCount + 1 }, now);
        this.deps.store.addEvent(id, now, { type: "other", kind: `auto-allowed: ${rule}` });
        this.reply(r, { kind: "permission", allow: true });
        return;
      }
      if (rule) this.deps.store.addEvent(id, now, { type: "other", kind: `auto-respond cap reached (${auto.maxAutoResponds}): asking` });
    }
    const r = create();
    this.setStatus(id, "waiting-for-input", e.type, waitingText(e));
    this.notify("asks", this.get(id), r);
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        run.requestTimers.delete(t);
        fn();
      }, ms);
      t.unref?.();
      run.requestTimers.add(t);
    };
    if (this.cfg.waitingReminderMinutes < this.cfg.permissionTimeoutMinutes) {
      later(this.cfg.waitingReminderMinutes * 60_000, () => {
        if (this.deps.requests.get(r.id)?.status !== "pending") return;
        this.deps.store.update(id, { remindedAt: this.now }, this.now);
        this.notify("reminds", this.get(id), r);
      });
    }
    later(this.cfg.permissionTimeoutMinutes * 60_000, () => {
      if (!this.deps.requests.decide(r.id, null, "expired", "asm", this.now)) return;
      const mins = this.cfg.permissionTimeoutMinutes;
      this.reply(
        r,
        r.kind === "question"
          ? { kind: "question", answer: null }
          : { kind: "permission", allow: false, message: `No answer within ${mins} min; denied by asm` },
      );
      this.deps.store.addEvent(id, this.now, { type: "other", kind: `${r.kind}-expired` });
      this.notify("settled", this.get(id), this.deps.requests.get(r.id) ?? r, "expired");
    });
  }

  private fail(id: string, errorClass: string, message: string) {
    this.deps.store.update(id, { status: "failed", errorClass, errorMessage: message, endedAt: this.now }, this.now);
    this.concluded(id, "failed");
  }
}
