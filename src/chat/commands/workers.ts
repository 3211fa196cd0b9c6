import type { WorkerEventType } from "../../agents/driver.ts";
import { platforms } from "../../agents/session.ts";
import { workerDetailView, workerListView, workerOutputView } from "../../core/worker-views.ts";
import { textView } from "../../messages/view.ts";
import { chainFor } from "../../runner/fallback/policy.ts";
import { RunnerError } from "../../runner/runner.ts";
import { spawnTarget } from "../../runner/spawn-target.ts";
import type { Command, CommandContext } from "./spec.ts";
import { UsageError } from "./spec.ts";

/** Every kind of worker event, for `/worker <id> events <type>` (the compiler checks none is missing). */
const eventTypes = [
  "init",
  "text",
  "tool",
  "usage",
  "permission",
  "question",
  "request_cancelled",
  "turn_end",
  "error",
  "model_switch",
  "other",
] as const satisfies readonly WorkerEventType[];
const allEventTypes: Exclude<WorkerEventType, (typeof eventTypes)[number]> extends never ? true : false = true;
void allEventTypes;

const workerId = (v: string | undefined) => {
  if (!v) throw new UsageError("the worker id is missing");
  if (!/^w\d{1,9}$/.test(v)) throw new UsageError(`"${v.slice(0, 20)}" is not a worker id (like w3)`);
  return v;
};

/** Runs a runner call and turns its refusals into a plain answer. */
function refusing<T>(f: () => T): T | ReturnType<typeof textView> {
  try {
    return f();
  } catch (err) {
    if (err instanceof RunnerError) return textView(err.message, { private: true });
    throw err;
  }
}

const prompt = (args: string[]) => {
  const text = args.join(" ").trim();
  if (!text) throw new UsageError("the prompt is missing");
  if (text.length > 8000) throw new UsageError("the prompt is too long (8,000 characters at most)");
  return text;
};

export const spawnCommand: Command = {
  name: "spawn",
  description: "Start an agent worker in a workspace",
  usage: "/spawn [--chain a,b,c] <agent|model> <workspace> <prompt…> — e.g. /spawn claude app fix the failing test",
  options: [
    { name: "agent", description: "claude, codex, gemini, opencode or openclaw", type: "string", required: true, choices: [...platforms] },
    { name: "workspace", description: "a name from runner.workspaces", type: "string", required: true },
    { name: "prompt", description: "what to do", type: "string", required: true, rest: true },
  ],
  async run(ctx: CommandContext, args: string[]) {
    let explicit: string[] | null = null;
    if (args[0] === "--chain") {
      explicit = (args[1] ?? "").split(",").filter(Boolean);
      if (explicit.length === 0) throw new UsageError("--chain needs model ids, e.g. --chain openai-codex/gpt-5.2,anthropic/claude-sonnet-4-5");
      args = args.slice(2);
    }
    const [a, ws, ...rest] = args;
    const models = ctx.rt.config.runner.models;
    let target: ReturnType<typeof spawnTarget>;
    try {
      target = spawnTarget(a, models);
    } catch (err) {
      throw err instanceof RunnerError ? new UsageError(err.message) : err;
    }
    const agent = target.agent;
    const unknown = (explicit ?? []).filter((m) => !Object.hasOwn(models, m));
    if (unknown.length) throw new UsageError(`not in runner.models: ${unknown.join(", ").slice(0, 200)}`);
    const chain = explicit ?? (target.model ? chainFor(target.model, ctx.manager.fallbackOrder(ctx.now)) : null);
    if (!ws || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(ws)) throw new UsageError("the workspace name is missing or not valid");
    try {
      const r = await ctx.manager.workers.spawn(ctx.caller, { agent, workspace: ws, prompt: prompt(rest), chain });
      if (r.requestId !== undefined) return textView(`Asked the admins to approve (request #${r.requestId}).`);
      const w = r.worker!;
      if (w.status !== "queued") return textView(`${w.id} started. /worker ${w.id} shows it.`);
      const n = ctx.manager.workers.runner.active;
      const max = ctx.rt.config.runner.maxConcurrent;
      // Also queued below the limit: its agent session is busy in another worker, or its provider's quota holds it.
      if (n < max) return textView(`${w.id} queued; it starts as soon as it can. /worker ${w.id} shows it.`);
      return textView(`${w.id} queued: ${n} worker${n === 1 ? " is" : "s are"} running (runner.maxConcurrent ${max}). It starts when one ends.`);
    } catch (err) {
      if (err instanceof RunnerError) return textView(err.message, { private: true });
      throw err;
    }
  },
};

