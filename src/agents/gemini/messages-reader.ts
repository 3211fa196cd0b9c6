import { readFileSync } from "node:fs";
import { emptyRead, exitCodeIn, isObject, str, type TranscriptEntry, type TranscriptRead, tail, textOf, toolCallEntries, tsOf } from "../transcript-entry.ts";

type Json = Record<string, unknown>;

/**
 * The full-text reader of a Gemini CLI chat: the JSONL of newer builds (messages re-appended by id, last wins;
 * `$rewindTo` cuts the history, `$set.messages` replaces it) or the whole-document `.json` of older ones
 * (FORMATS.md §4). Only the current history is read. The CLI's own `<session_context>` setup message and the
 * function responses it sends back as user turns are not the person's words.
 */
export function readGeminiMessages(path: string): TranscriptRead {
  const out = emptyRead();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return out;
  }
  const order: string[] = [];
  const byId = new Map<string, Json>();
  // What the person typed stays part of the memory even when the CLI rolled it back out of the history
  // (it does that after a failed request); only an explicit rewind takes it out.
  const typed = new Map<string, Json>();
  const rewound = new Set<string>();
  const upsert = (m: Json) => {
    const id = str(m.id);
    if (!id) return;
    if (m.type === "user" && !typed.has(id)) typed.set(id, m);
    if (!byId.has(id) || !order.includes(id)) order.push(id);
    // A checkpoint re-lists messages without some fields (model, tokens): what an earlier copy said stays.
    const prev = byId.get(id);
    byId.set(id, prev ? { ...prev, ...m } : m);
  };
  const apply = (rec: unknown) => {
    if (!isObject(rec)) return;
    if (typeof rec.$rewindTo === "string") {
      const at = order.indexOf(rec.$rewindTo);
      if (at >= 0) for (const id of order.splice(at)) rewound.add(id);
      return;
    }
    const meta = isObject(rec.$set) ? rec.$set : rec.id === undefined ? rec : null;
    if (meta) {
      if (Array.isArray(meta.messages)) {
        order.length = 0;
        for (const m of meta.messages) if (isObject(m)) upsert(m);
      }
      return;
    }
    upsert(rec);
  };
  if (path.endsWith(".json")) {
    try {
      apply(JSON.parse(text));
    } catch {
      out.parseErrors++;
    }
  } else {
    for (const raw of text.split("\n")) {
      if (!raw.trim()) continue;
      try {
        apply(JSON.parse(raw));
      } catch {
        out.parseErrors++;
      }
    }
  }
  const history = order.map((id) => byId.get(id)).filter((m): m is Json => m !== undefined);
  const inHistory = new Set(order);
  for (const [id, m] of typed) {
    if (inHistory.has(id) || rewound.has(id)) continue;
    const ts = tsOf(m.timestamp) ?? 0;
    const at = history.findIndex((h) => (tsOf(h.timestamp) ?? 0) > ts);
    history.splice(at === -1 ? history.length : at, 0, m);
  }
  for (const m of history) messageEntries(out, m);
  return out;
}

function messageEntries(out: TranscriptRead, m: Json): void {
  const ts = tsOf(m.timestamp);
  const push = (e: TranscriptEntry) => out.entries.push(e);
  switch (m.type) {
    case "user": {
      const t = textOf(m.content).trim();
      if (t && !t.startsWith("<session_context>")) push({ kind: "user", text: t, ts });
      return;
    }
    case "gemini": {
      out.model = str(m.model) ?? out.model;
      if (isObject(m.tokens) && typeof m.tokens.input === "number" && m.tokens.input > 0) out.contextTokens = m.tokens.input;
      const t = textOf(m.content).trim();
      if (t) push({ kind: "assistant", text: t, ts });
      for (const c of Array.isArray(m.toolCalls) ? m.toolCalls : []) {
        if (!isObject(c) || typeof c.name !== "string") continue;
        const id = str(c.id);
        for (const e of toolCallEntries(id, c.name, c.args, tsOf(c.timestamp) ?? ts)) push(e);
        if (c.status === undefined && c.result === undefined) continue;
        const output = resultText(c);
        const isError = c.status === "error" || c.status === "cancelled";
        const code = exitCodeIn(output);
        push({ kind: "tool-result", id, exitCode: code, isError: isError || (code !== null && code !== 0), output: tail(output), ts: tsOf(c.timestamp) ?? ts });
      }
      return;
    }
    case "error":
      push({ kind: "error", text: textOf(m.content).trim() || "error", ts });
      return;
    default:
      return;
  }
}

/** A tool call's output: its function responses' `output`/`error`, else what the CLI displayed. */
function resultText(c: Json): string {
  const parts: string[] = [];
  for (const r of Array.isArray(c.result) ? c.result : []) {
    const fr = isObject(r) && isObject(r.functionResponse) ? r.functionResponse : null;
    const resp = fr && isObject(fr.response) ? fr.response : null;
    if (!resp) continue;
    const v = resp.output ?? resp.error ?? resp.llmContent;
    if (typeof v === "string") parts.push(v);
    else if (v !== undefined) parts.push(JSON.stringify(v));
  }
  if (parts.length === 0 && typeof c.resultDisplay === "string") parts.push(c.resultDisplay);
  return parts.join("\n");
}
