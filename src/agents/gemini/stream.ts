import { type Json, num, obj, parseObject, str } from "../../lib/json-value.ts";
import { toolArgDetail, type WorkerEvent } from "../driver.ts";
import { classifyError, type ErrorReason } from "../error-reason.ts";

/**
 * Gemini CLI's headless stream (`--output-format stream-json`, RUNNER.md §1.3, FORMATS.md §9) turned into
 * worker events. Pure: the live runner and the recorded fixtures go through the same code. The assistant's
 * text arrives as deltas (`delta: true`), passed on as text deltas. `result.stats` adds up every model call
 * of the turn (the `auto` router's classifier call included), so it is the context size only when the turn
 * was one call to one model.
 */

/** Gemini's error `type` (the CLI's error class names, `exitCodes.ts`) and message → the shared vocabulary. */
export function geminiErrorReason(type: string | null, message: string): ErrorReason {
  const t = (type ?? "").toLowerCase();
  if (t.includes("auth")) return "auth";
  // Google's RESOURCE_EXHAUSTED is its 429, worded "Resource has been exhausted (e.g. check quota)".
  if (/resource.?(has been )?exhausted/i.test(message) && !t.includes("terminal")) return "rate_limit";
  if (t.includes("quota")) return classifyError(message) === "rate_limit" ? "rate_limit" : "billing";
  if (t.includes("cancel") || t.includes("abort")) return "aborted";
  return classifyError(message);
}

/** The HTTP status inside Gemini's "[API Error: {…"code":401…}]" text, or null. */
export function statusInGeminiError(message: string): number | null {
  const m = /"code":\s*([1-5]\d\d)\b/.exec(message) ?? /\bstatus:?\s*([1-5]\d\d)\b/i.exec(message);
  return m ? Number(m[1]) : null;
}

function usage(stats: Json | null): WorkerEvent[] {
  if (!stats) return [];
  const inputAll = num(stats.input_tokens) ?? 0;
  const cacheRead = num(stats.cached) ?? 0;
  const output = num(stats.output_tokens) ?? 0;
  if (inputAll === 0 && output === 0) return [];
  const models = Object.values(obj(stats.models) ?? {}).map(obj);
  const oneCall = num(stats.tool_calls) === 0 && models.length === 1;
  return [
    {
      type: "usage",
      // `input` is input_tokens − cached (the CLI's own field); cached tokens are inside input_tokens.
      input: num(stats.input) ?? Math.max(0, inputAll - cacheRead),
      output,
      cacheRead,
      cacheWrite: 0,
      contextTokens: oneCall ? (num(models[0]?.input_tokens) ?? inputAll) : null,
    },
  ];
}

function result(d: Json): WorkerEvent[] {
  const stats = obj(d.stats);
  const isError = str(d.status) !== "success";
  const out: WorkerEvent[] = [];
  let message: string | null = null;
  if (isError) {
    const err = obj(d.error);
    message = str(err?.message) ?? "the turn failed";
    out.push({ type: "error", reason: geminiErrorReason(str(err?.type), message), message, status: statusInGeminiError(message), willRetry: false });
  }
  out.push(...usage(stats), {
    type: "turn_end",
    result: message,
    isError,
    costUsd: null,
    durationMs: num(stats?.duration_ms),
    numTurns: null,
    denied: [],
  });
  return out;
}

/** One stdout line of `gemini --output-format stream-json` → events. Never throws. */
export function parseGeminiLine(line: string): WorkerEvent[] {
  const d = parseObject(line);
  if (!d) return [{ type: "other", kind: "unparsed" }];
  const type = str(d.type) ?? "unknown";
  switch (type) {
    case "init": {
      const id = str(d.session_id);
      return id ? [{ type: "init", sessionId: id, model: str(d.model), version: null }] : [{ type: "other", kind: type }];
    }
    case "message": {
      const text = str(d.content);
      if (d.role !== "assistant" || !text) return [{ type: "other", kind: `message/${str(d.role) ?? "?"}` }];
      return [d.delta === true ? { type: "text", text, delta: true } : { type: "text", text }];
    }
    case "tool_use":
      return [{ type: "tool", name: str(d.tool_name) ?? "tool", detail: toolArgDetail(d.parameters) }];
    case "error": {
      // `severity: warning` (loop detected, …) does not end the turn; `error` does (MaxSessionTurns, …).
      const message = str(d.message) ?? "error";
      return [{ type: "error", reason: classifyError(message), message, status: null, willRetry: d.severity === "warning" }];
    }
    case "result":
      return result(d);
    default:
      // tool_result and anything newer.
      return [{ type: "other", kind: type }];
  }
}
