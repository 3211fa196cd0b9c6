import type { Config } from "../../config/schema.ts";
import { elements, fields, isNullOrAbsent, isTrue, numberAt, type Span, sameBytes, stringAt, stringIs, timeAt, whole } from "../../lib/json-fields.ts";
import { contextWindowFor } from "../context-window.ts";
import type { ErrorReason } from "../error-reason.ts";
import { promptTitle, type SessionState, type TurnUsage } from "../session.ts";
import { ageState } from "../state.ts";
import { claudeErrorReason } from "./errors.ts";

/**
 * Claude Code transcripts (FORMATS.md §1, §9): `<root>/<encoded cwd>/<session uuid>.jsonl`, subagents under
 * `<session uuid>/subagents/**\/agent-*.jsonl` (kind "subagent") and, before CLI 2.1.2, `agent-*.jsonl` beside
 * the sessions (kind "sidechain"). Subagents are rows of their own linked by `parentUid`, never top-level
 * sessions, and their context is their own.
 *
 * What is derived, and how:
 * - context now = input + cache_creation + cache_read of the last assistant line that is not a sidechain
 *   replay, not `<synthetic>`, and after the latest `compact_boundary`; right after a boundary it is null
 *   (unknown) until the next assistant usage.
 * - cumulative tokens: one usage per `message.id` (the CLI writes one line per content block, each repeating
 *   the usage). Sidechain (`/btw`) replays in a main transcript are skipped: they repeat the parent's ids.
 * - window: config (`models.contextWindows`, else the default); a `[1m]` model id means 1,000,000; and when
 *   the observed context ever exceeds the table's window on a Claude model other than Haiku, the session
 *   must be running with the 1M window (the transcript never names it), so 1,000,000 is assumed.
 * - state: running while a turn is open (the last chain event is a prompt or tool result awaiting the model,
 *   or an assistant tool_use / unfinished block); waiting when the last assistant turn ended (end_turn, or the
 *   person interrupted) and the session was active within 10 minutes, idle after that; errored when the last
 *   assistant line is an API error; a subagent whose turn ended is ended (it never waits for a person);
 *   unknown when no chain event says. See state.ts for the time-based parts.
 * - messages: prompts typed by a person (not meta/injected text, not compact summaries, not tool results)
 *   plus distinct assistant message ids.
 * - a subagent's tokens stay on its own row (sum rows by `parentUid` for a session's whole spend); the
 *   parent's context never includes them.
 */

/** Keys read from lines (constant arrays: json-fields compiles each once). */
const K_CONTENT = ["content"] as const;
const K_STATUS = ["status"] as const;
const K_TYPE = ["type"] as const;
const K_TYPE_TEXT = ["type", "text"] as const;

type Phase = "prompt" | "tool-result" | "tool-use" | "streaming" | "end-turn" | "api-error";
export type Kind = "session" | "subagent" | "sidechain";

/** Per-file parser state, stored in `files.state` between cycles (keep it small: no unbounded lists). */
export interface ClaudeState {
  kind: Kind;
  /** The session id the lines carry (a sidechain's is its parent's). */
  lineSessionId: string | null;
  cwd: string | null;
  model: string | null;
  customTitle: string | null;
  aiTitle: string | null;
  summary: string | null;
  /** The person's latest prompt (`last-prompt` lines): the title when the session has no other. Absent in older stored states. */
  lastPrompt?: string | null;
  first: number | null;
  last: number | null;
  messages: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** The most recent assistant message ids (dedupe across block lines and across cycles). */
  ids: string[];
  context: number | null;
  maxContext: number;
  compactions: number;
  apiErrors: number;
  lastApiError: { at: string | null; text: string } | null;
  /** `system` api_error lines: a request the CLI retried (429, 529, ...), whether or not the turn then failed. */
  apiRetries?: number;
  lastRetry?: { at: string | null; status: number | null } | null;
  lastErrorReason: ErrorReason | null;
  phase: Phase | null;
  parseErrors: number;
  lastParseError: string | null;
  parseErrorLine: number | null;
}

const RECENT_IDS = 8;
const ONE_MILLION = 1_000_000;

