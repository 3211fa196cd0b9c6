import type { Platform } from "../agents/session.ts";
import { platforms } from "../agents/session.ts";
import { fallbackOrderNow } from "../core/fallback-stats.ts";
import { Feed } from "../core/feed.ts";
import { workerListView } from "../core/worker-views.ts";
import { WorkerOps } from "../core/workers.ts";
import { viewToText } from "../messages/view.ts";
import { chainFor } from "../runner/fallback/policy.ts";
import { RunnerError } from "../runner/runner.ts";
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
    errorClass: w.errorClass,
    errorMessage: w.errorMessage,
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
  const models = rt.config.runner.models;
  const isModel = first !== undefined && Object.hasOwn(models, first);
  const agent = isModel ? models[first]!.driver : first;
  if (!agent || !(platforms as readonly string[]).includes(agent)) {
    throw new UsageError(`spawn needs an agent (${platforms.join(", ")}) or a model from runner.models`);
  }
  const ops = new WorkerOps(rt, new Feed(rt.log));
  const chain = opts.chain?.length
    ? opts.chain
    : isModel
      ? chainFor(
          first!,
          fallbackOrderNow(rt, (m) => ops.runner.breaker(m)),
        )
      : null;
  if (!workspace) throw new UsageError("spawn needs a workspace name (from runner.workspaces)");
  const prompt = rest.join(" ").trim();
  if (!prompt) throw new UsageError("spawn needs a prompt");
  try {
    const req = { agent: agent as Platform, workspace, prompt, model: opts.model ?? null, requestedBy: "cli", chain };
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
      print(io, `${done.id} ${done.status} · ${done.agent} · turns ${done.turns} · exit ${done.exitCode ?? done.signal ?? "-"}`);
      if (done.sessionId) print(io, `session ${done.sessionId}`);
      if (done.costUsd !== null) print(io, `cost $${done.costUsd.toFixed(4)}`);
      if (done.errorClass) print(io, `error ${done.errorClass}: ${done.errorMessage ?? ""}`);
      if (done.outputTail) print(io, done.outputTail.trim());
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
  print(io, viewToText(workerListView(rows, Date.now())));
}
