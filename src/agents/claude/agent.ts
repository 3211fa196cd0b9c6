import { type Agent, type FallbackDecision, inProject, plainAgent, str, toMs } from "../agent.ts";
import { classifyError } from "../error-reason.ts";
import type { SessionRecord } from "../session.ts";

/** Claude Code: records its own `--fallback-model` switches (`extra.fallbacks`). */
export const claude = {
  ...plainAgent,
  platform: "claude",
  displayName: "Claude Code",
  resumeCommand: (s) => inProject(s, `claude --resume ${s.sessionId}`),
  recordedFallbacks(s: SessionRecord): FallbackDecision[] {
    const out: FallbackDecision[] = [];
    if (!Array.isArray(s.extra.fallbacks)) return out;
    for (const f of s.extra.fallbacks as Record<string, unknown>[]) {
      const from = str(f?.from);
      const ts = toMs(f?.at);
      if (!from || ts === null) continue;
      const to = str(f.to);
      out.push({
        ts,
        worker: s.uid,
        originalModel: from,
        errorType: str(f.reason) ?? str(f.error),
        nextModel: to,
        source: "claude",
        dedupKey: `claude:${s.uid}:${ts}:${from}>${to ?? ""}`,
      });
    }
    return out;
  },
  classifyError,
} satisfies Agent;
