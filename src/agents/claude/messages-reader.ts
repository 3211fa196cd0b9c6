import { readFileSync } from "node:fs";
import { emptyRead, isObject, str, type TranscriptEntry, type TranscriptRead, tail, textOf, toolCallEntries, tsOf } from "../transcript-entry.ts";

/**
 * The full-text reader of a Claude Code transcript (`<session>.jsonl`, FORMATS.md §1): every person's prompt,
 * assistant text, tool call and result, TodoWrite plan, API error and compaction, in file order. Sidechain
 * (`/btw`) replays, meta lines, compact summaries and the CLI's local-command echoes are not the person's words
 * and are left out. A line that does not parse (a half-written last line) is counted, never fatal.
 */
export function readClaudeMessages(path: string): TranscriptRead {
  const out = emptyRead();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return out;
  }
  const lines: Record<string, unknown>[] = [];
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    try {
      const line: unknown = JSON.parse(raw);
      if (isObject(line)) lines.push(line);
    } catch {
      out.parseErrors++;
    }
  }
  // A main transcript replays `/btw` side chains: skip them. A subagent file is all side chain: keep it.
  const main = lines.some((l) => (l.type === "user" || l.type === "assistant") && l.isSidechain !== true);
  for (const line of lines) if (!(main && line.isSidechain === true)) claudeLineEntries(out, line);
  return out;
}

const personText = (text: string): string | null => {
  const t = text.trim();
  if (!t) return null;
  if (t.startsWith("<local-command-") || t.startsWith("Caveat: The messages below") || t.startsWith("[Request interrupted by user")) return null;
  if (t.startsWith("<system-reminder>")) return null;
  const cmd = /^<command-name>([^<]*)<\/command-name>[\s\S]*?(?:<command-args>([\s\S]*?)<\/command-args>)?/.exec(t);
  if (cmd) return `${cmd[1]!.trim()}${cmd[2]?.trim() ? ` ${cmd[2].trim()}` : ""}`;
  return t;
};

function claudeLineEntries(out: TranscriptRead, line: Record<string, unknown>): void {
  const type = line.type;
  if (type !== "user" && type !== "assistant" && type !== "system") return;
  const ts = tsOf(line.timestamp);
  out.cwd = str(line.cwd) ?? out.cwd;
  const push = (e: TranscriptEntry) => out.entries.push(e);
  if (type === "system") {
    if (line.subtype === "compact_boundary") push({ kind: "compaction", ts });
    return;
  }
  const msg = isObject(line.message) ? line.message : null;
  if (!msg) return;
  if (type === "user") {
    if (line.isCompactSummary === true) return;
    const content = msg.content;
    if (typeof content === "string") {
      if (line.isMeta === true) return;
      const t = personText(content);
      if (t) push({ kind: "user", text: t, ts });
      return;
    }
    if (!Array.isArray(content)) return;
    const result = isObject(line.toolUseResult) ? line.toolUseResult : null;
    const texts: string[] = [];
    for (const b of content) {
      if (!isObject(b)) continue;
      if (b.type === "tool_result") {
        const body = typeof b.content === "string" ? b.content : textOf(b.content);
        const stderr = result ? (str(result.stderr) ?? "") : "";
        const output = stderr && !body.includes(stderr) ? `${body}\n${stderr}` : body;
        const isError = b.is_error === true;
        const code = /^Exit code (\d+)/.exec(body);
        push({ kind: "tool-result", id: str(b.tool_use_id), exitCode: code ? Number(code[1]) : null, isError, output: tail(output), ts });
      } else if (b.type === "text" && typeof b.text === "string" && line.isMeta !== true) texts.push(b.text);
    }
    const t = personText(texts.join("\n"));
    if (t) push({ kind: "user", text: t, ts });
    return;
  }
  // assistant
  const model = str(msg.model);
  if (line.isApiErrorMessage === true || model === "<synthetic>") {
    const t = textOf(msg.content).trim();
    if (line.isApiErrorMessage === true && t) push({ kind: "error", text: t, ts });
    return;
  }
  if (model) out.model = model;
  const usage = isObject(msg.usage) ? msg.usage : null;
  if (usage) {
    const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    const ctx = n(usage.input_tokens) + n(usage.cache_creation_input_tokens) + n(usage.cache_read_input_tokens);
    if (ctx > 0) out.contextTokens = ctx;
  }
  if (!Array.isArray(msg.content)) return;
  for (const b of msg.content) {
    if (!isObject(b)) continue;
    if (b.type === "text" && typeof b.text === "string" && b.text.trim()) push({ kind: "assistant", text: b.text, ts });
    else if (b.type === "tool_use" && typeof b.name === "string") for (const e of toolCallEntries(str(b.id), b.name, b.input, ts)) push(e);
  }
}
