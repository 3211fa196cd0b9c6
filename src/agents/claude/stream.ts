import { type Json, num, obj, parseObject, str } from "../../lib/json-value.ts";
import type { PermissionAction, WorkerEvent } from "../driver.ts";
import { classifyError } from "../error-reason.ts";
import { questionPrompt } from "../questions.ts";
import { claudeErrorReason } from "./errors.ts";

/**
 * Claude Code's headless stream (`--output-format stream-json --verbose`, FORMATS.md §2, RUNNER.md §1.1)
 * and its control protocol (`control_request` on stdout when started with `--permission-prompt-tool stdio`)
 * turned into worker events. Pure: the live runner and the recorded fixtures go through the same code.
 */

/** The one argument of a tool call a person needs to judge it: the command, the file, the URL, the pattern. */
export function toolDetail(input: unknown): string | null {
  const o = obj(input);
  if (!o) return null;
  for (const k of ["command", "file_path", "path", "notebook_path", "url", "pattern", "query", "description", "prompt"]) {
    const v = str(o[k]);
    if (v) return v.length > 300 ? `${v.slice(0, 299)}…` : v;
  }
  return null;
}

function usageOf(u: Json | null): WorkerEvent | null {
  if (!u) return null;
  const input = num(u.input_tokens) ?? 0;
  const cacheWrite = num(u.cache_creation_input_tokens) ?? 0;
  const cacheRead = num(u.cache_read_input_tokens) ?? 0;
  return { type: "usage", input, output: num(u.output_tokens) ?? 0, cacheRead, cacheWrite, contextTokens: input + cacheWrite + cacheRead };
}

function assistant(d: Json): WorkerEvent[] {
  const m = obj(d.message);
  if (!m) return [{ type: "other", kind: "assistant" }];
  const out: WorkerEvent[] = [];
  const content = Array.isArray(m.content) ? m.content : [];
  if (d.error || d.is_api_error_message) {
    const text = content
      .map((c) => str(obj(c)?.text) ?? "")
      .join(" ")
      .trim();
    const reason = claudeErrorReason(num(d.api_error_status), str(d.error)) ?? "error";
    return [{ type: "error", reason, message: text || String(d.error), status: num(d.api_error_status) }];
  }
  for (const c of content) {
    const b = obj(c);
    if (!b) continue;
    if (b.type === "text" && str(b.text)) out.push({ type: "text", text: b.text as string });
    else if (b.type === "tool_use") out.push({ type: "tool", name: str(b.name) ?? "tool", detail: toolDetail(b.input) });
  }
  // One line per content block, each repeating the message's usage: report it with the last block only
  // would need look-ahead, so every line reports it and the runner keeps the latest (same figures).
  const u = m.model === "<synthetic>" ? null : usageOf(obj(m.usage));
  if (u) out.push(u);
  return out.length ? out : [{ type: "other", kind: "assistant" }];
}

function result(d: Json): WorkerEvent[] {
  // A declined AskUserQuestion is listed here too (recorded: claude/question-deny); it is a question nobody answered,
  // not a tool the policy refused, and the runner already records it as question-declined.
  const denied = Array.isArray(d.permission_denials)
    ? d.permission_denials.map((p) => str(obj(p)?.tool_name)).filter((x): x is string => x !== null && x !== "AskUserQuestion")
    : [];
  const terminal = str(d.terminal_reason);
  const isError = d.is_error === true || (str(d.subtype) ?? "success") !== "success";
  const out: WorkerEvent[] = [];
  const status = num(d.api_error_status);
  if (isError && terminal !== "aborted_streaming" && terminal !== "aborted_tools") {
    const text = str(d.result) ?? (Array.isArray(d.errors) ? d.errors.map(String).join("; ") : null) ?? str(d.subtype) ?? "error";
    out.push({ type: "error", reason: claudeErrorReason(status, null) ?? classifyError(text), message: text, status });
  }
  // The result's usage sums every API call of the turn (the assistant lines carry one call each).
  const total = usageOf(obj(d.usage));
  if (total) out.push({ ...total, contextTokens: null } as WorkerEvent);
  out.push({
    type: "turn_end",
    result: str(d.result),
    isError,
    costUsd: num(d.total_cost_usd),
    durationMs: num(d.duration_ms),
    numTurns: num(d.num_turns),
    denied,
    interrupted: terminal === "aborted_streaming" || terminal === "aborted_tools",
  });
  return out;
}

