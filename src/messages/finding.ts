import type { Severity } from "../config/sections/common.ts";

export type CheckName = "context" | "transcript" | "duplicates" | "logs" | "gateway" | "fallback-rate" | "quota" | "self";

/** An action a finding proposes; the core turns it into an approval request (or runs it when auto). */
export interface ProposedAction {
  kind: "restart_gateway" | "reset_session" | "cleanup" | "repair_gateway";
  /** A session uid or store entry we validated ourselves; never chat text. */
  target?: string;
  /** What the check saw (probe errors), for a repair worker's prompt; it goes to the worker's stdin, never argv. */
  context?: string[];
}

/**
 * One problem a check sees right now. Identity is `check` + `subject` (the fingerprint); everything
 * else is annotation that may change between cycles without making it a new alert.
 */
export interface Finding {
  check: CheckName;
  /** What it is about, stable across cycles: e.g. "claude::5f0c2e1a-…", "gateway", "log:/tmp/openclaw/x.log". */
  subject: string;
  severity: Severity;
  /** One line a person reads first. */
  summary: string;
  /** The component affected (session, gateway, log file, provider, asm). */
  component: string;
  /** Current value, formatted (e.g. "172k tokens (86%)"). */
  value?: string;
  /** The threshold crossed, formatted. */
  threshold?: string;
  /** What a person should do. */
  action: string;
  proposedAction?: ProposedAction;
  /** Machine-readable extras for `--json` and views. */
  details?: Record<string, unknown>;
}

/** Finding severity order, for escalation and sorting. */
export const severityRank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
