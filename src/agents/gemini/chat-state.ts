import { promptTitle, type SessionState } from "../session.ts";
import { textOf } from "../transcript-entry.ts";

/** One message as we remember it: just what counts need, never its content. */
export interface GeminiMessage {
  /** "user" | "gemini" | "error" | "info" | "warning" | ... as Gemini CLI writes it. */
  type: string;
  ts: number | null;
  model: string | null;
  input: number;
  output: number;
  cached: number;
  /** A tool call of this message has not finished yet. */
  pending: boolean;
  /** A tool call waits for the user's approval (`awaiting_approval`). */
  waiting?: boolean;
  /** A turns row has been written for this message (a re-append must not add another). */
  counted: boolean;
  /** Part of the current history (`order`); false once a rewind or checkpoint took it out. */
  live: boolean;
}

/**
 * What we keep of one Gemini CLI chat file between cycles (in the `files` table state). Chat files
 * are not plain logs: messages are re-appended with the same id (last wins), `$rewindTo` drops a
 * message and everything after it, and a `$set` with `messages` replaces the history. Keeping a
 * compact id → message map lets appended lines update the counts exactly without re-reading the
 * file. `order` is the current history; `msgs` also remembers messages a rewind or checkpoint took
 * out of it (their tokens were spent, and a later checkpoint may bring them back without their
 * tokens). The map is bounded: beyond `maxMessages` entries the oldest are folded into `folded`.
 */
export interface GeminiChatState {
  sessionId: string | null;
  projectHash: string | null;
  kind: string | null;
  startTime: number | null;
  lastUpdated: number | null;
  summary: string | null;
  /** The person's first prompt: the title until Gemini writes a summary. Absent in older stored states. */
  firstPrompt?: string | null;
  order: string[];
  msgs: Record<string, GeminiMessage>;
  /** Number of entries in `msgs`. */
  size: number;
  /** Messages folded out of the map to keep it bounded. */
  folded: { messages: number; input: number; output: number; cached: number };
  /**
   * "history" when the latest record replaced or cut the history (a checkpoint or `$rewindTo`):
   * a user message left last by it is not a request in flight (Gemini CLI rolls a failed request
   * back this way), so the state is unknown rather than running.
   */
  lastChange?: "message" | "history";
}

/** A turns-table row for a `gemini` message that carries tokens. */
export interface GeminiTurn {
  ts: number;
  model: string | null;
  input: number;
  output: number;
  cacheRead: number;
  contextTokens: number;
}

/** The session figures derived from the state (pure). */
export interface GeminiSummary {
  messageCount: number;
  model: string | null;
  contextTokens: number | null;
  firstTs: number | null;
  lastTs: number | null;
  input: number;
  output: number;
  cached: number;
  state: SessionState;
}

export const maxMessages = 4000;

export const emptyGeminiState = (): GeminiChatState => ({
  sessionId: null,
  projectHash: null,
  kind: null,
  startTime: null,
  lastUpdated: null,
  summary: null,
  order: [],
  msgs: {},
  size: 0,
  folded: { messages: 0, input: 0, output: 0, cached: 0 },
});

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const ms = (v: unknown): number | null => {
  if (typeof v !== "string") return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
};

const doneStatuses = new Set(["success", "error", "cancelled", "canceled", "completed"]);

function messageOf(raw: Json, prev: GeminiMessage | undefined): GeminiMessage {
  const tokens = isObject(raw.tokens) ? raw.tokens : null;
  const calls = Array.isArray(raw.toolCalls) ? raw.toolCalls : [];
  const pending = calls.some((c) => isObject(c) && typeof c.status === "string" && !doneStatuses.has(c.status));
  const waiting = calls.some((c) => isObject(c) && c.status === "awaiting_approval");
  return {
    type: str(raw.type) ?? prev?.type ?? "unknown",
    // A history checkpoint rewrites every timestamp to the resume time; the first sighting is the true one.
    ts: prev?.ts ?? ms(raw.timestamp),
    model: str(raw.model) ?? prev?.model ?? null,
    input: tokens ? num(tokens.input) : (prev?.input ?? 0),
    output: tokens ? num(tokens.output) : (prev?.output ?? 0),
    cached: tokens ? num(tokens.cached) : (prev?.cached ?? 0),
    pending: calls.length > 0 ? pending : (prev?.pending ?? false),
    waiting: calls.length > 0 ? waiting : (prev?.waiting ?? false),
    counted: prev?.counted ?? false,
    live: true,
  };
}

