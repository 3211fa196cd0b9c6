import { type Json, num, obj, parseObject, str } from "../../lib/json-value.ts";
import { toolArgDetail, type WorkerEvent } from "../driver.ts";
import { reasonFromStatus } from "../error-reason.ts";
import { codexErrorReason } from "./errors.ts";

/**
 * `codex exec --json` (FORMATS.md §4, RUNNER.md §1.2) turned into worker events. Pure: the live runner and
 * the recorded fixtures go through the same code. The stream names no model and no context window; its
 * `turn.completed.usage` adds up every model call of the turn, so it is not the context size.
 */

/** The HTTP status an exec error text names ("last status: 429 Too Many Requests", "HTTP 500"), or null. */
export function statusInText(text: string): number | null {
  const m = /\b(?:status:?|http)\s*([1-5]\d\d)\b/i.exec(text) ?? /\b([45]\d\d) [A-Z][a-z]/.exec(text);
  return m ? Number(m[1]) : null;
}

/** "Reconnecting... 1/2 (…)": Codex is retrying on its own; the turn has not failed (yet). */
const RECONNECTING = /^Reconnecting\.\.\.\s*\d+\/\d+/;

function errorEvent(message: string, willRetry: boolean): WorkerEvent {
  const status = statusInText(message);
  const reason = codexErrorReason(message) ?? reasonFromStatus(status) ?? "error";
  return { type: "error", reason, message, status, willRetry };
}

function item(kind: string, it: Json | null): WorkerEvent[] {
  const type = str(it?.type) ?? "?";
  if (!it) return [{ type: "other", kind }];
  if (kind === "item.completed") {
    switch (type) {
      case "agent_message": {
        const text = str(it.text);
        return text ? [{ type: "text", text }] : [{ type: "other", kind: `${kind}/${type}` }];
      }
      // A tool is reported once, when it is done: exec sends `item.started` for some kinds and not for
      // others, and a line-by-line parser cannot pair them.
      case "command_execution":
        return [{ type: "tool", name: "shell", detail: str(it.command) }];
      case "file_change": {
        const changes = Array.isArray(it.changes) ? it.changes.map((c) => obj(c)) : [];
        const paths = changes.map((c) => (c ? `${str(c.kind) ?? "update"} ${str(c.path) ?? "?"}` : "?"));
        return [{ type: "tool", name: "file_change", detail: paths.length ? paths.join(", ") : null }];
      }
      case "mcp_tool_call": {
        const name = [str(it.server), str(it.tool)].filter(Boolean).join("/") || "mcp";
        return [{ type: "tool", name, detail: toolArgDetail(it.arguments) }];
      }
      case "web_search":
        return [{ type: "tool", name: "web_search", detail: str(it.query) }];
    }
  }
  return [{ type: "other", kind: `${kind}/${type}` }];
}

function usage(u: Json | null): WorkerEvent[] {
  if (!u) return [];
  const inputAll = num(u.input_tokens) ?? 0;
  const cacheRead = num(u.cached_input_tokens) ?? 0;
  return [
    {
      type: "usage",
      // Codex counts cached tokens inside input_tokens; the event keeps them apart, as Claude's does.
      input: Math.max(0, inputAll - cacheRead),
      output: num(u.output_tokens) ?? 0,
      cacheRead,
      cacheWrite: num(u.cache_write_input_tokens) ?? 0,
      contextTokens: null,
    },
  ];
}

const turnEnd = (isError: boolean, result: string | null): WorkerEvent => ({
  type: "turn_end",
  result,
  isError,
  costUsd: null,
  durationMs: null,
  numTurns: null,
  denied: [],
});

/** One stdout line of `codex exec --json` → events. Never throws. */
export function parseCodexLine(line: string): WorkerEvent[] {
  const d = parseObject(line);
  if (!d) return [{ type: "other", kind: "unparsed" }];
  const type = str(d.type) ?? "unknown";
  switch (type) {
    case "thread.started": {
      const id = str(d.thread_id);
      return id ? [{ type: "init", sessionId: id, model: null, version: null }] : [{ type: "other", kind: type }];
    }
    case "item.started":
    case "item.updated":
    case "item.completed":
      return item(type, obj(d.item));
    case "turn.completed":
      return [...usage(obj(d.usage)), turnEnd(false, null)];
    case "turn.failed": {
      const message = str(obj(d.error)?.message) ?? "turn failed";
      return [errorEvent(message, false), turnEnd(true, message)];
    }
    case "error": {
      const message = str(d.message) ?? "error";
      return [errorEvent(message, RECONNECTING.test(message))];
    }
    default:
      // Includes `turn.started`, `item.plan.delta` and newer builds' `request_user_input`, which exec
      // rejects on its own (RUNNER.md §1.2): shown, never answered.
      return [{ type: "other", kind: type }];
  }
}
