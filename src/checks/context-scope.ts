import { agentOf } from "../agents/registry.ts";
import { platforms, type SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { SkipColumn } from "../store/sessions.ts";

/**
 * Which sessions the context check looks at, written once so that `/sessions`, `asm check` and the check
 * itself agree: a session whose context is not checked is never ranked as urgent, and every list says how
 * many it leaves out and why.
 *
 * - `gone`: its file or store entry no longer exists.
 * - `ended`: the agent ended it (a `codex exec` run, a closed Gemini chat): its context will not grow again.
 * - `idle`: no activity within `checks.context.activeWithinHours`. Chat sessions (OpenClaw) are exempt:
 *   the peer's next message resumes them whatever their age, so they stay checked.
 */
export type ContextSkip = "gone" | "ended" | "idle";

/** Why a session is not context-checked, or null when it is. */
export function contextSkip(s: Pick<SessionRecord, "platform" | "present" | "state" | "lastActivity">, config: Config, now: number): ContextSkip | null {
  if (!s.present) return "gone";
  if (s.state === "ended") return "ended";
  if (agentOf(s.platform).capabilities.chatPeers) return null;
  const since = now - config.checks.context.activeWithinHours * 3_600_000;
  return (s.lastActivity ?? 0) >= since ? null : "idle";
}

/**
 * The same rule as `contextSkip`, as an SQL column for the store to rank and count by (a list of 10,000
 * sessions must not be loaded to show 300). A test checks the two forms agree.
 */
export function contextSkipColumn(config: Config, now: number): SkipColumn {
  const always = platforms.filter((p) => agentOf(p).capabilities.chatPeers);
  const params: Record<string, unknown> = { activeSince: now - config.checks.context.activeWithinHours * 3_600_000 };
  always.forEach((p, i) => {
    params[`always${i}`] = p;
  });
  const exempt = always.length ? `platform IN (${always.map((_, i) => `@always${i}`).join(", ")}) OR ` : "";
  return {
    expr: `CASE WHEN present = 0 THEN 'gone' WHEN state = 'ended' THEN 'ended' WHEN ${exempt}COALESCE(last_activity, 0) >= @activeSince THEN NULL ELSE 'idle' END`,
    params,
  };
}

/** How many sessions were left out, by reason. */
export type SkipCounts = Record<ContextSkip, number>;

export const noSkips = (): SkipCounts => ({ gone: 0, ended: 0, idle: 0 });

/** "2 ended, 14 idle over 24h, 3 gone": what is left out and why, short enough for a phone line; null when nothing is. */
export function skippedParts(counts: SkipCounts, config: Config): string | null {
  const parts: string[] = [];
  if (counts.ended) parts.push(`${counts.ended} ended`);
  if (counts.idle) parts.push(`${counts.idle} idle over ${config.checks.context.activeWithinHours}h`);
  if (counts.gone) parts.push(`${counts.gone} gone`);
  return parts.length ? parts.join(", ") : null;
}

/** "not checked: 2 ended, 14 idle over 24h, 3 gone" (for `asm check`); null when nothing is left out. */
export function skippedText(counts: SkipCounts, config: Config): string | null {
  const parts = skippedParts(counts, config);
  return parts ? `not checked: ${parts}` : null;
}

/** Why each kind of session is left out, in a sentence (README wording, for `asm check`). */
export const skipWhy: Record<ContextSkip, string> = {
  ended: "an ended session will not grow again",
  idle: "no activity within checks.context.activeWithinHours (chat sessions are always checked)",
  gone: "its file or entry no longer exists",
};
