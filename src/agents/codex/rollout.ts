import { basename } from "node:path";
import { fields, isNullOrAbsent, jsonAt, numberAt, type Span, stringAt, stringIs, timeAt, whole } from "../../lib/json-fields.ts";
import type { ErrorReason } from "../error-reason.ts";
import { promptTitle, type SessionState, type TurnUsage } from "../session.ts";
import { ageState } from "../state.ts";
import { textOf } from "../transcript-entry.ts";
import { codexErrorReason } from "./errors.ts";

/**
 * Codex CLI rollouts (FORMATS.md §3, §9): `<root>/sessions/**\/rollout-*.jsonl` (scanned recursively, so the
 * date folders and any segmented layout are found) and `.jsonl.zst` (idle rollouts compressed by newer
 * versions), plus `<root>/archived_sessions/` (rows get `extra.archived`). A plain file and a `.zst` of the
 * same rollout are one session and the plain one wins; so does `sessions/` over `archived_sessions/`.
 *
 * What is derived, and how:
 * - session id: the uuid in the file name (the thread id), else `session_meta.payload.id`.
 * - model and cwd: the latest `turn_context` (cwd falls back to `session_meta`).
 * - context now = `last_token_usage.input_tokens` of the latest `token_count` whose `info` is not null (cached
 *   tokens are inside input; that is the figure the CLI itself shows); window = `info.model_context_window`,
 *   else `task_started.model_context_window`, else config. After `compacted` the context is 0 until the next
 *   `token_count`, as the CLI reports it.
 * - cumulative tokens from `total_token_usage`, stored in our columns as input = input − cached (so input +
 *   cacheRead is the prompt total, as for Claude), cacheRead = cached, output = output tokens.
 * - one `turns` row per `token_count` whose cumulative total moved (the CLI repeats one at a turn's start).
 * - subagent and forked rollouts (`session_meta.source` naming a parent thread, or `forked_from_id`) begin by
 *   replaying the parent's history, token counts included. Their token counts are ignored until the rollout's
 *   own first `task_started`/`turn_started` stamped at or after its `session_meta` time; rows link the parent
 *   through `parentUid` (kind "subagent" for subagents; forks stay "session" with `extra.forkedFrom`).
 * - state: running between task_started and task_complete; an interactive session whose turn completed or
 *   was aborted is waiting (idle after 10 minutes); `codex exec` runs and subagents whose turn completed are
 *   ended; a turn completed with an error, or ended by an `error` event, is errored; archived rollouts are
 *   ended; unknown when no turn event was seen.
 * - messages: user and agent messages (`event_msg` user_message/agent_message, or item_completed
 *   UserMessage/AgentMessage in newer versions; whichever a file has more of, never both added).
 */

/** Keys read from lines (constant arrays: json-fields compiles each once). */
const K_CWD_MODEL = ["cwd", "model"] as const;
const K_ERROR = ["error"] as const;
const K_SESSION_META = ["id", "timestamp", "cwd", "originator", "source", "forked_from_id"] as const;
const K_INFO_RATE_LIMITS = ["info", "rate_limits"] as const;
const K_ITEM = ["item"] as const;
const K_MESSAGE = ["message"] as const;
const K_MODEL_CONTEXT_WINDOW = ["model_context_window"] as const;
const K_PAYLOAD = ["payload"] as const;
const K_THREAD_NAME_NAME = ["thread_name", "name"] as const;
const K_TIMESTAMP_TYPE = ["timestamp", "type"] as const;
const K_TOKEN_INFO = ["total_token_usage", "last_token_usage", "model_context_window"] as const;
const K_TYPE = ["type"] as const;
const K_TYPE_CONTENT = ["type", "content"] as const;

type Phase = "running" | "completed" | "aborted" | "errored";

/** Per-file parser state, stored in `files.state` between cycles. */
export interface CodexState {
  metaId: string | null;
  cwd: string | null;
  model: string | null;
  title: string | null;
  /** The person's first prompt of this session (not a replayed parent's): the title when Codex named none. Absent in older stored states. */
  firstPrompt?: string | null;
  originator: string | null;
  sourceKind: string | null;
  parentId: string | null;
  forkedFrom: string | null;
  subagent: boolean;
  metaTs: number | null;
  /** For child rollouts: whether the replayed parent history is behind us. */
  ownTurns: boolean;
  first: number | null;
  last: number | null;
  legacyMessages: number;
  itemMessages: number;
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  cacheWrite: number;
  lastTotal: number | null;
  /**
   * Totals of earlier processes when the rollout's running total restarted: Codex before the thread total was
   * restored on resume (0.77 does this) starts `total_token_usage` from zero in every process that resumes.
   * Absent in states stored before it existed.
   */
  carried?: { input: number; cached: number; output: number; reasoning: number; cacheWrite: number };
  context: number | null;
  window: number | null;
  taskWindow: number | null;
  rateLimits: Record<string, unknown> | null;
  compactions: number;
  phase: Phase | null;
  lastError: { at: string | null; text: string } | null;
  lastErrorReason: ErrorReason | null;
  parseErrors: number;
  lastParseError: string | null;
  parseErrorLine: number | null;
}

