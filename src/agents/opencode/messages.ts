import { classifyError, type ErrorReason } from "../error-reason.ts";
import type { SessionState, TurnUsage } from "../session.ts";

/**
 * The fields of one OpenCode message that asm uses, whichever era it came from (the `message.data`
 * JSON of the SQLite store, or a `storage/message/<sessionID>/<messageID>.json` file).
 */
export interface OpencodeMessage {
  id: string;
  role: string;
  created: number | null;
  completed: number | null;
  model: string | null;
  provider: string | null;
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
  /** A compaction summary written by OpenCode itself. */
  summary: boolean;
  finish: string | null;
  /** Error text (name + message) when the turn failed. */
  error: string | null;
  /** The working directory an assistant message ran in (`path.cwd`). */
  cwd?: string | null;
}

/** One assistant turn's usage, for the `turns` table. */
export type OpencodeTurn = TurnUsage;

/** The session figures derived from its messages. */
export interface OpencodeFigures {
  messageCount: number;
  firstTs: number | null;
  lastTs: number | null;
  model: string | null;
  provider: string | null;
  contextTokens: number | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  compactions: number;
  state: SessionState;
  lastErrorReason: ErrorReason | null;
  lastErrorText: string | null;
  turns: OpencodeTurn[];
  /** The first working directory an assistant message names: 0.x session files carry no directory. */
  cwd: string | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const time = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null);

/** Reads one message's JSON (`data` column or message file); null when it is not a message. */
export function opencodeMessage(id: string, data: unknown): OpencodeMessage | null {
  if (!isObject(data)) return null;
  const role = str(data.role);
  if (!role) return null;
  const t = isObject(data.time) ? data.time : {};
  const tokens = isObject(data.tokens) ? data.tokens : {};
  const cache = isObject(tokens.cache) ? tokens.cache : {};
  const userModel = isObject(data.model) ? data.model : {};
  const path = isObject(data.path) ? data.path : {};
  let error: string | null = null;
  if (isObject(data.error)) {
    const e = data.error;
    const d = isObject(e.data) ? e.data : {};
    const status = typeof d.statusCode === "number" ? ` (HTTP ${d.statusCode})` : "";
    error = `${str(e.name) ?? "Error"}: ${str(d.message) ?? str(e.message) ?? "failed"}${status}`;
  }
  return {
    id: str(data.id) ?? id,
    role,
    created: time(t.created),
    completed: time(t.completed),
    model: str(data.modelID) ?? str(userModel.modelID),
    provider: str(data.providerID) ?? str(userModel.providerID),
    input: num(tokens.input),
    output: num(tokens.output),
    reasoning: num(tokens.reasoning),
    cacheRead: num(cache.read),
    cacheWrite: num(cache.write),
    summary: data.summary === true,
    finish: str(data.finish),
    error,
    cwd: str(path.cwd),
  };
}

/**
 * Figures of a session from all its messages, ordered by creation (pure). Context is the latest
 * assistant turn's input + cache read + cache write (OpenCode's `input` excludes cached tokens);
 * a compaction summary is the old context being folded, so after one the context is unknown
 * until the next turn reports.
 */
export function opencodeFigures(messages: OpencodeMessage[]): OpencodeFigures {
  const sorted = [...messages].sort((a, b) => (a.created ?? 0) - (b.created ?? 0) || a.id.localeCompare(b.id));
  const f: OpencodeFigures = {
    messageCount: 0,
    firstTs: null,
    lastTs: null,
    model: null,
    provider: null,
    contextTokens: null,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    compactions: 0,
    state: "unknown",
    lastErrorReason: null,
    lastErrorText: null,
    turns: [],
    cwd: null,
  };
  for (const m of sorted) {
    if (m.role !== "user" && m.role !== "assistant") continue;
    f.messageCount++;
    const ts = m.completed ?? m.created;
    if (m.created !== null && (f.firstTs === null || m.created < f.firstTs)) f.firstTs = m.created;
    if (ts !== null && (f.lastTs === null || ts > f.lastTs)) f.lastTs = ts;
    if (m.role === "user") {
      f.state = "running";
      continue;
    }
    f.model = m.model ?? f.model;
    f.provider = m.provider ?? f.provider;
    f.cwd ??= m.cwd ?? null;
    if (m.error) {
      f.lastErrorText = m.error.slice(0, 300);
      f.lastErrorReason = classifyError(m.error);
      f.state = f.lastErrorReason === "aborted" ? "idle" : "errored";
    } else if (m.completed === null) f.state = "running";
    else f.state = m.finish === "tool-calls" || m.finish === "tool_calls" ? "running" : "idle";
    f.input += m.input;
    f.output += m.output + m.reasoning;
    f.cacheRead += m.cacheRead;
    f.cacheWrite += m.cacheWrite;
    const context = m.input + m.cacheRead + m.cacheWrite;
    if (m.summary) {
      f.compactions++;
      f.contextTokens = null;
    } else if (context > 0) f.contextTokens = context;
    if (context + m.output > 0) {
      f.turns.push({
        ts: ts ?? 0,
        model: m.model,
        input: m.input,
        output: m.output + m.reasoning,
        cacheRead: m.cacheRead,
        cacheWrite: m.cacheWrite,
        contextTokens: context,
      });
    }
  }
  return f;
}