function system(d: Json): WorkerEvent[] {
  switch (d.subtype) {
    case "init": {
      const id = str(d.session_id);
      return id ? [{ type: "init", sessionId: id, model: str(d.model), version: str(d.claude_code_version) }] : [{ type: "other", kind: "system/init" }];
    }
    case "api_retry": {
      const status = num(d.error_status);
      return [
        {
          type: "error",
          reason: claudeErrorReason(status, str(d.error)) ?? "error",
          message: `retry ${num(d.attempt) ?? "?"}/${num(d.max_retries) ?? "?"}: ${str(d.error) ?? status ?? "error"}`,
          status,
          willRetry: true,
        },
      ];
    }
    case "model_fallback":
      return [
        {
          type: "model_switch",
          from: str(d.from_model) ?? str(d.original_model) ?? null,
          to: str(d.to_model) ?? str(d.fallback_model) ?? "?",
          reason: str(d.reason),
        },
      ];
    default:
      return [{ type: "other", kind: `system/${str(d.subtype) ?? "?"}` }];
  }
}

function controlRequest(d: Json): WorkerEvent[] {
  const id = str(d.request_id);
  const r = obj(d.request);
  if (!id || !r) return [{ type: "other", kind: "control_request" }];
  if (r.subtype !== "can_use_tool") return [{ type: "other", kind: `control_request/${str(r.subtype) ?? "?"}` }];
  const tool = str(r.tool_name) ?? "tool";
  const input = r.input;
  // AskUserQuestion's can_use_tool (recorded: claude/question) carries `input.questions[{question, header,
  // options[{label, description}], multiSelect}]` and `requires_user_interaction: true`; the answer goes back as
  // an allow whose updatedInput adds `answers` (claudeDriver.encodeReply).
  if (tool === "AskUserQuestion") {
    const qs = (Array.isArray(obj(input)?.questions) ? (obj(input)!.questions as unknown[]) : []).map((q) => ({
      question: str(obj(q)?.question) ?? "",
      options: (Array.isArray(obj(q)?.options) ? (obj(q)!.options as unknown[]) : []).flatMap((o) => {
        const label = str(obj(o)?.label) ?? str(o);
        return label ? [{ label, description: str(obj(o)?.description) }] : [];
      }),
    }));
    const { text, options } = questionPrompt(qs);
    return [{ type: "question", requestId: id, text, ...(options.length ? { options } : {}), input }];
  }
  return [
    {
      type: "permission",
      requestId: id,
      tool,
      detail: toolDetail(input) ?? str(r.blocked_path),
      reason: str(r.decision_reason) ?? str(r.description) ?? str(r.title),
      input,
      action: claudeAction(tool, input),
    },
  ];
}

/** Claude's built-in tools in the terms auto-response rules match on; MCP and other tools are `other`. */
function claudeAction(tool: string, input: unknown): PermissionAction {
  const i = obj(input);
  const path = str(i?.file_path) ?? str(i?.notebook_path) ?? str(i?.path);
  switch (tool) {
    case "Read":
    case "Glob":
    case "Grep":
    case "LS":
      return { kind: "read", paths: [path ?? "."] };
    case "Edit":
    case "MultiEdit":
    case "Write":
    case "NotebookEdit":
      return path ? { kind: "edit", paths: [path] } : { kind: "other" };
    case "Bash": {
      const command = str(i?.command);
      return command ? { kind: "command", command } : { kind: "other" };
    }
    default:
      return { kind: "other" };
  }
}

/** One stdout line of `claude -p --output-format stream-json --verbose` → events. Never throws. */
export function parseClaudeLine(line: string): WorkerEvent[] {
  const d = parseObject(line);
  if (!d) return [{ type: "other", kind: "unparsed" }];
  switch (d.type) {
    case "system":
      return system(d);
    case "assistant":
      return assistant(d);
    case "result":
      return result(d);
    case "control_request":
      return controlRequest(d);
    case "control_cancel_request": {
      const id = str(d.request_id);
      return id ? [{ type: "request_cancelled", requestId: id }] : [{ type: "other", kind: "control_cancel_request" }];
    }
    case "rate_limit_event": {
      const info = obj(d.rate_limit_info);
      if (info?.status === "rejected")
        return [{ type: "error", reason: "rate_limit", message: `rate limit ${str(info.rate_limit_type) ?? ""} reached`.trim(), willRetry: false }];
      return [{ type: "other", kind: "rate_limit_event" }];
    }
    default:
      return [{ type: "other", kind: str(d.type) ?? "unknown" }];
  }
}
