import { classifyError, type ErrorReason } from "../error-reason.ts";
import type { SessionState, TurnUsage } from "../session.ts";

/**
 * What we keep of one OpenClaw transcript (pi session format v3), whether it came from a JSONL file
 * or from `transcript_events` rows. It is small and JSON-serialisable: it lives in the `files` table
 * state so the next cycle continues from it instead of re-reading the transcript.
 */
export interface PiTranscriptState {
  sessionId: string | null;
  cwd: string | null;
  firstTs: number | null;
  lastTs: number | null;
  messageCount: number;
  /** The model in use: latest model_change / model-snapshot, overridden by an assistant message's own. */
  model: string | null;
  provider: string | null;
  /** The model the latest assistant message actually ran on. */
  lastAssistantModel: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** input + cacheRead + cacheWrite of the latest assistant usage; null after a compaction until the next turn. */
  contextTokens: number | null;
  /** When the latest usage (or compaction) was recorded: lets a newer transcript win over an older store figure. */
  contextAt: number | null;
  compactions: number;
  state: SessionState;
  /** Classified reason of the latest error the transcript records (rate_limit, timeout, billing, ...). */
  lastErrorReason: ErrorReason | null;
  lastErrorText: string | null;
  lastErrorAt: number | null;
}

/** One assistant turn's usage, for the `turns` table. */
export type PiTurn = TurnUsage;

export const emptyPiState = (): PiTranscriptState => ({
  sessionId: null,
  cwd: null,
  firstTs: null,
  lastTs: null,
  messageCount: 0,
  model: null,
  provider: null,
  lastAssistantModel: null,
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  contextTokens: null,
  contextAt: null,
  compactions: 0,
  state: "unknown",
  lastErrorReason: null,
  lastErrorText: null,
  lastErrorAt: null,
});

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** Epoch ms from an ISO string or an epoch number (seconds or ms). */
export function toMs(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v < 1e11 ? v * 1000 : v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/**
 * Applies one transcript line (already parsed) to the state, in place. Returns the turn it
 * describes when it is an assistant message with usage. Unknown line types are ignored: the
 * format grows new ones often.
 */
export function applyPiLine(s: PiTranscriptState, line: unknown): PiTurn | null {
  if (!isObject(line)) return null;
  const ts = toMs(line.timestamp);
  const touch = (at: number | null) => {
    if (at === null) return;
    if (s.firstTs === null || at < s.firstTs) s.firstTs = at;
    if (s.lastTs === null || at > s.lastTs) s.lastTs = at;
  };
  switch (line.type) {
    case "session":
      s.sessionId ??= str(line.id);
      s.cwd = str(line.cwd) ?? s.cwd;
      touch(ts);
      return null;
    case "model_change":
      s.model = str(line.modelId) ?? s.model;
      s.provider = str(line.provider) ?? s.provider;
      return null;
    case "compaction":
      s.compactions++;
      s.contextTokens = null;
      s.contextAt = ts;
      touch(ts);
      return null;
    case "custom":
      return applyCustom(s, line, ts, touch);
    case "message":
      return isObject(line.message) ? applyMessage(s, line.message, ts, touch) : null;
    default:
      return null;
  }
}

/**
 * A `toolResult` message line, recognised from its first bytes without parsing it (tool output is
 * most of a transcript's bytes and says nothing we count): a turn is in progress.
 */
export function applyToolResult(s: PiTranscriptState, ts: number | null): void {
  if (ts !== null) {
    if (s.firstTs === null || ts < s.firstTs) s.firstTs = ts;
    if (s.lastTs === null || ts > s.lastTs) s.lastTs = ts;
  }
  s.state = "running";
}

function applyCustom(s: PiTranscriptState, line: Json, ts: number | null, touch: (t: number | null) => void): null {
  const data = isObject(line.data) ? line.data : {};
  if (line.customType === "model-snapshot") {
    s.model = str(data.modelId) ?? s.model;
    s.provider = str(data.provider) ?? s.provider;
  } else if (line.customType === "openclaw:prompt-error") {
    const text = str(data.error) ?? "prompt failed";
    const at = toMs(data.timestamp) ?? ts;
    s.lastErrorText = text.slice(0, 300);
    s.lastErrorReason = classifyError(text);
    s.lastErrorAt = at;
    s.state = s.lastErrorReason === "aborted" ? "idle" : "errored";
    touch(at);
  }
  return null;
}

function applyMessage(s: PiTranscriptState, m: Json, ts: number | null, touch: (t: number | null) => void): PiTurn | null {
  const at = ts ?? toMs(m.timestamp);
  touch(at);
  const role = m.role;
  if (role === "user") {
    s.messageCount++;
    s.state = "running";
    return null;
  }
  if (role === "toolResult") {
    s.state = "running";
    return null;
  }
  if (role !== "assistant") return null;
  s.messageCount++;
  const model = str(m.model);
  if (model) {
    s.model = model;
    s.lastAssistantModel = model;
  }
  s.provider = str(m.provider) ?? s.provider;
  const stop = str(m.stopReason);
  const errorText = str(m.errorMessage);
  if (stop === "error" || errorText) {
    const text = errorText ?? "assistant turn ended in an error";
    s.lastErrorText = text.slice(0, 300);
    s.lastErrorReason = classifyError(text);
    s.lastErrorAt = at;
  }
  if (stop === "toolUse") s.state = "running";
  else if (stop === "error") s.state = "errored";
  else if (stop === "aborted") s.state = "idle";
  else if (stop) s.state = "idle";

  const u = isObject(m.usage) ? m.usage : null;
  if (!u) return null;
  const input = num(u.input);
  const output = num(u.output);
  const cacheRead = num(u.cacheRead);
  const cacheWrite = num(u.cacheWrite);
  // A failed turn often carries all-zero usage; it says nothing about the context.
  if (input + output + cacheRead + cacheWrite === 0) return null;
  s.input += input;
  s.output += output;
  s.cacheRead += cacheRead;
  s.cacheWrite += cacheWrite;
  s.contextTokens = input + cacheRead + cacheWrite;
  s.contextAt = at;
  return {
    ts: at ?? 0,
    model: model ?? s.model,
    input,
    output,
    cacheRead,
    cacheWrite,
    contextTokens: s.contextTokens,
  };
}
