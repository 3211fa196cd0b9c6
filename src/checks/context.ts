import { contextWindowFor } from "../agents/context-window.ts";
import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Severity } from "../config/sections/common.ts";
import { formatDuration, formatPercent, formatTokens } from "../lib/present.ts";
import { type Finding, severityRank } from "../messages/finding.ts";
import type { Observations, TurnPoint } from "../observe/observations.ts";
import { contextSkip } from "./context-scope.ts";

/** One reason a session's context is a problem; the worst becomes the finding. */
interface Reason {
  severity: Severity;
  text: string;
  value: string;
  threshold: string;
}

/** Tokens per hour a session's context is growing at, from its latest uninterrupted rise. */
export interface Growth {
  tokensPerHour: number;
  /** Minutes until the window is full at this rate. */
  minutesToFull: number;
}

/** OpenClaw session kinds that have absolute token limits; a channel is a group chat. */
/** The window a session's context is measured against: the source's figure, else the configured one. */
export const contextWindowOf = (session: SessionRecord, config: Config): number =>
  contextWindowFor(session.model?.replace(/^.*\//, "") ?? null, config, session.contextWindow).tokens;

/**
 * Growth from the newest run of non-decreasing context sizes (a compaction starts a new run).
 * Null when fewer than two points a minute apart, or when the context is not growing.
 */
export function contextGrowth(points: TurnPoint[], tokens: number, window: number): Growth | null {
  const known = points.filter((p) => p.contextTokens !== null) as { ts: number; contextTokens: number }[];
  if (known.length < 2) return null;
  let first = known.length - 1;
  while (first > 0 && known[first - 1]!.contextTokens <= known[first]!.contextTokens) first--;
  const a = known[first]!;
  const b = known[known.length - 1]!;
  const hours = (b.ts - a.ts) / 3_600_000;
  if (hours < 1 / 60 || b.contextTokens <= a.contextTokens) return null;
  const tokensPerHour = (b.contextTokens - a.contextTokens) / hours;
  return { tokensPerHour, minutesToFull: (Math.max(0, window - tokens) / tokensPerHour) * 60 };
}

function reasonsFor(session: SessionRecord, turns: TurnPoint[], config: Config): { reasons: Reason[]; window: number } {
  const c = config.checks.context;
  const tokens = session.contextTokens ?? 0;
  const window = contextWindowOf(session, config);
  const percent = (tokens / window) * 100;
  const reasons: Reason[] = [];
  const usage = `${formatTokens(tokens)} tokens (${formatPercent(percent)} of ${formatTokens(window)})`;
  if (percent >= c.percentCritical) {
    reasons.push({ severity: "critical", text: "context almost full", value: usage, threshold: `${c.percentCritical}% of window` });
  } else if (percent >= c.percentWarning) {
    reasons.push({ severity: "warning", text: "context filling up", value: usage, threshold: `${c.percentWarning}% of window` });
  }
  const kindKey = agentOf(session.platform).kindLimit(session.kind);
  if (kindKey) {
    const limit = c.tokensByKind[kindKey];
    if (tokens >= limit.critical) {
      reasons.push({
        severity: "critical",
        text: `${kindKey} session over its token limit`,
        value: usage,
        threshold: `${formatTokens(limit.critical)} tokens for a ${kindKey} session`,
      });
    } else if (tokens >= limit.warning) {
      reasons.push({
        severity: "warning",
        text: `${kindKey} session large`,
        value: usage,
        threshold: `${formatTokens(limit.warning)} tokens for a ${kindKey} session`,
      });
    }
  }
  const growth = contextGrowth(turns, tokens, window);
  if (growth && growth.minutesToFull <= c.growthHorizonMinutes) {
    reasons.push({
      severity: "warning",
      text: `context will be full in about ${formatDuration(growth.minutesToFull * 60_000)}`,
      value: `${usage}, growing ${formatTokens(growth.tokensPerHour)}/h`,
      threshold: `full within ${formatDuration(c.growthHorizonMinutes * 60_000)}`,
    });
  }
  return { reasons, window };
}

const label = (s: SessionRecord) => `${s.platform}${s.agentId ? `/${s.agentId}` : ""} ${s.title ?? s.sessionKey ?? s.sessionId}`;

/**
 * What to do about a filling context, for this session's agent: only an agent whose sessions asm can reset
 * (its capabilities) is offered "ask asm to reset it"; for the others the fix happens in the agent itself.
 */
export function contextAdvice(session: Pick<SessionRecord, "platform" | "sessionId">, critical: boolean): string {
  const agent = agentOf(session.platform);
  if (!critical) return `Plan a compaction or a fresh session in ${agent.displayName} before it fills up`;
  if (agent.capabilities.resetSessions) {
    return `Compact or reset the session now (compact it in ${agent.displayName}, or ask asm: /reset_session ${session.sessionId})`;
  }
  return `Compact it or start a fresh session in ${agent.displayName} now; asm cannot reset ${agent.displayName} sessions`;
}

/**
 * **context**: per session, tokens against the real window (percent thresholds), absolute limits per
 * OpenClaw session kind, and growth that will fill the window within the horizon. One finding per
 * session: the worst reason leads, the others are listed in `details.reasons`.
 */
export function checkContext(obs: Observations, config: Config, now: number): Finding[] {
  const findings: Finding[] = [];
  for (const session of obs.sessions) {
    // The same rule `/sessions` ranks by (context-scope.ts): an ended or idle session is left out, and said so.
    if (contextSkip(session, config, now) || session.contextTokens === null) continue;
    const { reasons, window } = reasonsFor(session, obs.turns[session.uid] ?? [], config);
    if (reasons.length === 0) continue;
    reasons.sort((a, b) => severityRank[b.severity] - severityRank[a.severity]);
    const top = reasons[0]!;
    findings.push({
      check: "context",
      subject: `session:${session.uid}`,
      severity: top.severity,
      summary: `${label(session)}: ${reasons.map((r) => r.text).join("; ")}`,
      component: `session ${session.uid}`,
      value: top.value,
      threshold: top.threshold,
      action: contextAdvice(session, top.severity === "critical"),
      proposedAction:
        agentOf(session.platform).capabilities.resetSessions && top.severity === "critical" ? { kind: "reset_session", target: session.uid } : undefined,
      details: {
        uid: session.uid,
        tokens: session.contextTokens,
        window,
        reasons: reasons.map((r) => ({ severity: r.severity, text: r.text, threshold: r.threshold })),
      },
    });
  }
  // A worker at the end of its handover chain is not handed over again: that is for a person to decide.
  for (const c of obs.handoverCapped) {
    findings.push({
      check: "context",
      subject: `worker:${c.worker}:handover-cap`,
      severity: "critical",
      summary: `${c.worker}: handover chain at its cap (${c.chain} of ${config.handover.maxChain}); it will not be handed over again`,
      component: `worker ${c.worker}`,
      value: c.contextTokens !== null ? `${formatTokens(c.contextTokens)} context` : `${c.chain} handovers`,
      threshold: `handover.maxChain ${config.handover.maxChain}`,
      action: `Read /memory of its session and start a fresh worker, or /kill ${c.worker}; raise handover.maxChain only if the chain is making progress`,
      details: { worker: c.worker, chain: c.chain },
    });
  }
  return findings;
}