/** Folds the oldest entries into totals until the map is back under its bound (amortised: 10% at a time). */
function fold(s: GeminiChatState): void {
  if (s.size <= maxMessages) return;
  const target = Math.floor(maxMessages * 0.9);
  const take = (id: string, inHistory: boolean) => {
    const m = s.msgs[id];
    if (!m) return;
    if (inHistory && (m.type === "user" || m.type === "gemini")) s.folded.messages++;
    s.folded.input += m.input;
    s.folded.output += m.output;
    s.folded.cached += m.cached;
    delete s.msgs[id];
    s.size--;
  };
  // Messages outside the history go first: only their tokens still matter.
  for (const id of Object.keys(s.msgs)) {
    if (s.size <= target) return;
    if (!s.msgs[id]?.live) take(id, false);
  }
  while (s.size > target && s.order.length > 0) take(s.order.shift()!, true);
}

/** Adds or replaces one message; returns its turn when it first carries tokens. */
function upsertMessage(s: GeminiChatState, raw: Json, turns: GeminiTurn[]): void {
  const id = str(raw.id);
  if (!id) return;
  const prev = s.msgs[id];
  const m = messageOf(raw, prev);
  if (m.type === "user" && !s.firstPrompt) s.firstPrompt = promptTitle(textOf(raw.content));
  if (!prev) s.size++;
  if (!prev?.live) s.order.push(id);
  if (m.type === "gemini" && !m.counted && m.input + m.output > 0) {
    m.counted = true;
    turns.push({
      ts: m.ts ?? s.lastUpdated ?? 0,
      model: m.model,
      input: Math.max(0, m.input - m.cached),
      output: m.output,
      cacheRead: m.cached,
      contextTokens: m.input,
    });
  }
  s.msgs[id] = m;
  fold(s);
}

/**
 * Applies one parsed line of a chat file (or a whole legacy `.json` document) to the state, in
 * place, and returns the turns it adds. Unknown records are ignored.
 */
export function applyGeminiRecord(s: GeminiChatState, rec: unknown): GeminiTurn[] {
  const turns: GeminiTurn[] = [];
  if (!isObject(rec)) return turns;
  if (typeof rec.$rewindTo === "string") {
    const at = s.order.indexOf(rec.$rewindTo);
    if (at >= 0) unlink(s, s.order.splice(at));
    s.lastChange = "history";
    return turns;
  }
  const patch = isObject(rec.$set) ? rec.$set : null;
  const meta = patch ?? (rec.id === undefined ? rec : null);
  if (meta) {
    s.sessionId ??= str(meta.sessionId);
    s.projectHash = str(meta.projectHash) ?? s.projectHash;
    s.kind = str(meta.kind) ?? s.kind;
    const start = ms(meta.startTime);
    if (start !== null && (s.startTime === null || start < s.startTime)) s.startTime = start;
    s.lastUpdated = ms(meta.lastUpdated) ?? s.lastUpdated;
    s.summary = str(meta.summary) ?? s.summary;
    if (Array.isArray(meta.messages)) {
      replaceHistory(s, meta.messages, turns);
      s.lastChange = "history";
    }
    return turns;
  }
  upsertMessage(s, rec, turns);
  if (str(rec.id)) s.lastChange = "message";
  return turns;
}

/** Takes messages out of the history; they stay known (tokens spent, data for a later checkpoint). */
function unlink(s: GeminiChatState, ids: string[]): void {
  for (const id of ids) {
    const m = s.msgs[id];
    if (m) m.live = false;
  }
}

/** A checkpoint: the given list becomes the history; what we knew of each id is kept. */
function replaceHistory(s: GeminiChatState, list: unknown[], turns: GeminiTurn[]): void {
  unlink(s, s.order);
  s.order = [];
  for (const raw of list) if (isObject(raw)) upsertMessage(s, raw, turns);
}

/** Session figures from the state: counts, the latest context, and the state the last message implies. */
export function summarizeGemini(s: GeminiChatState): GeminiSummary {
  let input = s.folded.input;
  let output = s.folded.output;
  let cached = s.folded.cached;
  for (const m of Object.values(s.msgs)) {
    input += m.input;
    output += m.output;
    cached += m.cached;
  }
  let count = s.folded.messages;
  let model: string | null = null;
  let contextTokens: number | null = null;
  let firstTs: number | null = s.startTime;
  let lastTs: number | null = s.lastUpdated;
  let last: GeminiMessage | null = null;
  for (const id of s.order) {
    const m = s.msgs[id];
    if (!m) continue;
    if (m.type === "user" || m.type === "gemini") count++;
    if (m.type === "gemini") {
      model = m.model ?? model;
      if (m.input > 0) contextTokens = m.input;
    }
    if (m.ts !== null) {
      if (firstTs === null || m.ts < firstTs) firstTs = m.ts;
      if (lastTs === null || m.ts > lastTs) lastTs = m.ts;
    }
    if (m.type !== "info" && m.type !== "warning") last = m;
  }
  let state: SessionState = "unknown";
  if (last?.type === "user") state = s.lastChange === "history" ? "unknown" : "running";
  else if (last?.type === "gemini") state = last.waiting ? "waiting" : last.pending ? "running" : "idle";
  else if (last?.type === "error") state = "errored";
  return { messageCount: count, model, contextTokens, firstTs, lastTs, input, output, cached, state };
}
