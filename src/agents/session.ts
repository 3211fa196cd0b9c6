/**
 * What a session is, for every agent: its identity (one uid whether found on disk or in a live stream),
 * the row the store keeps for it, and the per-turn usage a transcript fold yields.
 */

export type Platform = "openclaw" | "claude" | "codex" | "opencode" | "gemini";
export const platforms: readonly Platform[] = ["openclaw", "claude", "codex", "opencode", "gemini"];

/** Derived from file events only; `unknown` when the format does not say. */
export type SessionState = "running" | "waiting" | "idle" | "errored" | "ended" | "unknown";

/** One observed agent session, as kept in the `sessions` table (one row, updated in place). */
export interface SessionRecord {
  uid: string;
  platform: Platform;
  agentId: string | null;
  sessionId: string;
  sessionKey: string | null;
  kind: string;
  parentUid: string | null;
  project: string | null;
  title: string | null;
  model: string | null;
  firstActivity: number | null;
  lastActivity: number | null;
  messageCount: number;
  path: string | null;
  sizeBytes: number;
  contextTokens: number | null;
  contextWindow: number | null;
  contextPercent: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  parseErrors: number;
  lastParseError: string | null;
  state: SessionState;
  present: boolean;
  extra: Record<string, unknown>;
  scannedAt: number;
}

/** The stable key of a session across scans. */
export const sessionUid = (platform: Platform, agentId: string | null, sessionId: string) => `${platform}:${agentId ?? ""}:${sessionId}`;

/** One assistant turn's token usage before it is tied to a session: what a fold yields per usage record. */
export interface TurnUsage {
  /** epoch ms */
  ts: number;
  model: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** The context size after this turn, when the format says (null otherwise). */
  contextTokens: number | null;
}

/** Characters of a prompt kept as a session's title: enough to tell sessions apart, short enough for a row. */
export const promptTitleChars = 200;

/**
 * A person's prompt as a session title: one line, cut to `promptTitleChars`; null for empty text and for
 * context the harness injects (text that opens with a tag such as `<environment_context>`).
 */
export function promptTitle(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const line = text.replace(/\s+/g, " ").trim();
  if (!line || line.startsWith("<")) return null;
  return line.length > promptTitleChars ? `${line.slice(0, promptTitleChars - 1)}…` : line;
}

/** A session row with every figure at its "nothing known yet" value. */
export function blankRecord(platform: Platform, agentId: string | null, sessionId: string, now: number): SessionRecord {
  return {
    uid: sessionUid(platform, agentId, sessionId),
    platform,
    agentId,
    sessionId,
    sessionKey: null,
    kind: "session",
    parentUid: null,
    project: null,
    title: null,
    model: null,
    firstActivity: null,
    lastActivity: null,
    messageCount: 0,
    path: null,
    sizeBytes: 0,
    contextTokens: null,
    contextWindow: null,
    contextPercent: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    parseErrors: 0,
    lastParseError: null,
    state: "unknown",
    present: true,
    extra: {},
    scannedAt: now,
  };
}
