/**
 * The parts of an OpenClaw `SessionEntry` (a `sessions.json` value, or `entry_json` in the
 * SQLite era) that asm keeps. Small and JSON-serialisable: the store's summary is remembered
 * between cycles so a transcript that grows can be combined with it without re-reading the store.
 */
export interface EntrySummary {
  sessionId: string;
  updatedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  status: string | null;
  chatType: string | null;
  channel: string | null;
  accountId: string | null;
  from: string | null;
  title: string | null;
  parentSessionKey: string | null;
  model: string | null;
  modelProvider: string | null;
  modelOverride: string | null;
  modelOverrideSource: string | null;
  fallbackOriginModel: string | null;
  fallbackNoticeSelectedModel: string | null;
  fallbackNoticeActiveModel: string | null;
  fallbackNoticeReason: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheRead: number | null;
  cacheWrite: number | null;
  totalTokens: number | null;
  totalTokensFresh: boolean | null;
  contextTokens: number | null;
  compactionCount: number | null;
  /** As written in the store: absolute, relative to the sessions dir, or null. */
  sessionFile: string | null;
  /** The store has a `sessionFile` key at all (null there means "no transcript path"). */
  hasSessionFile: boolean;
}

/** Kind and routing parsed from a session key such as `agent:main:telegram:group:-100123`. */
export interface KeyInfo {
  agentId: string | null;
  kind: "main" | "dm" | "group" | "channel" | "subagent" | "cron" | "session";
  channel: string | null;
  accountId: string | null;
  /** "<channel>:<kind>:<id>[:topic:<id>]" (kind dm/group/channel), the chat this session answers; null for main. */
  peer: string | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : null);
const time = (v: unknown): number | null => {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v < 1e11 ? v * 1000 : v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
};

/** Summarises one SessionEntry; null when it has no usable session id. */
export function summarizeEntry(raw: unknown): EntrySummary | null {
  if (!isObject(raw)) return null;
  const sessionId = str(raw.sessionId);
  if (!sessionId) return null;
  const origin = isObject(raw.origin) ? raw.origin : {};
  const model = (a: unknown, b: unknown) => {
    const m = str(a);
    const p = str(b);
    return m && p && !m.includes("/") ? `${p}/${m}` : m;
  };
  return {
    sessionId,
    updatedAt: time(raw.updatedAt),
    startedAt: time(raw.sessionStartedAt) ?? time(raw.startedAt),
    endedAt: time(raw.endedAt),
    status: str(raw.status),
    chatType: str(raw.chatType) ?? str(origin.chatType),
    channel: str(raw.channel) ?? str(raw.lastChannel) ?? str(origin.provider) ?? str(origin.surface),
    accountId: str(raw.lastAccountId) ?? str(origin.accountId),
    from: str(origin.from),
    title: str(raw.displayName) ?? str(raw.label) ?? str(raw.subject) ?? str(origin.label),
    parentSessionKey: str(raw.parentSessionKey) ?? str(raw.spawnedBy),
    model: str(raw.model),
    modelProvider: str(raw.modelProvider),
    modelOverride: model(raw.modelOverride, raw.providerOverride),
    modelOverrideSource: str(raw.modelOverrideSource),
    fallbackOriginModel: model(raw.modelOverrideFallbackOriginModel, raw.modelOverrideFallbackOriginProvider),
    fallbackNoticeSelectedModel: str(raw.fallbackNoticeSelectedModel),
    fallbackNoticeActiveModel: str(raw.fallbackNoticeActiveModel),
    fallbackNoticeReason: str(raw.fallbackNoticeReason),
    inputTokens: int(raw.inputTokens),
    outputTokens: int(raw.outputTokens),
    cacheRead: int(raw.cacheRead),
    cacheWrite: int(raw.cacheWrite),
    totalTokens: int(raw.totalTokens),
    totalTokensFresh: typeof raw.totalTokensFresh === "boolean" ? raw.totalTokensFresh : null,
    contextTokens: int(raw.contextTokens) || null,
    compactionCount: int(raw.compactionCount),
    sessionFile: str(raw.sessionFile),
    hasSessionFile: "sessionFile" in raw,
  };
}

const peerKinds: Record<string, "dm" | "group" | "channel"> = {
  dm: "dm",
  direct: "dm",
  group: "group",
  channel: "channel",
};

/**
 * Reads a session key. Keys are `agent:<agentId>:<rest>` where rest is `main` (the shared main
 * session), `[<channel>:[<account>:]]<dm|direct|group|channel>:<peerId>[:thread:<id>]`,
 * `subagent:<id>`, `cron:<id>`, or something newer we do not know (kind "session").
 * `chatType` (direct/group/channel) decides when the key does not.
 */
export function parseSessionKey(key: string, chatType: string | null = null): KeyInfo {
  const parts = key.split(":");
  let agentId: string | null = null;
  let rest = parts;
  if (parts[0] === "agent" && parts.length >= 3) {
    agentId = parts[1] || null;
    rest = parts.slice(2);
  }
  const info: KeyInfo = { agentId, kind: "session", channel: null, accountId: null, peer: null };
  if (rest.length === 1 && rest[0] === "main") return { ...info, kind: "main" };
  if (rest[0] === "subagent") return { ...info, kind: "subagent" };
  if (rest[0] === "cron") return { ...info, kind: "cron" };
  const at = rest.findIndex((p, i) => peerKinds[p] !== undefined && i + 1 < rest.length);
  if (at >= 0 && at <= 2) {
    const kind = peerKinds[rest[at]!]!;
    const channel = at >= 1 ? rest[0]! : null;
    const accountId = at >= 2 ? rest[1]! : null;
    const id = rest[at + 1]!;
    // A forum topic or thread is its own conversation: it is part of the peer.
    const sub = rest[at + 2];
    const thread = (sub === "topic" || sub === "thread") && rest[at + 3] ? `:${sub}:${rest[at + 3]}` : "";
    return { agentId, kind, channel, accountId, peer: `${channel ?? "any"}:${kind}:${id}${thread}` };
  }
  const byType = chatType ? peerKinds[chatType] : undefined;
  return byType ? { ...info, kind: byType } : info;
}
