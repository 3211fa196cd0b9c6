import type { Config } from "../../config/schema.ts";
import { contextPercent, windowFromTable } from "../context-window.ts";
import { blankRecord, type SessionRecord, type SessionState, sessionUid } from "../session.ts";
import { configuredModel, configuredWindow, type OpenClawConfig } from "./config.ts";
import { type EntrySummary, parseSessionKey } from "./entry.ts";
import type { PiTranscriptState } from "./transcript.ts";

/** One `session_windows` row (SQLite era): one session id generation of a session key. */
export interface WindowRow {
  sessionId: string;
  sessionKey: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  endedAt: number | null;
  status: string | null;
  chatType: string | null;
  channel: string | null;
  accountId: string | null;
  modelProvider: string | null;
  model: string | null;
  parentSessionKey: string | null;
}

/** Why a store entry has no transcript we can read. */
export type TranscriptProblem = "null-path" | "missing-file" | null;

/** Everything known about one OpenClaw session, from whichever era's store and transcript. */
export interface OpenClawParts {
  agentId: string;
  sessionId: string;
  key: string | null;
  entry: EntrySummary | null;
  window: WindowRow | null;
  tx: PiTranscriptState | null;
  storage: "json" | "sqlite";
  /** The transcript file, or the SQLite store holding the transcript. */
  path: string | null;
  sizeBytes: number;
  transcriptProblem: TranscriptProblem;
  parseErrors: number;
  lastParseError: string | null;
  /** False for an older window of a key that has moved on to a new session id (reset, rollover). */
  current: boolean;
  /** The session id a session key currently maps to, to link a subagent to its parent. */
  resolveKey?: (key: string) => string | null;
}

const max = (...xs: (number | null | undefined)[]): number | null => {
  let m: number | null = null;
  for (const x of xs) if (typeof x === "number" && (m === null || x > m)) m = x;
  return m;
};

const errorStatuses = new Set(["failed", "killed", "timeout"]);

/**
 * Builds the session row (pure). Context: the store's `totalTokens` while OpenClaw marks it fresh,
 * unless the transcript has a newer usage record; window: the entry's `contextTokens`, else
 * openclaw.json (model window capped by `agents.defaults.contextTokens`), else the config table.
 */
export function openclawRecord(p: OpenClawParts, oc: OpenClawConfig | null, config: Config, now: number): SessionRecord {
  const { entry, window: w, tx } = p;
  const r = blankRecord("openclaw", p.agentId, p.sessionId, now);
  const key = p.key ?? w?.sessionKey ?? null;
  const chatType = entry?.chatType ?? w?.chatType ?? null;
  const info = key ? parseSessionKey(key, chatType) : null;
  const channel = info?.channel ?? entry?.channel ?? w?.channel ?? null;
  const peer = info?.peer?.startsWith("any:") && channel ? `${channel}${info.peer.slice(3)}` : (info?.peer ?? null);
  const provider = entry?.modelProvider ?? tx?.provider ?? w?.modelProvider ?? null;
  const model = tx?.lastAssistantModel ?? entry?.model ?? tx?.model ?? w?.model ?? null;

  const storeFresh = entry && entry.totalTokens !== null && entry.totalTokens > 0 && entry.totalTokensFresh !== false;
  const txNewer = tx?.contextAt != null && entry?.updatedAt != null && tx.contextAt > entry.updatedAt;
  const contextTokens = storeFresh && !txNewer ? entry.totalTokens : (tx?.contextTokens ?? null);
  const ownWindow = entry?.contextTokens ?? null;
  const contextWindow = ownWindow ?? (oc ? configuredWindow(oc, model, provider) : null) ?? windowFromTable(config, model);

  r.sessionKey = key;
  r.kind = info?.kind ?? "session";
  const parentKey = entry?.parentSessionKey ?? w?.parentSessionKey ?? null;
  const parentId = parentKey && p.resolveKey ? p.resolveKey(parentKey) : null;
  r.parentUid = parentId ? sessionUid("openclaw", p.agentId, parentId) : null;
  if (parentKey && r.kind === "session") r.kind = "subagent";
  r.project = tx?.cwd ?? null;
  r.title = entry?.title ?? null;
  r.model = model;
  r.firstActivity = entry?.startedAt ?? tx?.firstTs ?? w?.createdAt ?? null;
  r.lastActivity = max(entry?.updatedAt, tx?.lastTs, w?.updatedAt);
  r.messageCount = tx?.messageCount ?? 0;
  r.path = p.path;
  r.sizeBytes = p.sizeBytes;
  r.contextTokens = contextTokens;
  r.contextWindow = contextWindow;
  r.contextPercent = contextPercent(contextTokens, contextWindow);
  r.inputTokens = tx?.input || entry?.inputTokens || 0;
  r.outputTokens = tx?.output || entry?.outputTokens || 0;
  r.cacheReadTokens = tx?.cacheRead || entry?.cacheRead || 0;
  r.cacheWriteTokens = tx?.cacheWrite || entry?.cacheWrite || 0;
  r.parseErrors = p.parseErrors;
  r.lastParseError = p.lastParseError;
  r.state = stateOf(p);

  const extra: Record<string, unknown> = {
    channel,
    chatType,
    peer: r.kind === "main" ? null : peer,
    accountId: info?.accountId ?? entry?.accountId ?? w?.accountId ?? null,
    storage: p.storage,
    transcriptProblem: p.transcriptProblem,
  };
  if (p.storage === "json") extra.sessionFile = entry?.sessionFile ?? null;
  if (provider) extra.provider = provider;
  const configured = oc ? configuredModel(oc, p.agentId) : null;
  if (configured) extra.configuredModel = configured;
  if (entry) {
    const set = (k: string, v: unknown) => {
      if (v !== null && v !== undefined) extra[k] = v;
    };
    set("modelOverride", entry.modelOverride);
    set("modelOverrideSource", entry.modelOverrideSource);
    set("fallbackOriginModel", entry.fallbackOriginModel);
    set("fallbackNoticeSelectedModel", entry.fallbackNoticeSelectedModel);
    set("fallbackNoticeActiveModel", entry.fallbackNoticeActiveModel);
    set("fallbackNoticeReason", entry.fallbackNoticeReason);
  }
  if (tx?.lastAssistantModel) extra.lastAssistantModel = tx.lastAssistantModel;
  if (tx?.lastErrorReason) {
    extra.lastErrorReason = tx.lastErrorReason;
    extra.lastError = { at: tx.lastErrorAt, text: tx.lastErrorText };
  }
  extra.compactionCount = Math.max(entry?.compactionCount ?? 0, tx?.compactions ?? 0);
  const line = /^line (\d+)/.exec(p.lastParseError ?? "");
  if (line) extra.parseErrorLine = Number(line[1]);
  r.extra = extra;
  return r;
}

function stateOf(p: OpenClawParts): SessionState {
  if (!p.current || p.entry?.endedAt || p.window?.endedAt) return "ended";
  const status = p.entry?.status ?? p.window?.status ?? null;
  const fromTx = p.tx?.state ?? "unknown";
  if (fromTx !== "unknown") return fromTx;
  if (status === "running") return "running";
  if (status && errorStatuses.has(status)) return "errored";
  if (status === "done") return "idle";
  return "unknown";
}
