import { closeSync, openSync, readSync, statSync } from "node:fs";
import { MAX_LINE_BYTES, readLines } from "../../lib/jsonl-reader.ts";
import { readZstdLinesSync } from "../../lib/zstd.ts";
import { emptyRead, isObject, str, type TranscriptEntry, type TranscriptRead, tail, textOf, toolCallEntries, tsOf } from "../transcript-entry.ts";

/**
 * The full-text reader of a Codex rollout (`rollout-*.jsonl`, or `.jsonl.zst` once Codex compressed it;
 * FORMATS.md §3): the `response_item` lines are the conversation (user and assistant messages, function and
 * custom tool calls and their outputs), `event_msg` gives errors, `turn_context` the model and cwd,
 * `token_count` the context, `compacted` a compaction. The instructions Codex injects as user messages
 * (AGENTS.md, environment context) are not the person's words and are left out.
 */
export function readCodexMessages(path: string): TranscriptRead {
  const out = emptyRead();
  // Line by line, compressed or not: a line over the cap (a few KB of zstd can hold GBs) is skipped, never held.
  const onLine = (raw: Buffer) => {
    let line: unknown;
    try {
      line = JSON.parse(raw.toString("utf8"));
    } catch {
      if (raw.toString("utf8").trim()) out.parseErrors++;
      return;
    }
    if (isObject(line)) codexLineEntries(out, line);
  };
  try {
    if (path.endsWith(".zst")) out.parseErrors += readZstdLinesSync(path, onLine).oversized;
    else {
      const size = statSync(path).size;
      const read = readLines(path, { offset: 0, lineNo: 0 }, size, onLine);
      out.parseErrors += read.oversized;
      // The last line without its newline counts as a line, as it always did (a line over the cap as skipped).
      if (read.pending > MAX_LINE_BYTES) out.parseErrors++;
      else if (read.pending > 0) {
        const fd = openSync(path, "r");
        try {
          const rest = Buffer.alloc(read.pending);
          onLine(rest.subarray(0, readSync(fd, rest, 0, read.pending, read.offset)));
        } finally {
          closeSync(fd);
        }
      }
    }
  } catch {
    return out;
  }
  return out;
}

const injected =
  /^(<environment_context>|<user_instructions>|<INSTRUCTIONS>|# AGENTS\.md|<permissions|<skills_instructions>|<user_shell_command>|<turn_aborted>)/;

function codexLineEntries(out: TranscriptRead, line: Record<string, unknown>): void {
  const p = isObject(line.payload) ? line.payload : null;
  const ts = tsOf(line.timestamp);
  const push = (e: TranscriptEntry) => out.entries.push(e);
  switch (line.type) {
    case "session_meta":
      if (p) out.cwd ??= str(p.cwd);
      return;
    case "turn_context":
      if (p) {
        out.model = str(p.model) ?? out.model;
        out.cwd = str(p.cwd) ?? out.cwd;
      }
      return;
    case "compacted":
      push({ kind: "compaction", ts });
      return;
    case "response_item":
      if (p) responseItem(p, ts, push);
      return;
    case "event_msg":
      if (!p) return;
      if (p.type === "error") push({ kind: "error", text: str(p.message) ?? "error", ts });
      else if ((p.type === "task_complete" || p.type === "turn_complete") && p.error !== undefined && p.error !== null) {
        const e = p.error;
        push({ kind: "error", text: typeof e === "string" ? e : isObject(e) ? (str(e.message) ?? JSON.stringify(e)) : String(e), ts });
      } else if (p.type === "token_count" && isObject(p.info) && isObject(p.info.last_token_usage)) {
        const n = p.info.last_token_usage.input_tokens;
        if (typeof n === "number") out.contextTokens = n;
      } else if (p.type === "thread_settings_applied" && isObject(p.thread_settings)) out.model = str(p.thread_settings.model) ?? out.model;
      return;
    default:
      return;
  }
}

function responseItem(p: Record<string, unknown>, ts: number | null, push: (e: TranscriptEntry) => void): void {
  switch (p.type) {
    case "message": {
      const text = textOf(p.content).trim();
      if (!text) return;
      if (p.role === "user" && !injected.test(text)) push({ kind: "user", text, ts });
      else if (p.role === "assistant") push({ kind: "assistant", text, ts });
      return;
    }
    case "function_call": {
      let args: unknown = p.arguments;
      if (typeof args === "string") {
        try {
          args = JSON.parse(args);
        } catch {
          // a freeform argument string (apply_patch in some versions): kept as is
        }
      }
      for (const e of toolCallEntries(str(p.call_id), str(p.name) ?? "tool", args, ts)) push(e);
      return;
    }
    case "custom_tool_call":
      for (const e of toolCallEntries(str(p.call_id), str(p.name) ?? "tool", typeof p.input === "string" ? { input: p.input } : p.input, ts)) push(e);
      return;
    case "local_shell_call": {
      const action = isObject(p.action) ? p.action : {};
      for (const e of toolCallEntries(str(p.call_id) ?? str(p.id), "local_shell", { command: action.command }, ts)) push(e);
      return;
    }
    case "function_call_output":
    case "custom_tool_call_output": {
      const o = p.output;
      const text = typeof o === "string" ? o : isObject(o) ? (str(o.content) ?? textOf(o.content)) : textOf(o);
      let exitCode: number | null = null;
      let body = text;
      // Older builds wrap the output in JSON: {"output": "...", "metadata": {"exit_code": 0}}
      if (text.startsWith("{")) {
        try {
          const j: unknown = JSON.parse(text);
          if (isObject(j) && typeof j.output === "string") {
            body = j.output;
            if (isObject(j.metadata) && typeof j.metadata.exit_code === "number") exitCode = j.metadata.exit_code;
          }
        } catch {
          // plain text that starts with a brace
        }
      }
      const m = /(?:^Exit code:|Process exited with code) (-?\d+)/m.exec(body.slice(0, 400));
      if (m) exitCode = Number(m[1]);
      const isError = (exitCode !== null && exitCode !== 0) || (isObject(o) && o.success === false);
      push({ kind: "tool-result", id: str(p.call_id), exitCode, isError, output: tail(body), ts });
      return;
    }
    default:
      return;
  }
}
