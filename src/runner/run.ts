import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver } from "../agents/driver.ts";
import { sessionUid } from "../agents/session.ts";
import type { WorkerRow, WorkerStatus } from "../store/workers.ts";
import { type Run, type RunnerContext, RunnerError } from "./context.ts";
import { armStall, guard, protocolFailed, write } from "./control.ts";
import { applyEvent, OUTPUT_TAIL, onLine } from "./events.ts";
import { exitOutcome, type RunExit } from "./exit.ts";
import { LineSplitter, Tail } from "./lines.ts";
import { type ChildHandle, SpawnError, signalGroup, startChild } from "./process.ts";

/**
 * One run of a worker's CLI, from its start to its exit: what starts it, reads it and concludes it. The Runner
 * decides when a run starts (its queue) and what a conclusion leads to (a fallback, the next queued worker).
 */

/** What a run needs from the Runner that owns it. */
export interface RunHooks {
  /** This asm process, as recorded in the rows it runs (`pid:start time`). */
  readonly owner: string;
  /** The run reached a final status (a chained worker may fall back). */
  concluded(id: string, status: WorkerStatus): void;
  /** A message sent while the last turn ran: the worker's next run, ahead of the queue. */
  nextTurn(id: string, prompt: string): void;
}

/** The bytes of stderr a worker keeps (a ring buffer: the last lines say the most). */
const STDERR_TAIL = 8 * 1024;

/**
 * Starts one run of a worker's CLI: its argv from the driver and the config (the prompt on stdin, in a file or
 * through the protocol, never in argv), in its own process group in the worker's folder; its lines read into
 * events, its stall watchdog armed. A CLI that cannot start fails the worker as `spawn`.
 */