const topKeys = [
  "type",
  "subtype",
  "isSidechain",
  "timestamp",
  "cwd",
  "sessionId",
  "message",
  "isApiErrorMessage",
  "isCompactSummary",
  "isMeta",
  "apiErrorStatus",
  "error",
  "customTitle",
  "aiTitle",
  "summary",
  "lastPrompt",
] as const;
const messageKeys = ["id", "model", "stop_reason", "usage", "content"] as const;
const usageKeys = ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] as const;

/** Metadata lines start with their type; only these few matter (titles). */
const META_PREFIX = Buffer.from('{"type":"');
const titleTypes = new Set(["custom-title", "ai-title", "summary", "last-prompt"]);
/** Conversation types: read whatever key order a version writes. */
const chainTypes = new Set(["user", "assistant", "system"]);
const INTERRUPTED = Buffer.from("[Request interrupted by user");

export function freshClaudeState(kind: Kind): ClaudeState {
  return {
    kind,
    lineSessionId: null,
    cwd: null,
    model: null,
    customTitle: null,
    aiTitle: null,
    summary: null,
    first: null,
    last: null,
    messages: 0,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    ids: [],
    context: null,
    maxContext: 0,
    compactions: 0,
    apiErrors: 0,
    lastApiError: null,
    lastErrorReason: null,
    phase: null,
    parseErrors: 0,
    lastParseError: null,
    parseErrorLine: null,
  };
}

function badLine(s: ClaudeState, lineNo: number, reason: string) {
  s.parseErrors++;
  s.lastParseError = `line ${lineNo}: ${reason}`;
  s.parseErrorLine = lineNo;
}

/** The type of a metadata line (`{"type":"x",...`), read in place; null for chain lines. */
function metaType(line: Buffer): string | null {
  if (line.length < 12 || line.compare(META_PREFIX, 0, META_PREFIX.length, 0, META_PREFIX.length) !== 0) return null;
  const end = line.indexOf(34, META_PREFIX.length);
  return end === -1 ? null : line.toString("latin1", META_PREFIX.length, end);
}

/** Byte forms of the values the hot path compares (no decoding per line). */
const B = {
  user: Buffer.from("user"),
  assistant: Buffer.from("assistant"),
  system: Buffer.from("system"),
  compactBoundary: Buffer.from("compact_boundary"),
  apiError: Buffer.from("api_error"),
  toolUse: Buffer.from("tool_use"),
  toolResult: Buffer.from("tool_result"),
  text: Buffer.from("text"),
  image: Buffer.from("image"),
  synthetic: Buffer.from("<synthetic>"),
};

/** The raw bytes of the last cwd, model and message id seen per state: repeated values are not decoded again. */
interface RawSeen {
  cwd: Uint8Array | null;
  model: Uint8Array | null;
  id: Uint8Array | null;
}
const rawSeen = new WeakMap<ClaudeState, RawSeen>();
const copyOf = (line: Buffer, span: Span) => Uint8Array.prototype.slice.call(line, span.start, span.end);

