import { randomBytes } from "node:crypto";
import type { ErrorReason } from "../agents/error-reason.ts";
import type { Run, RunnerContext } from "./context.ts";
import { signalGroup } from "./process.ts";

/**
 * Steering a live run: writing to its CLI, asking it to stop, letting it go after its last turn, and the timers that
 * end it when it does not (the stall watchdog, the grace before SIGKILL). A protocol session that throws fails its
 * run here instead of taking asm down.
 */

/** A line to the CLI's stdin; a CLI that already went away is logged, its exit says what happened. */
export function write(ctx: RunnerContext, run: Run, line: string): void {
  try {
    run.child.stdin?.write(`${line}\n`);
  } catch (err) {
    ctx.deps.log.warn({ err, worker: run.worker }, "could not write to worker stdin");
  }
}

/** Runs a protocol-session call; a throw (a driver bug) fails the run instead of taking asm down. */
export function guard(ctx: RunnerContext, run: Run, call: () => void): void {
  try {
    call();
  } catch (err) {
    protocolFailed(ctx, run, "error", `protocol session error: ${(err as Error).message}`);
  }
}

/** The protocol cannot go on: record why, then end the process (SIGTERM, SIGKILL after the grace). */
export function protocolFailed(ctx: RunnerContext, run: Run, reason: ErrorReason, message: string): void {
  if (!run.lastError) run.lastError = { reason, message };
  ctx.deps.store.addEvent(run.worker, ctx.now(), { type: "error", reason, message });
  if (run.intent && run.intent !== "close") return;
  run.intent = "protocol";
  signalGroup(run.child.pid, "SIGTERM");
  graceKill(run, ctx.cfg.interruptGraceSeconds * 1000);
}

/** No turn is pending after a turn's end: let the CLI go (its session closes, stdin ends, then the group is signalled). */
export function closeRun(ctx: RunnerContext, run: Run): void {
  if (!run.intent) run.intent = "close";
  if (run.session) {
    const session = run.session;
    guard(ctx, run, () => session.close());
  }
  if (!run.stdinClosed) {
    run.stdinClosed = true;
    run.child.stdin?.end();
  }
  if (run.session && !run.grace) {
    // A server (OpenCode serve) does not end with its stdin: SIGTERM after the grace, SIGKILL after another.
    const ms = ctx.cfg.interruptGraceSeconds * 1000;
    run.grace = setTimeout(() => {
      signalGroup(run.child.pid, "SIGTERM");
      run.grace = setTimeout(() => signalGroup(run.child.pid, "SIGKILL"), ms);
      run.grace.unref?.();
    }, ms);
    run.grace.unref?.();
  }
}

/** The protocol's interrupt where there is one, else SIGINT to the group. */
export function askToStop(ctx: RunnerContext, run: Run): void {
  if (run.session) {
    const session = run.session;
    guard(ctx, run, () => session.interrupt());
  } else if (run.driver.encodeInterrupt && run.child.stdin) write(ctx, run, run.driver.encodeInterrupt(`req_asm_${randomBytes(4).toString("hex")}`));
  else signalGroup(run.child.pid, "SIGINT");
}

/** The inactivity watchdog: no event for `runner.stallSeconds` (and not waiting for a person) is a wedged turn, killed as `stall`. */
export function armStall(ctx: RunnerContext, run: Run): void {
  if (run.stall) clearTimeout(run.stall);
  run.stall = setTimeout(() => {
    const w = ctx.deps.store.get(run.worker);
    // Waiting for a person is not a stall: the permission timeout handles that.
    if (w?.status === "waiting-for-input" && w.waitingReason !== "turn-finished") return armStall(ctx, run);
    run.intent = "stall";
    signalGroup(run.child.pid, "SIGKILL");
  }, ctx.cfg.stallSeconds * 1000);
  run.stall.unref?.();
}

/** SIGKILL to the group after `ms`, once: what a stop request that was not heeded ends with. */
export function graceKill(run: Run, ms: number): void {
  if (run.grace) return;
  run.grace = setTimeout(() => signalGroup(run.child.pid, "SIGKILL"), ms);
  run.grace.unref?.();
}
