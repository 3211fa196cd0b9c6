import type { FallbackDecision } from "../agents/agent.ts";
import type { OpenClawConfig } from "../agents/openclaw/config.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { SourceProblem } from "../store/problems.ts";

/** One assistant turn of a session, as kept in the `turns` table (for growth rates). */
export interface TurnPoint {
  ts: number;
  contextTokens: number | null;
  model: string | null;
}

/** What one logs pass saw in one log file since the previous pass. */
export interface LogObservation {
  path: string;
  /** When this pass ran, and when the previous one did (null on first sight). */
  at: number;
  previousAt: number | null;
  /** Size at the previous pass (0 after a rotation or truncation) and now. */
  sizeBefore: number;
  size: number;
  bytesRead: number;
  lines: number;
  errorLines: number;
  /** Lines carrying a duration above the slow threshold, and the largest duration seen. */
  slowLines: number;
  maxDurationMs: number | null;
  rotated: boolean;
  truncated: boolean;
  /** First time we saw this file: growth is unknown, only its tail was read. */
  firstSight: boolean;
  /** Why the file could not be read, or null. */
  error: string | null;
}

/** One gateway probe result. */
export interface ProbeSample {
  ts: number;
  ok: boolean;
  latencyMs: number | null;
  /** HTTP status, exit code or error text, for people. */
  detail: string | null;
  /**
   * Something answered, even if not "ready" (an HTTP status, e.g. 503 while starting), as opposed to
   * no answer at all (refused, timed out). Absent in samples recorded before this was kept.
   */
  answered?: boolean;
}

/** A restart of the gateway as recorded by the actions engine (`actions` rows, kind restart_gateway). */
export interface RestartAttempt {
  id: number;
  /** pending | approved | running | succeeded | failed | unverified | denied | expired | ... */
  status: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface GatewayObservation {
  /** The URL or command probed, for people. */
  target: string;
  /** Probe samples in the look-back window, oldest first. */
  samples: ProbeSample[];
  /** When the newest successful probe ever was (may be before the window), or null. */
  lastOkAt: number | null;
  /** Restart actions, newest first. */
  restarts: RestartAttempt[];
}

/** Assistant turns per model in the fallback window, to turn fallback counts into rates. */
export interface ModelTurns {
  model: string;
  turns: number;
  lastTurnAt: number | null;
}

/** One configured quota probe's latest reading. */
export interface QuotaReading {
  name: string;
  remaining: number | null;
  /** The plan's total, when configured: then "used %" can be shown. */
  limit: number | null;
  minRemaining: number;
  /** "https://… $.path" or "command …", for people. */
  source: string;
  at: number;
  error: string | null;
}

/** Tokens used on one platform in a rolling window, against a configured plan (an estimate). */
export interface PlanUsage {
  platform: string;
  windowHours: number;
  tokenLimit: number;
  usedTokens: number;
  turns: number;
  /** Newest turn counted, so the figure's age can be shown. */
  newestTurnAt: number | null;
}

/** A job that threw, reported by the scheduler. */
export interface JobError {
  job: string;
  error: string;
  at: number;
}

export interface SelfStats {
  lastScanAt: number | null;
  scanErrors: string[];
  /** How long the last cycle took, and the interval it must fit in. */
  cycleMs: number | null;
  intervalMs: number;
  outboxPending: number;
  oldestPendingAt: number | null;
  /** Database file + WAL. */
  dbBytes: number;
  jobErrors: JobError[];
}

/**
 * Everything the checks read, gathered once per cycle by `gatherObservations`. Checks are pure
 * functions of this, the config and `now`, so tests build it directly.
 */
export interface Observations {
  sessions: SessionRecord[];
  /** Recent turns per session uid, oldest first. */
  turns: Record<string, TurnPoint[]>;
  /** openclaw.json as read this cycle: the config, or why it could not be read (null when simply absent). */
  openclaw: { config: OpenClawConfig | null; error: string | null; path?: string };
  sourceProblems: SourceProblem[];
  logs: LogObservation[];
  gateway: GatewayObservation | null;
  fallback: { decisions: FallbackDecision[]; modelTurns: ModelTurns[] };
  quota: { probes: QuotaReading[]; plans: PlanUsage[] };
  /** Managed workers still alive whose handover chain reached `handover.maxChain` (they are not handed over again). */
  handoverCapped: { worker: string; chain: number; contextTokens: number | null; since: number }[];
  self: SelfStats;
}

/** Empty observations, the base tests and callers fill in. */
export function emptyObservations(): Observations {
  return {
    sessions: [],
    turns: {},
    openclaw: { config: null, error: null },
    sourceProblems: [],
    logs: [],
    gateway: null,
    fallback: { decisions: [], modelTurns: [] },
    quota: { probes: [], plans: [] },
    handoverCapped: [],
    self: {
      lastScanAt: null,
      scanErrors: [],
      cycleMs: null,
      intervalMs: 60_000,
      outboxPending: 0,
      oldestPendingAt: null,
      dbBytes: 0,
      jobErrors: [],
    },
  };
}