/** Folds one transcript line into the state; emits a turn per new assistant message id. */
export function claudeLine(s: ClaudeState, line: Buffer, lineNo: number, emit: (t: TurnUsage) => void): void {
  const meta = metaType(line);
  if (meta !== null && !titleTypes.has(meta) && !chainTypes.has(meta)) {
    // Queue operations, request records, cost state, snapshots...: not part of the conversation. Check only
    // that the line is whole, so a damaged one is still counted.
    if (line[line.length - 1] !== 125) badLine(s, lineNo, "truncated line");
    return;
  }
  const f = fields(line, whole(line), topKeys);
  if (!f) {
    badLine(s, lineNo, "invalid JSON");
    return;
  }
  if (!f.type || line[f.type.start] !== 34) {
    badLine(s, lineNo, "no type");
    return;
  }
  const isUser = stringIs(line, f.type, B.user);
  const isAssistant = !isUser && stringIs(line, f.type, B.assistant);
  const isSystem = !isUser && !isAssistant && stringIs(line, f.type, B.system);
  if (!isUser && !isAssistant && !isSystem) {
    const type = stringAt(line, f.type);
    if (type === "custom-title") s.customTitle = stringAt(line, f.customTitle) ?? s.customTitle;
    else if (type === "ai-title") s.aiTitle = stringAt(line, f.aiTitle) ?? s.aiTitle;
    else if (type === "summary") s.summary = stringAt(line, f.summary) ?? s.summary;
    else if (type === "last-prompt") s.lastPrompt = promptTitle(stringAt(line, f.lastPrompt)) ?? s.lastPrompt ?? null;
    // attachment, progress and unknown chain types: activity only.
    else touch(s, line, f.timestamp);
    return;
  }
  // A `/btw` side question replays the parent's lines inside the main transcript: not this session's own.
  if (s.kind === "session" && isTrue(line, f.isSidechain)) return;
  touch(s, line, f.timestamp);
  let raw = rawSeen.get(s);
  if (!raw) {
    raw = { cwd: null, model: null, id: null };
    rawSeen.set(s, raw);
  }
  if (f.cwd && !sameBytes(line, f.cwd, raw.cwd)) {
    s.cwd = stringAt(line, f.cwd) ?? s.cwd;
    raw.cwd = copyOf(line, f.cwd);
  }
  if (s.lineSessionId === null) s.lineSessionId = stringAt(line, f.sessionId);

  if (isSystem) {
    if (stringIs(line, f.subtype, B.compactBoundary)) {
      s.compactions++;
      s.context = null; // stale until the next assistant usage
    } else if (stringIs(line, f.subtype, B.apiError)) {
      s.apiRetries = (s.apiRetries ?? 0) + 1;
      const e = f.error && line[f.error.start] === 123 ? fields(line, f.error, K_STATUS) : null;
      s.lastRetry = { at: stringAt(line, f.timestamp), status: numberAt(line, e?.status) };
    }
    return;
  }
  const msg = f.message;
  if (!msg) {
    badLine(s, lineNo, `${isUser ? "user" : "assistant"} line without message`);
    return;
  }
  if (isUser) userLine(s, line, lineNo, f, msg);
  else assistantLine(s, raw, line, lineNo, f, msg, emit);
}

function touch(s: ClaudeState, line: Buffer, span: Span | undefined) {
  const ms = timeAt(line, span);
  if (Number.isNaN(ms)) return;
  if (s.first === null || ms < s.first) s.first = ms;
  if (s.last === null || ms > s.last) s.last = ms;
}

type Top = Partial<Record<(typeof topKeys)[number], Span>>;

/** "[Request interrupted by user" near the start of a prompt: the person stopped the turn. */
const interrupted = (line: Buffer, content: Span) => line.subarray(content.start, Math.min(content.end, content.start + 160)).indexOf(INTERRUPTED) !== -1;

function userLine(s: ClaudeState, line: Buffer, lineNo: number, f: Top, msg: Span) {
  if (isTrue(line, f.isCompactSummary)) return; // the model's summary after /compact, not a person
  const m = fields(line, msg, K_CONTENT);
  if (!m) {
    badLine(s, lineNo, "invalid message");
    return;
  }
  const content = m.content;
  if (!content) return;
  if (line[content.start] === 34) {
    if (isTrue(line, f.isMeta)) return;
    s.messages++;
    s.phase = interrupted(line, content) ? "end-turn" : "prompt";
    return;
  }
  const blocks = elements(line, content);
  if (!blocks) {
    badLine(s, lineNo, "invalid content");
    return;
  }
  let toolResult = false;
  let text = false;
  for (const b of blocks) {
    const t = fields(line, b, K_TYPE)?.type;
    if (stringIs(line, t, B.toolResult)) toolResult = true;
    else if (stringIs(line, t, B.text) || stringIs(line, t, B.image)) text = true;
  }
  if (toolResult) s.phase = "tool-result";
  else if (text && !isTrue(line, f.isMeta)) {
    s.messages++;
    s.phase = interrupted(line, content) ? "end-turn" : "prompt";
  }
}