export function startRun(ctx: RunnerContext, hooks: RunHooks, w: WorkerRow, prompt: string): void {
  if (!ctx.deps.store.claim(w.id, hooks.owner, ctx.now())) return; // another asm process took it
  const driver = ctx.deps.drivers[w.agent];
  const dcfg = ctx.cfg.drivers[w.agent];
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
    fail(ctx, hooks, w.id, "spawn", (err as Error).message);
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
  // The agent's own files, set right just before its CLI starts (nothing of it runs yet to race with).
  try {
    const prepared = driver.beforeStart?.({ resumeSessionId: w.sessionId, model: w.model, cwd: w.cwd, permissionMode: dcfg.permissionMode }) ?? [];
    for (const e of prepared) ctx.deps.store.addEvent(w.id, ctx.now(), e);
  } catch (err) {
    ctx.deps.log.warn({ err, worker: w.id }, "could not prepare the agent's files before its start; starting anyway");
  }
  let child: ChildHandle;
  try {
    // PWD too: some CLIs (OpenCode) take their project folder from it rather than from where they start.
    child = startChild(argv, w.cwd, { ...dcfg.env, ...(spec.env ?? {}), PWD: w.cwd }, w.id);
  } catch (err) {
    if (promptDir) rmSync(promptDir, { recursive: true, force: true });
    fail(ctx, hooks, w.id, "spawn", err instanceof SpawnError ? err.message : String(err));
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
  ctx.runs.set(w.id, run);
  if (spec.sessionId && !w.sessionId)
    ctx.deps.store.update(w.id, { sessionId: spec.sessionId, sessionUid: sessionUid(w.agent, null, spec.sessionId) }, ctx.now());
  ctx.deps.store.update(
    w.id,
    { status: "starting", waitingReason: null, pid: child.pid > 0 ? child.pid : null, pidStart: child.startTime, startedAt: w.startedAt ?? ctx.now() },
    ctx.now(),
  );
  ctx.deps.store.addEvent(w.id, ctx.now(), { type: "other", kind: "process-started" });
  ctx.notify("changed", ctx.get(w.id));

  child.stdin?.on("error", () => {}); // EPIPE when the CLI exits first: its exit says what happened
  if (spec.prompt === "protocol" && driver.openSession) {
    const req = { resumeSessionId: w.sessionId, model: w.model, cwd: w.cwd, permissionMode: dcfg.permissionMode };
    try {
      run.session = driver.openSession(req, spec, {
        write: (line) => write(ctx, run, line),
        emit: (events) => {
          for (const e of events) applyEvent(ctx, run, e);
        },
        fail: (reason, message) => protocolFailed(ctx, run, reason, message),
        debug: (msg, data) => ctx.deps.log.debug({ worker: run.worker, ...data }, msg),
      });
      const session = run.session;
      guard(ctx, run, () => session.turn(prompt));
    } catch (err) {
      protocolFailed(ctx, run, "error", `could not open the ${w.agent} protocol session: ${(err as Error).message}`);
    }
  } else if (spec.prompt === "stdin") {
    child.stdin?.end(prompt);
  } else if (spec.prompt === "protocol" && driver.encodeTurn) {
    write(ctx, run, driver.encodeTurn(prompt));
  } else {
    child.stdin?.end();
  }

  const lines = new LineSplitter();
  child.stdout.on("data", (chunk: Buffer) => {
    for (const line of lines.push(chunk)) onLine(ctx, run, line);
    if (lines.oversized) {
      ctx.deps.store.addEvent(run.worker, ctx.now(), { type: "other", kind: "oversized-line-skipped" });
      lines.oversized = 0;
    }
  });
  child.stderr.on("data", (chunk: Buffer) => run.stderr.push(chunk.toString("utf8")));
  armStall(ctx, run);
  if (w.chain.length) {
    run.initTimer = setTimeout(() => {
      if (run.sawInit || run.intent) return;
      run.intent = "no-init";
      signalGroup(run.child.pid, "SIGKILL");
    }, ctx.cfg.fallback.timeoutSeconds * 1000);
    run.initTimer.unref?.();
  }
  run.done = child.exited.then((exit) => {
    for (const line of lines.end()) onLine(ctx, run, line);
    onExit(ctx, hooks, run, exit);
  });
}

/**
 * A run's process ended: its timers stop, a whole-document stdout is read, its open requests close, and the worker
 * gets its final status, or its next turn when a message came while the last one ran.
 */
export function onExit(ctx: RunnerContext, hooks: RunHooks, run: Run, exit: RunExit): void {
  // The whole output first: its events re-arm the stall watchdog, which must not outlive the process (its SIGKILL
  // would go to a process group id the system may have given to another process by then).
  if (run.driver.parseOutput && run.whole.length) {
    for (const e of run.driver.parseOutput(run.whole.join("\n"))) applyEvent(ctx, run, e);
  }
  if (run.stall) clearTimeout(run.stall);
  if (run.initTimer) clearTimeout(run.initTimer);
  if (run.grace) clearTimeout(run.grace);
  if (run.promptDir) rmSync(run.promptDir, { recursive: true, force: true });
  for (const t of run.requestTimers) clearTimeout(t);
  ctx.runs.delete(run.worker);
  const id = run.worker;
  const now = ctx.now();
  const open = ctx.deps.requests.pending(id);
  ctx.deps.requests.closeFor(id, now);
  for (const r of open) ctx.notify("settled", ctx.get(id), ctx.deps.requests.get(r.id) ?? r, "cancelled");
  const base = {
    exitCode: exit.exitCode,
    signal: exit.signal,
    stderrTail: run.stderr.toString(),
    pid: null,
    waitingReason: null,
    waitingDetail: null,
    endedAt: now,
  };
  const { status, errorClass, errorMessage } = exitOutcome(run, exit, ctx.cfg);
  ctx.deps.store.update(id, { ...base, status, errorClass, errorMessage }, now);
  ctx.deps.store.addEvent(id, now, { type: "other", kind: `exit ${exit.signal ?? exit.exitCode}` });
  const next = run.pendingTurns.shift();
  if (next && status === "completed" && ctx.get(id).sessionId) {
    // A message sent while the last turn ran is the next turn: resume the same agent session with it.
    ctx.deps.store.update(id, { status: "queued", endedAt: null }, now);
    hooks.nextTurn(id, [next, ...run.pendingTurns].join("\n\n"));
    return;
  }
  hooks.concluded(id, status);
}

/** Fails a worker whose run could not start. */
export function fail(ctx: RunnerContext, hooks: RunHooks, id: string, errorClass: string, message: string): void {
  ctx.deps.store.update(id, { status: "failed", errorClass, errorMessage: message, endedAt: ctx.now() }, ctx.now());
  hooks.concluded(id, "failed");
}
