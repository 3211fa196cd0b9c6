import type { WorkerEvent } from "../agents/driver.ts";
import { classifyError } from "../agents/error-reason.ts";
import { sessionUid } from "../agents/session.ts";
import type { WorkerRow } from "../store/workers.ts";
import type { Run, RunnerContext } from "./context.ts";
import { armStall, closeRun, guard, write } from "./control.ts";
import { afterRequest, openRequest } from "./requests.ts";

/**
 * What a worker's CLI said, into its row: each stdout line through its driver's parser (or its protocol session),
 * each event into statuses, the agent session id, tokens, cost, the last tool and the output tail, and a turn's
 * end into the next turn, or the CLI let go. Every event but noise is kept for `/worker <id> events`.
 */

/** The bytes of output a worker keeps (its last answer, or what it printed before it failed). */
export const OUTPUT_TAIL = 4 * 1024;

/** One stdout line of a run: to its protocol session, else its driver's parser; a parser that throws gives `other`. */
export function onLine(ctx: RunnerContext, run: Run, line: string): void {
  if (run.session) {
    const session = run.session;
    guard(ctx, run, () => session.onLine(line));
    return;
  }
  if (run.driver.parseOutput) run.whole.push(line);
  let events: WorkerEvent[];
  try {
    events = run.driver.parseLine(line);
  } catch (err) {
    events = [{ type: "other", kind: `parse-error: ${(err as Error).message}` }];
  }
  for (const e of events) applyEvent(ctx, run, e);
}

/** One event of a run: recorded (unless noise), applied to the worker row, and told to the listener. */
export function applyEvent(ctx: RunnerContext, run: Run, e: WorkerEvent): void {
  const id = run.worker;
  const now = ctx.now();
  armStall(ctx, run);
  // Text deltas (Gemini streams pieces) and system chatter would drown the log; the output tail keeps the text.
  const noise = (e.type === "other" && e.kind.startsWith("system/")) || (e.type === "text" && e.delta === true);
  if (!noise) ctx.deps.store.addEvent(id, now, e);
  const w = ctx.deps.store.get(id);
  if (!w) return;
  switch (e.type) {
    case "init": {
      run.sawInit = true;
      const patch: Partial<WorkerRow> = { sessionId: e.sessionId, sessionUid: sessionUid(w.agent, e.agentId ?? null, e.sessionId) };
      if (e.model) patch.model = e.model;
      if (w.status === "starting") patch.status = "running";
      ctx.deps.store.update(id, patch, now);
      break;
    }
    case "text":
      run.output.push(e.delta ? e.text : `${e.text}\n`);
      ctx.deps.store.update(id, { outputTail: run.output.toString(), ...(w.status === "starting" ? { status: "running" as const } : {}) }, now);
      break;
    case "tool":
      ctx.deps.store.update(id, { lastTool: e.detail ? `${e.name}: ${e.detail}`.slice(0, 200) : e.name }, now);
      break;
    case "usage":
      // Usage is per turn in every stream; the worker's figures add up its turns, its context is the latest.
      ctx.deps.store.update(id, { contextTokens: e.contextTokens ?? w.contextTokens }, now);
      run.turnUsage = e;
      break;
    case "permission":
    case "question":
      openRequest(ctx, run, w, e);
      break;
    case "turn_end": {
      const u = run.turnUsage;
      run.turnUsage = null;
      run.lastTurnOk = !e.isError;
      if (e.result) run.output.push(e.result);
      ctx.deps.store.update(
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
      ctx.notify("turnEnded", ctx.get(id), e.result);
      // A multi-turn CLI waits on stdin: write what was sent meanwhile, else close it so the run ends cleanly.
      if (run.session) {
        const session = run.session;
        const next = run.intent ? undefined : run.pendingTurns.shift();
        if (next !== undefined) {
          guard(ctx, run, () => session.turn(next));
          ctx.setStatus(id, "running", null);
        } else closeRun(ctx, run);
      } else if (run.driver.multiTurn && run.driver.encodeTurn && run.pendingTurns.length && !run.intent) {
        write(ctx, run, run.driver.encodeTurn(run.pendingTurns.shift()!));
        ctx.setStatus(id, "running", null);
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
      const r = ctx.deps.requests.pending(id).find((x) => x.requestId === e.requestId);
      if (r && ctx.deps.requests.decide(r.id, null, "expired", "agent", now)) ctx.notify("settled", w, ctx.deps.requests.get(r.id) ?? r, "cancelled");
      afterRequest(ctx, run);
      break;
    }
    case "model_switch":
      ctx.deps.store.update(id, { model: e.to }, now);
      break;
    case "other":
      return;
  }
  ctx.notify("changed", ctx.get(id));
}