function assistantLine(s: ClaudeState, raw: RawSeen, line: Buffer, lineNo: number, f: Top, msg: Span, emit: (t: TurnUsage) => void) {
  const m = fields(line, msg, messageKeys);
  if (!m) {
    badLine(s, lineNo, "invalid message");
    return;
  }
  const synthetic = stringIs(line, m.model, B.synthetic);
  // The CLI also writes harness replies as `<synthetic>` lines, e.g. 2.0.x's "No response requested." after a
  // `/compact`, and marks those `isApiErrorMessage: false`: a turn that ended, not an API error.
  if (synthetic && f.isApiErrorMessage && !isTrue(line, f.isApiErrorMessage)) {
    s.phase = "end-turn";
    return;
  }
  if (isTrue(line, f.isApiErrorMessage) || synthetic) {
    s.apiErrors++;
    s.phase = "api-error";
    const text = firstText(line, m.content);
    s.lastErrorReason = claudeErrorReason(numberAt(line, f.apiErrorStatus), stringAt(line, f.error), text);
    s.lastApiError = { at: stringAt(line, f.timestamp), text };
    return;
  }
  if (m.model && !sameBytes(line, m.model, raw.model)) {
    s.model = stringAt(line, m.model) ?? s.model;
    raw.model = copyOf(line, m.model);
  }
  let toolUse = stringIs(line, m.stop_reason, B.toolUse);
  if (!toolUse && m.content) {
    for (const b of elements(line, m.content) ?? []) if (stringIs(line, fields(line, b, K_TYPE)?.type, B.toolUse)) toolUse = true;
  }
  s.phase = toolUse ? "tool-use" : isNullOrAbsent(line, m.stop_reason) ? "streaming" : "end-turn";

  // One line per content block, each repeating the message's id and usage: count an id once. Blocks of one
  // message are adjacent, so comparing bytes with the previous id settles nearly every line.
  if (m.id) {
    if (sameBytes(line, m.id, raw.id)) return;
    const id = stringAt(line, m.id);
    raw.id = copyOf(line, m.id);
    if (id !== null) {
      if (s.ids.includes(id)) return;
      s.ids.push(id);
      if (s.ids.length > RECENT_IDS) s.ids.shift();
    }
  }
  const u = m.usage ? fields(line, m.usage, usageKeys) : null;
  if (!u) return;
  const input = numberAt(line, u.input_tokens) ?? 0;
  const output = numberAt(line, u.output_tokens) ?? 0;
  const cacheWrite = numberAt(line, u.cache_creation_input_tokens) ?? 0;
  const cacheRead = numberAt(line, u.cache_read_input_tokens) ?? 0;
  s.messages++;
  s.input += input;
  s.output += output;
  s.cacheWrite += cacheWrite;
  s.cacheRead += cacheRead;
  const context = input + cacheWrite + cacheRead;
  s.context = context;
  if (context > s.maxContext) s.maxContext = context;
  const ts = timeAt(line, f.timestamp);
  emit({
    ts: Number.isNaN(ts) ? (s.last ?? 0) : ts,
    model: s.model,
    input,
    output,
    cacheRead,
    cacheWrite,
    contextTokens: context,
  });
}

function firstText(line: Buffer, content: Span | undefined): string {
  for (const b of (content && elements(line, content)) || []) {
    const t = fields(line, b, K_TYPE_TEXT);
    if (t && stringAt(line, t.type) === "text") return (stringAt(line, t.text) ?? "").slice(0, 300);
  }
  return "";
}

/** The window for a model and the largest context seen (see the module comment for the 1M rule). */
export function claudeWindow(model: string | null, maxContext: number, config: Config): number {
  if (model?.includes("[1m]")) return ONE_MILLION;
  // Not the catalog: it gives the API's largest window (1M with the long-context beta), while Claude Code runs a
  // model at 200k unless its name says [1m] or a session is seen past 200k (the rule below).
  const w = contextWindowFor(model, config, null, false).tokens;
  if (maxContext > w && w < ONE_MILLION && model?.startsWith("claude-") && !model.includes("haiku")) return ONE_MILLION;
  return w;
}

export function claudeState(s: ClaudeState, now: number): SessionState {
  switch (s.phase) {
    case null:
      return "unknown";
    case "api-error":
      return "errored";
    case "end-turn":
      return s.kind === "session" ? ageState("waiting", s.last, now) : "ended";
    default:
      return ageState("running", s.last, now);
  }
}
