import { shellQuote } from "../lib/shell-quote.ts";
import type { ErrorReason } from "./error-reason.ts";
import type { Platform, SessionRecord } from "./session.ts";

/**
 * What an agent can do or has, so checks, core and chat ask instead of branching on its name.
 * Adding an agent means answering these once, in its folder.
 */
export interface AgentCapabilities {
  /** asm can reset or clean up one of its sessions (an entry in the agent's own session store). */
  resetSessions: boolean;
  /** Its sessions belong to chat peers that bindings route to agents (duplicate and stray detection). */
  chatPeers: boolean;
  /** It runs a gateway service that the gateway check probes and the restart action restarts. */
  gateway: boolean;
  /** It keeps its own model failover chain and records the switch in the session entry. */
  ownFailover: boolean;
}

/** One model-fallback decision: a request on `originalModel` failed and went to `nextModel`. */
export interface FallbackDecision {
  ts: number;
  /** Who fell back: an agent/session ("openclaw:main", a session uid) or a managed worker name. */
  worker: string | null;
  originalModel: string;
  /** An ErrorReason when we classified it; the source's own word when it came from a log. Null when unknown. */
  errorType: string | null;
  /** Null when nothing was left to try: the whole chain failed. */
  nextModel: string | null;
  /** Where the row came from: "log:<path>", "openclaw", "claude", "runner". */
  source: string;
  /** Unique per real decision, so re-reading a source never counts it twice. */
  dedupKey: string;
}

/** The per-kind token limits of `checks.context.tokensByKind`. */
export type KindLimit = "main" | "dm" | "group";

/**
 * One agent platform: identity, capabilities and the rules that differ between agents. The on-disk
 * folds, layouts and (for the runner) drivers live beside it in the agent's folder.
 */
export interface Agent {
  readonly platform: Platform;
  /** The name people know it by ("Claude Code"). */
  readonly displayName: string;
  readonly capabilities: AgentCapabilities;
  /** The command that resumes a session in the agent, for a person to copy into a terminal (display only). */
  resumeCommand(session: Pick<SessionRecord, "sessionId" | "sessionKey" | "project">): string;
  /** Which per-kind token limit applies to a session kind, when the agent has kinds with limits. */
  kindLimit(kind: string): KindLimit | null;
  /** The fallbacks the agent recorded itself in a session row (none for most agents). */
  recordedFallbacks(session: SessionRecord, now: number): FallbackDecision[];
  /** Classifies an error message the agent printed. */
  classifyError(text: string): ErrorReason;
}

/** The answers most agents give: no kinds, no recorded fallbacks, no reset, no peers, no gateway. */
export const plainAgent = {
  capabilities: { resetSessions: false, chatPeers: false, gateway: false, ownFailover: false },
  kindLimit: (_kind: string): KindLimit | null => null,
  recordedFallbacks: (_s: SessionRecord, _now: number): FallbackDecision[] => [],
} as const;

/** A non-empty trimmed string, else null (for the loosely typed `extra` bag of a session row). */
export const str = (v: unknown): string | null => (typeof v === "string" && v.trim().length > 0 ? v.trim() : null);

/** Epoch seconds, epoch ms or an ISO string → epoch ms. */
export function toMs(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v < 1e12 ? v * 1000 : v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** `cd <project> && cmd` when the session's project is an absolute folder (agents that resume per folder). */
export const inProject = (s: Pick<SessionRecord, "project">, cmd: string) => (s.project?.startsWith("/") ? `cd ${shellQuote(s.project)} && ${cmd}` : cmd);
