import type { Config } from "../config/schema.ts";
import type { CheckName } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";
import { checks } from "./index.ts";

/**
 * Why an alert its check no longer reports may not have gone away: the check is turned off in config, or its
 * subject is no longer looked at (a session that ended, left the activity window or is gone). Such an alert
 * closes with that said, never as "resolved".
 */
export type NotChecked = "check-off" | "inactive";

/** What a person reads for each reason, in alert messages and lists. */
export const notCheckedText: Record<NotChecked, string> = {
  "check-off": "check turned off",
  inactive: "no longer active — not checked",
};

/** Checks that look at sessions only while they are live (present, not ended, within the activity window). */
const liveSessionChecks: readonly CheckName[] = ["context", "transcript", "fallback-rate", "duplicates"];

/**
 * Pure: whether the checks of this cycle still look at an alert's subject; null when they do (so its absence
 * means the problem went away).
 */
export function notCheckedReason(alert: { check: CheckName; subject: string }, obs: Pick<Observations, "sessions">, config: Config): NotChecked | null {
  const check = checks.find((c) => c.name === alert.check);
  if (check && !config.checks[check.section].enabled) return "check-off";
  if (!liveSessionChecks.includes(alert.check) || !alert.subject.startsWith("session:")) return null;
  const uid = alert.subject.slice("session:".length);
  const s = obs.sessions.find((x) => x.uid === uid);
  if (!s?.present) return "inactive";
  if (alert.check === "context" && s.state === "ended") return "inactive";
  return null;
}
