import { fallbackOrderNow } from "../core/fallback-stats.ts";
import { Feed } from "../core/feed.ts";
import { workerListView, workerResultView } from "../core/worker-views.ts";
import { WorkerOps } from "../core/workers.ts";
import { viewToText } from "../messages/view.ts";
import { chainFor } from "../runner/fallback/policy.ts";
import { RunnerError } from "../runner/runner.ts";
import { spawnTarget } from "../runner/spawn-target.ts";
import type { Runtime } from "../store/runtime.ts";
import type { WorkerRow } from "../store/workers.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, print, printJson } from "./io.ts";

/** The JSON shape of a worker for `asm spawn --json` and `asm workers --json`. */
export function workerJson(w: WorkerRow) {
  return {
    id: w.id,
    agent: w.agent,
    model: w.model,
    workspace: w.workspace,
    status: w.status,
    waitingReason: w.waitingReason,
    sessionId: w.sessionId,
    sessionUid: w.sessionUid,
    turns: w.turns,
    tokens: { input: w.inputTokens, output: w.outputTokens, cacheRead: w.cacheReadTokens, cacheWrite: w.cacheWriteTokens },
    costUsd: w.costUsd,
    exitCode: w.exitCode,
    signal: w.signal,
    errorClass: w.errorClass,
    errorMessage: w.errorMessage,
    stderrTail: w.stderrTail,
    resumedFrom: w.resumedFrom,
    output: w.outputTail,
    createdAt: new Date(w.createdAt).toISOString(),
    endedAt: w.endedAt === null ? null : new Date(w.endedAt).toISOString(),
  };
}

export interface SpawnOptions {
  wait: boolean;
  json: boolean;
  model?: string | undefined;
  /** Model ids to fall back through (`--chain a,b,c`). */
  chain?: string[] | undefined;
}

/**
 * `asm spawn <agent> <workspace> <prompt>`. With `--wait` this process runs the worker and prints its final
 * record (exit 0 when completed, 1 otherwise); without it the worker is queued in the store for the running
 * bot (`asm run`) to start, and its id is printed.
 */
export async function spawnFromCli(rt: Runtime, io: CliIo, positionals: string[], opts: SpawnOptions): Promise<number> {
  const [first, workspace, ...rest] = positionals;
  let target: ReturnType<typeof spawnTarget>;
  try {
    target = spawnTarget(first, rt.config.runner.models);
  } catch (err) {
    throw err instanceof RunnerError ? new UsageError(err.message) : err;
  }
  if (!workspace) throw new UsageError("spawn needs a workspace name (from runner.workspaces)");
  const prompt = rest.join(" ").trim();
  if (!prompt) throw new UsageError("spawn needs a prompt");
  const ops = new WorkerOps(rt, new Feed(rt.log));
  const chain = opts.chain?.length
    ? opts.chain
    : target.model
      ? chainFor(
          target.model,
          fallbackOrderNow(rt, (m) => ops.runner.breaker(m)),
        )
      : null;
  try {
    const req = { agent: target.agent, workspace, prompt, model: opts.model ?? null, requestedBy: "cli", chain };
    if (!opts.wait) {
      const w = ops.runner.spawn(req, { start: false });
      if (opts.json) printJson(io, workerJson(w));
      else print(io, `${w.id} queued; the running asm (asm run) starts it. asm workers shows it.`);
      return 0;
    }
    const w = ops.runner.spawn(req);
    const onSignal = () => void ops.runner.interrupt(w.id);
    process.once("SIGINT", onSignal);
    const done = await ops.runner.waitFor(w.id);
    process.off("SIGINT", onSignal);
    if (opts.json) printJson(io, workerJson(done));
    else {
      // The same result the chat gets (status, model, turns, tokens, cost, exit, error and advice, answer), then the
      // agent session id on its own line, for a script to pick up.
      print(io, viewToText(workerResultView(done, Date.now(), undefined, ops.contextWindow(done))));
      if (done.sessionId) print(io, `\nsession ${done.sessionId}`);
    }
    return done.status === "completed" ? 0 : 1;
  } catch (err) {
    if (err instanceof RunnerError) throw new UsageError(err.message);
    throw err;
  } finally {
    await ops.stop();
  }
}

/** `asm workers [--json] [--all]`. */
export function printWorkers(rt: Runtime, io: CliIo, opts: { json: boolean; all: boolean }): void {
  const ops = new WorkerOps(rt, new Feed(rt.log));
  const rows = ops.store.list({ activeOnly: !opts.all, limit: 200 });
  if (opts.json) return void printJson(io, rows.map(workerJson));
  print(io, viewToText(workerListView(rows, Date.now(), "asm spawn <agent> <workspace> <prompt>")));
}