export function freshCodexState(): CodexState {
  return {
    metaId: null,
    cwd: null,
    model: null,
    title: null,
    originator: null,
    sourceKind: null,
    parentId: null,
    forkedFrom: null,
    subagent: false,
    metaTs: null,
    ownTurns: true,
    first: null,
    last: null,
    legacyMessages: 0,
    itemMessages: 0,
    input: 0,
    cached: 0,
    output: 0,
    reasoning: 0,
    cacheWrite: 0,
    lastTotal: null,
    context: null,
    window: null,
    taskWindow: null,
    rateLimits: null,
    compactions: 0,
    phase: null,
    lastError: null,
    lastErrorReason: null,
    parseErrors: 0,
    lastParseError: null,
    parseErrorLine: null,
  };
}

function badLine(s: CodexState, lineNo: number, reason: string) {
  s.parseErrors++;
  s.lastParseError = `line ${lineNo}: ${reason}`;
  s.parseErrorLine = lineNo;
}

const usageKeys = ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens", "cache_write_input_tokens"] as const;

/** Finds the first value of `key` anywhere inside a small parsed JSON value (the subagent source variant's
 * exact nesting differs between versions; FORMATS.md §8). */
function findKey(v: unknown, key: string, depth = 0): unknown {
  if (depth > 6 || v === null || typeof v !== "object") return undefined;
  if (!Array.isArray(v) && key in (v as Record<string, unknown>)) return (v as Record<string, unknown>)[key];
  for (const child of Object.values(v as Record<string, unknown>)) {
    const found = findKey(child, key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

const rateWindow = (v: unknown) => {
  if (!v || typeof v !== "object") return undefined;
  const w = v as Record<string, unknown>;
  return { usedPercent: w.used_percent ?? null, windowMinutes: w.window_minutes ?? null, resetsAt: w.resets_at ?? null };
};

const T = {
  responseItem: Buffer.from("response_item"),
  eventMsg: Buffer.from("event_msg"),
  turnContext: Buffer.from("turn_context"),
  sessionMeta: Buffer.from("session_meta"),
  compacted: Buffer.from("compacted"),
};

/** Folds one rollout line into the state; emits a turn per token_count whose cumulative total moved. */
export function codexLine(s: CodexState, line: Buffer, lineNo: number, emit: (t: TurnUsage) => void): void {
  // Top-level keys come in order timestamp, (ordinal,) type, payload: the walk stops at `type`.
  const top = fields(line, whole(line), K_TIMESTAMP_TYPE);
  if (!top) {
    badLine(s, lineNo, "invalid JSON");
    return;
  }
  if (!top.type || line[top.type.start] !== 34) {
    badLine(s, lineNo, "no type");
    return;
  }
  touch(s, line, top.timestamp);
  // The bulk of a rollout (model input/output items, world state, usage records) is skipped unread.
  if (stringIs(line, top.type, T.responseItem)) return;
  const isEvent = stringIs(line, top.type, T.eventMsg);
  const isContext = !isEvent && stringIs(line, top.type, T.turnContext);
  const isMeta = !isEvent && !isContext && stringIs(line, top.type, T.sessionMeta);
  const isCompacted = !isEvent && !isContext && !isMeta && stringIs(line, top.type, T.compacted);
  if (!isEvent && !isContext && !isMeta && !isCompacted) return;
  if (isCompacted) {
    s.compactions++;
    if (s.ownTurns) s.context = 0;
    return;
  }
  const p = fields(line, whole(line), K_PAYLOAD)?.payload;
  if (!p) {
    badLine(s, lineNo, "line without payload");
    return;
  }
  if (isMeta) {
    sessionMeta(s, line, p, lineNo);
    return;
  }
  if (isContext) {
    const f = fields(line, p, K_CWD_MODEL);
    if (!f) {
      badLine(s, lineNo, "invalid turn_context");
      return;
    }
    s.model = stringAt(line, f.model) ?? s.model;
    s.cwd = stringAt(line, f.cwd) ?? s.cwd;
    return;
  }
  eventMsg(s, line, p, lineNo, top.timestamp, emit);
}

function touch(s: CodexState, line: Buffer, span: Span | undefined) {
  const ms = timeAt(line, span);
  if (Number.isNaN(ms)) return;
  if (s.first === null || ms < s.first) s.first = ms;
  if (s.last === null || ms > s.last) s.last = ms;
}

function sessionMeta(s: CodexState, line: Buffer, p: Span, lineNo: number) {
  const f = fields(line, p, K_SESSION_META);
  if (!f) {
    badLine(s, lineNo, "invalid session_meta");
    return;
  }
  s.metaId = stringAt(line, f.id) ?? s.metaId;
  s.cwd = s.cwd ?? stringAt(line, f.cwd);
  s.originator = stringAt(line, f.originator) ?? s.originator;
  const ts = stringAt(line, f.timestamp);
  s.metaTs = ts ? Date.parse(ts) || null : s.metaTs;
  const source = jsonAt(line, f.source);
  if (typeof source === "string") s.sourceKind = source;
  else if (source && typeof source === "object") {
    const keys = Object.keys(source);
    s.sourceKind = keys[0] ?? null;
    s.subagent = keys.some((k) => /sub_?agent/i.test(k));
    const parent = findKey(source, "parent_thread_id");
    if (typeof parent === "string") s.parentId = parent;
  }
  s.forkedFrom = stringAt(line, f.forked_from_id) ?? s.forkedFrom;
  // A child rollout replays its parent's history first: its own token counts start with its own first turn.
  if (s.parentId !== null || s.forkedFrom !== null) s.ownTurns = false;
}

function eventMsg(s: CodexState, line: Buffer, p: Span, lineNo: number, atSpan: Span | undefined, emit: (t: TurnUsage) => void) {
  const at = () => stringAt(line, atSpan);
  const head = fields(line, p, K_TYPE);
  if (!head) {
    badLine(s, lineNo, "invalid event_msg");
    return;
  }
  const kind = stringAt(line, head.type);
  switch (kind) {
    case "token_count":
      tokenCount(s, line, p, lineNo, atSpan, emit);
      return;
    case "task_started":
    case "turn_started": {
      const f = fields(line, p, K_MODEL_CONTEXT_WINDOW);
      s.taskWindow = numberAt(line, f?.model_context_window) ?? s.taskWindow;
      if (!s.ownTurns) {
        const ms = timeAt(line, atSpan);
        if (s.metaTs === null || Number.isNaN(ms) || ms >= s.metaTs) s.ownTurns = true;
      }
      s.phase = "running";
      return;
    }
    case "task_complete":
    case "turn_complete": {
      const f = fields(line, p, K_ERROR);
      if (f && !isNullOrAbsent(line, f.error)) {
        const err = jsonAt(line, f.error);
        const text = typeof err === "string" ? err : String(findKey(err, "message") ?? JSON.stringify(err));
        s.phase = "errored";
        s.lastError = { at: at(), text: text.slice(0, 300) };
        s.lastErrorReason = codexErrorReason(text);
      } else if (s.phase !== "errored") s.phase = "completed"; // an `error` event earlier in the turn stands
      return;
    }
    case "turn_aborted":
      s.phase = "aborted";
      return;
    case "error": {
      const f = fields(line, p, K_MESSAGE);
      const text = stringAt(line, f?.message) ?? "error";
      s.phase = "errored";
      s.lastError = { at: at(), text: text.slice(0, 300) };
      s.lastErrorReason = codexErrorReason(text);
      return;
    }
    case "user_message":
      if (s.ownTurns && !s.firstPrompt) s.firstPrompt = promptTitle(stringAt(line, fields(line, p, K_MESSAGE)?.message));
      s.legacyMessages++;
      return;
    case "agent_message":
      s.legacyMessages++;
      return;
    case "item_completed": {
      const item = fields(line, p, K_ITEM)?.item;
      const f = item ? fields(line, item, K_TYPE_CONTENT) : null;
      const t = f ? stringAt(line, f.type) : null;
      if (t === "UserMessage" || t === "AgentMessage") s.itemMessages++;
      if (t === "UserMessage" && s.ownTurns && !s.firstPrompt) s.firstPrompt = promptTitle(textOf(jsonAt(line, f?.content)));
      return;
    }
    case "thread_name_updated": {
      const f = fields(line, p, K_THREAD_NAME_NAME);
      s.title = stringAt(line, f?.thread_name) ?? stringAt(line, f?.name) ?? s.title;
      return;
    }
    default:
      return;
  }
}

function tokenCount(s: CodexState, line: Buffer, p: Span, lineNo: number, atSpan: Span | undefined, emit: (t: TurnUsage) => void) {
  const f = fields(line, p, K_INFO_RATE_LIMITS);
  if (!f) {
    badLine(s, lineNo, "invalid token_count");
    return;
  }
  if (!s.ownTurns) return; // the parent's replayed counts
  const limits = jsonAt(line, f.rate_limits) as Record<string, unknown> | null | undefined;
  if (limits && typeof limits === "object" && (limits.primary || limits.secondary)) {
    const rl: Record<string, unknown> = { observedAt: stringAt(line, atSpan) };
    const primary = rateWindow(limits.primary);
    const secondary = rateWindow(limits.secondary);
    if (primary) rl.primary = primary;
    if (secondary) rl.secondary = secondary;
    s.rateLimits = rl;
  }
  if (isNullOrAbsent(line, f.info)) return;
  const info = fields(line, f.info!, K_TOKEN_INFO);
  if (!info) {
    badLine(s, lineNo, "invalid token_count info");
    return;
  }
  s.window = numberAt(line, info.model_context_window) ?? s.window;
  const last = info.last_token_usage ? fields(line, info.last_token_usage, usageKeys) : null;
  const total = info.total_token_usage ? fields(line, info.total_token_usage, usageKeys) : null;
  if (last) s.context = numberAt(line, last.input_tokens) ?? s.context;
  if (!total) return;
  const totalTokens = numberAt(line, total.total_tokens);
  // A running total equal to the request's own usage is a process's first request; seen after other totals
  // (and not as a repeat), the total restarted with a resume: what was counted so far is carried over.
  const restarted =
    totalTokens !== null &&
    s.lastTotal !== null &&
    totalTokens !== s.lastTotal &&
    (totalTokens < s.lastTotal || (last !== null && numberAt(line, last.total_tokens) === totalTokens));
  if (restarted) {
    s.carried = { input: s.input, cached: s.cached, output: s.output, reasoning: s.reasoning, cacheWrite: s.cacheWrite };
  }
  const c = s.carried;
  s.input = add(c?.input, numberAt(line, total.input_tokens)) ?? s.input;
  s.cached = add(c?.cached, numberAt(line, total.cached_input_tokens)) ?? s.cached;
  s.output = add(c?.output, numberAt(line, total.output_tokens)) ?? s.output;
  s.reasoning = add(c?.reasoning, numberAt(line, total.reasoning_output_tokens)) ?? s.reasoning;
  s.cacheWrite = add(c?.cacheWrite, numberAt(line, total.cache_write_input_tokens)) ?? s.cacheWrite;
  if (totalTokens !== null && totalTokens === s.lastTotal) return;
  s.lastTotal = totalTokens;
  if (!last) return;
  const input = numberAt(line, last.input_tokens) ?? 0;
  const cached = numberAt(line, last.cached_input_tokens) ?? 0;
  const ts = timeAt(line, atSpan);
  emit({
    ts: Number.isNaN(ts) ? (s.last ?? 0) : ts,
    model: s.model,
    input: Math.max(0, input - cached),
    output: numberAt(line, last.output_tokens) ?? 0,
    cacheRead: cached,
    cacheWrite: numberAt(line, last.cache_write_input_tokens) ?? 0,
    contextTokens: input,
  });
}

/** A carried-over total plus this process's figure; null when the line has no figure. */
const add = (carried: number | undefined, n: number | null): number | null => (n === null ? null : (carried ?? 0) + n);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The thread id a rollout file name carries (`rollout-<local time>-<uuid>.jsonl[.zst]`), else its stem. */
export function rolloutId(path: string): string {
  const name = basename(path);
  const stem = name.endsWith(".zst") ? name.slice(0, -10) : name.slice(0, -6);
  const tail = stem.slice(-36);
  return UUID.test(tail) ? tail : stem;
}

export function codexState(s: CodexState, archived: boolean, now: number): SessionState {
  if (s.phase === null) return archived ? "ended" : "unknown";
  if (s.phase === "errored") return "errored";
  if (archived) return "ended";
  if (s.phase === "running") return ageState("running", s.last, now);
  const oneShot = s.subagent || s.originator === "codex_exec" || s.sourceKind === "exec";
  return oneShot ? "ended" : ageState("waiting", s.last, now);
}
