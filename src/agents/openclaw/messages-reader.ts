import { readFileSync } from "node:fs";
import * as zlib from "node:zlib";
import { decompress } from "fzstd";
import { openAgentDb, pickTable, quoteIdent, readSchema } from "../../lib/sqlite-readonly.ts";
import { emptyRead, exitCodeIn, isObject, str, type TranscriptEntry, type TranscriptRead, tail, textOf, toolCallEntries, tsOf } from "../transcript-entry.ts";

type Json = Record<string, unknown>;

/**
 * The full-text reader of an OpenClaw session (pi session format, FORMATS.md §5): the `<sessionId>.jsonl`
 * transcript of older builds, or the `transcript_events` rows of the agent's SQLite store (`event_json`, or
 * `event_zstd` when compressed) when `path` is the database. Lines in order; user, assistant and toolResult
 * messages, prompt errors, model changes and compactions.
 */
export function readOpenclawMessages(path: string, sessionId: string): TranscriptRead {
  const out = emptyRead();
  const events = path.endsWith(".sqlite") || path.endsWith(".db") ? fromDb(path, sessionId, out) : fromJsonl(path, out);
  for (const e of events) lineEntries(out, e);
  return out;
}

function fromJsonl(path: string, out: { parseErrors: number }): Json[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines: Json[] = [];
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    try {
      const v: unknown = JSON.parse(raw);
      if (isObject(v)) lines.push(v);
    } catch {
      out.parseErrors++;
    }
  }
  return lines;
}

type ZstdSync = (b: Uint8Array) => Buffer;
const nodeZstd = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
const unzstd = (blob: Uint8Array) => {
  const out = nodeZstd ? nodeZstd(blob) : decompress(blob);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("utf8");
};

function fromDb(path: string, sessionId: string, out: { parseErrors: number }): Json[] {
  const lines: Json[] = [];
  let db: ReturnType<typeof openAgentDb>;
  try {
    db = openAgentDb(path);
  } catch {
    out.parseErrors++;
    return lines;
  }
  try {
    const schema = readSchema(db);
    const T = pickTable(schema, ["transcript_events"], ["session_id", "seq"]);
    if (!T) return lines;
    const cols = schema.get(T)!;
    const j = cols.has("event_json") ? "event_json" : "NULL";
    const z = cols.has("event_zstd") ? "event_zstd" : "NULL";
    const rows = db.prepare(`SELECT ${j} AS j, ${z} AS z FROM ${quoteIdent(T)} WHERE session_id = ? ORDER BY seq`).all(sessionId) as {
      j: string | null;
      z: Uint8Array | null;
    }[];
    for (const r of rows) {
      try {
        const text = r.j ?? (r.z ? unzstd(r.z) : null);
        if (text === null) continue;
        const v: unknown = JSON.parse(text);
        if (isObject(v)) lines.push(v);
      } catch {
        out.parseErrors++;
      }
    }
  } finally {
    db.close();
  }
  return lines;
}

function lineEntries(out: TranscriptRead, line: Json): void {
  const ts = tsOf(line.timestamp);
  const push = (e: TranscriptEntry) => out.entries.push(e);
  switch (line.type) {
    case "session":
      out.cwd = str(line.cwd) ?? out.cwd;
      return;
    case "model_change":
      out.model = str(line.modelId) ?? out.model;
      return;
    case "compaction":
      push({ kind: "compaction", ts });
      return;
    case "custom": {
      const data = isObject(line.data) ? line.data : {};
      if (line.customType === "model-snapshot") out.model = str(data.modelId) ?? out.model;
      else if (line.customType === "openclaw:prompt-error") push({ kind: "error", text: str(data.error) ?? "prompt failed", ts: tsOf(data.timestamp) ?? ts });
      return;
    }
    case "message":
      if (isObject(line.message)) message(out, line.message, ts ?? tsOf(line.message.timestamp), push);
      return;
    default:
      return;
  }
}

function message(out: TranscriptRead, m: Json, ts: number | null, push: (e: TranscriptEntry) => void): void {
  if (m.role === "user") {
    const t = textOf(m.content).trim();
    if (t) push({ kind: "user", text: t, ts });
    return;
  }
  if (m.role === "toolResult") {
    const output = textOf(m.content);
    const details = isObject(m.details) ? m.details : {};
    const code = typeof details.exitCode === "number" ? details.exitCode : exitCodeIn(output);
    push({
      kind: "tool-result",
      id: str(m.toolCallId),
      exitCode: code,
      isError: m.isError === true || (code !== null && code !== 0),
      output: tail(output),
      ts,
    });
    return;
  }
  if (m.role !== "assistant") return;
  out.model = str(m.model) ?? out.model;
  const u = isObject(m.usage) ? m.usage : null;
  if (u) {
    const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    const ctx = n(u.input) + n(u.cacheRead) + n(u.cacheWrite);
    if (ctx > 0) out.contextTokens = ctx;
  }
  for (const b of Array.isArray(m.content) ? m.content : []) {
    if (!isObject(b)) continue;
    if (b.type === "text" && typeof b.text === "string" && b.text.trim()) push({ kind: "assistant", text: b.text, ts });
    else if (b.type === "toolCall" && typeof b.name === "string") for (const e of toolCallEntries(str(b.id), b.name, b.arguments, ts)) push(e);
  }
  const err = str(m.errorMessage);
  if (m.stopReason === "error" || err) push({ kind: "error", text: err ?? "assistant turn ended in an error", ts });
}