export const workersCommand: Command = {
  name: "workers",
  description: "List managed workers",
  usage: "/workers [all] — e.g. /workers all",
  options: [{ name: "scope", description: "all = include finished ones", type: "string", choices: ["all"] }],
  run(ctx, args) {
    if (args[0] && args[0] !== "all") throw new UsageError(`unknown scope "${args[0].slice(0, 20)}"`);
    return workerListView(ctx.manager.workers.store.list({ activeOnly: args[0] !== "all", limit: 30 }), ctx.now);
  },
};

export const workerCommand: Command = {
  name: "worker",
  description: "A worker's status, resume chain and events",
  usage: "/worker <id> [events [type]|output] — e.g. /worker w3 events tool",
  options: [
    { name: "id", description: "worker id, like w3", type: "string", required: true },
    { name: "what", description: "events [type] or output", type: "string", rest: true },
  ],
  async run(ctx, args) {
    const id = workerId(args[0]);
    const ops = ctx.manager.workers;
    const w = ops.store.get(id);
    if (!w) return textView(`No worker ${id}.`, { private: true });
    if (args[1] === "output") return workerOutputView(w);
    // The price catalog (about 15 MiB) is loaded only when a worker's cost has to be estimated from it.
    const estimate =
      w.costUsd === null && w.model
        ? new (await import("../../core/pricing.ts")).PriceBook(ctx.rt.config.usage.prices).cost(
            w.model,
            { input: w.inputTokens, output: w.outputTokens, cacheRead: w.cacheReadTokens, cacheWrite: w.cacheWriteTokens },
            w.startedAt ?? ctx.now,
          )
        : null;
    const type = args[1] === "events" ? args[2] : undefined;
    if (type !== undefined && !(eventTypes as readonly string[]).includes(type)) {
      return textView(`no event type "${type.slice(0, 20)}"; one of ${eventTypes.join(", ")}`, { private: true });
    }
    const session = w.sessionUid ? ctx.rt.sessions.get(w.sessionUid) : undefined;
    return workerDetailView(
      w,
      ops.store.chain(id),
      ops.store.events(id, { limit: args[1] === "events" ? 30 : 8, ...(type ? { type } : {}) }),
      session,
      ctx.now,
      ctx.rt.config.runner.drivers[w.agent].autoRespond.rules.length ? ctx.rt.config.runner.drivers[w.agent].autoRespond.maxAutoResponds : undefined,
      estimate,
      type,
      ops.contextWindow(w, session),
    );
  },
};

export const sendCommand: Command = {
  name: "send",
  description: "Send a worker its next message",
  usage: "/send <id> <text…> — e.g. /send w3 now run the tests",
  admin: true,
  options: [
    { name: "id", description: "worker id", type: "string", required: true },
    { name: "text", description: "the message", type: "string", required: true, rest: true },
  ],
  run(ctx, args) {
    const id = workerId(args[0]);
    return refusing(() => {
      const r = ctx.manager.workers.sendOrAnswer(ctx.caller, id, prompt(args.slice(1)));
      return textView(r.answered ? `Answered ${r.worker.id}'s question.` : `Sent to ${r.worker.id} (${r.worker.status}).`);
    });
  },
};

export const interruptCommand: Command = {
  name: "interrupt",
  description: "Stop a worker's current turn",
  usage: "/interrupt <id> — e.g. /interrupt w3",
  admin: true,
  options: [{ name: "id", description: "worker id", type: "string", required: true }],
  run: (ctx, args) => refusing(() => textView(`Interrupting ${ctx.manager.workers.runner.interrupt(workerId(args[0])).id}.`)),
};

export const killCommand: Command = {
  name: "kill",
  description: "Kill a worker at once (SIGKILL)",
  usage: "/kill <id> — e.g. /kill w3",
  admin: true,
  options: [{ name: "id", description: "worker id", type: "string", required: true }],
  run: (ctx, args) => refusing(() => textView(`Killed ${ctx.manager.workers.runner.kill(workerId(args[0])).id}.`)),
};

export const resumeCommand: Command = {
  name: "resume",
  description: "Continue a finished worker's session in a new worker",
  usage: "/resume <id> [prompt…] — e.g. /resume w3 continue",
  admin: true,
  options: [
    { name: "id", description: "worker id", type: "string", required: true },
    { name: "prompt", description: "what to do next", type: "string", rest: true },
  ],
  run(ctx, args) {
    const id = workerId(args[0]);
    const text = args.slice(1).join(" ").trim() || null;
    if (text && text.length > 8000) throw new UsageError("the prompt is too long");
    return refusing(() => {
      const w = ctx.manager.workers.runner.resume(id, text, `${ctx.caller.transport}:${ctx.caller.userId}`);
      return textView(`${w.id} resumes ${id}'s session.`);
    });
  },
};

export const workerCommands = [spawnCommand, workersCommand, workerCommand, sendCommand, interruptCommand, killCommand, resumeCommand];
