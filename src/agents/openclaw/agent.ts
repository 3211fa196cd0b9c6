import { type Agent, type FallbackDecision, type KindLimit, str } from "../agent.ts";
import { classifyError } from "../error-reason.ts";
import type { SessionRecord } from "../session.ts";

/**
 * OpenClaw: sessions keyed by chat peer (main, dm, group), a gateway service, its own model failover
 * (recorded in the session entry as a fallback notice or an automatic override), and a session store
 * asm may reset entries of.
 */
export const openclaw = {
  platform: "openclaw",
  displayName: "OpenClaw",
  capabilities: { resetSessions: true, chatPeers: true, gateway: true, ownFailover: true },
  resumeCommand: (s) => `openclaw resume ${s.sessionKey ?? s.sessionId}`,
  kindLimit: (kind: string): KindLimit | null => (kind === "group" || kind === "channel" ? "group" : kind === "dm" ? "dm" : kind === "main" ? "main" : null),
  recordedFallbacks(s: SessionRecord, now: number): FallbackDecision[] {
    const x = s.extra;
    const selected = str(x.fallbackNoticeSelectedModel) ?? (x.modelOverrideSource === "auto" ? str(x.fallbackOriginModel) : null);
    const active = str(x.fallbackNoticeActiveModel) ?? (x.modelOverrideSource === "auto" ? str(x.modelOverride) : null);
    if (!selected || !active || selected === active) return [];
    return [
      {
        ts: s.lastActivity ?? now,
        worker: `openclaw:${s.agentId ?? "main"}`,
        originalModel: selected,
        errorType: str(x.fallbackNoticeReason) ?? str(x.lastErrorReason),
        nextModel: active,
        source: "openclaw",
        dedupKey: `openclaw:${s.uid}:${selected}>${active}`,
      },
    ];
  },
  classifyError,
} satisfies Agent;
