import { type Json, num, obj, parseObject, str } from "../../lib/json-value.ts";
import { toolArgDetail, type WorkerEvent } from "../driver.ts";
import { classifyError, type ErrorReason, reasonFromStatus } from "../error-reason.ts";

/**
 * `opencode run --format json` (RUNNER.md §1.4, FORMATS.md §9) turned into worker events. Pure: the live
 * runner and the recorded fixtures go through the same code.
 *
 * Every line carries `sessionID`. `step_finish` closes one model call with its own tokens (`input`
 * excludes cached tokens, so context = input + cache.read + cache.write). 1.18.33 writes no end-of-run
 * line (newer builds add `done{rejected}`), and a run whose tool was auto-rejected ends on a
 * `tool-calls` step, so no single line marks the end of the turn: `parseOpencodeOutput` (the driver's
 * `parseOutput`, called at exit) reports the turn's summed usage and its `turn_end`.
 */

/** OpenCode's `session.error` (`error{name, data}`, RUNNER.md §1.4) → the shared vocabulary. */
export function opencodeErrorReason(name: string | null, status: number | null, message: string): ErrorReason {
  switch (name) {
    case "ProviderAuthError":
      return "auth";
    case "ContextOverflowError":
      return "context_overflow";
    case "MessageAbortedError":
      return "aborted";
  }
  return reasonFromStatus(status) ?? classifyError(message);
}

/** "The user rejected permission to use this specific tool call." on a tool part in error. */
const REJECTED = /rejected permission/i;

function stepUsage(tokens: Json | null): Extract<WorkerEvent, { type: "usage" }> | null {
  if (!tokens) return null;
  const cache = obj(tokens.cache);
  const input = num(tokens.input) ?? 0;
  const cacheRead = num(cache?.read) ?? 0;
  const cacheWrite = num(cache?.write) ?? 0;
  // Reasoning tokens are output the model produced; OpenCode keeps them apart.
  const output = (num(tokens.output) ?? 0) + (num(tokens.reasoning) ?? 0);
  return { type: "usage", input, output, cacheRead, cacheWrite, contextTokens: input + cacheRead + cacheWrite };
}

function errorOf(d: Json): Extract<WorkerEvent, { type: "error" }> {
  const e = obj(d.error);
  const data = obj(e?.data);
  const name = str(e?.name);
  const status = num(data?.statusCode);
  const message = str(data?.message) ?? str(e?.message) ?? name ?? "error";
  return { type: "error", reason: opencodeErrorReason(name, status, message), message, status, willRetry: false };
}

/** One stdout line of `opencode run --format json` → events. Never throws. */
export function parseOpencodeLine(line: string): WorkerEvent[] {
  const d = parseObject(line);
  if (!d) return [{ type: "other", kind: "unparsed" }];
  const type = str(d.type) ?? "unknown";
  const part = obj(d.part);
  const session = str(d.sessionID);
  switch (type) {
    case "step_start":
      return session ? [{ type: "init", sessionId: session, model: null, version: null }] : [{ type: "other", kind: type }];
    case "text": {
      const text = str(part?.text);
      // The "Continue if you have next steps…" OpenCode adds after compacting is its own, not the model's.
      if (!text || part?.synthetic === true) return [{ type: "other", kind: part?.synthetic ? "text/synthetic" : type }];
      return [{ type: "text", text }];
    }
    case "tool_use": {
      const state = obj(part?.state);
      return [{ type: "tool", name: str(part?.tool) ?? "tool", detail: toolArgDetail(state?.input) ?? str(part?.title) }];
    }
    case "step_finish": {
      const u = stepUsage(obj(part?.tokens));
      return u ? [u] : [{ type: "other", kind: type }];
    }
    case "error":
      // The run's session exists even when its first call failed: report it so the turn can be resumed.
      return [...(session ? [{ type: "init" as const, sessionId: session, model: null, version: null }] : []), errorOf(d)];
    default:
      // reasoning, done (read at exit) and anything newer.
      return [{ type: "other", kind: type }];
  }
}

/**
 * The whole stdout of one run (at exit) → the turn's summed usage and its `turn_end`: the last assistant
 * text, the step costs added up, the tools OpenCode refused on its own (auto-rejected permissions and
 * `done.rejected`), and `isError` when a session error was reported. Never throws; no events for no output.
 */
export function parseOpencodeOutput(whole: string): WorkerEvent[] {
  const lines = whole.split("\n").filter((l) => l.trim());
  if (!lines.length) return [];
  let input = 0;
  let output = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let steps = 0;
  let cost: number | null = null;
  let last: string | null = null;
  let error: string | null = null;
  const denied = new Set<string>();
  for (const line of lines) {
    const d = parseObject(line);
    if (!d) continue;
    const part = obj(d.part);
    switch (d.type) {
      case "text":
        if (str(part?.text) && part?.synthetic !== true) last = str(part?.text);
        break;
      case "tool_use": {
        const state = obj(part?.state);
        if (state?.status === "error" && REJECTED.test(str(state.error) ?? "")) denied.add(str(part?.tool) ?? "tool");
        break;
      }
      case "step_finish": {
        const u = stepUsage(obj(part?.tokens));
        if (u) {
          steps++;
          input += u.input;
          output += u.output;
          cacheRead += u.cacheRead;
          cacheWrite += u.cacheWrite;
        }
        const c = num(part?.cost);
        if (c !== null) cost = (cost ?? 0) + c;
        break;
      }
      case "error":
        error = errorOf(d).message;
        break;
      case "done":
        for (const r of Array.isArray(d.rejected) ? d.rejected : []) if (typeof r === "string") denied.add(r);
        break;
    }
  }
  const out: WorkerEvent[] = [];
  if (steps) out.push({ type: "usage", input, output, cacheRead, cacheWrite, contextTokens: null });
  out.push({ type: "turn_end", result: error ?? last, isError: error !== null, costUsd: cost, durationMs: null, numTurns: steps || null, denied: [...denied] });
  return out;
}
