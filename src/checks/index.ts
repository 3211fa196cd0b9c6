import type { Config } from "../config/schema.ts";
import type { CheckName, Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";
import { checkContext } from "./context.ts";
import { checkDuplicates } from "./duplicates.ts";
import { checkFallbackRate } from "./fallback-rate.ts";
import { checkGateway } from "./gateway.ts";
import { checkLogs } from "./logs.ts";
import { checkQuota } from "./quota.ts";
import { checkSelf } from "./self.ts";
import { checkTranscript } from "./transcript.ts";

/** A check: a pure function of what was observed, the config and the time. */
export type CheckFn = (obs: Observations, config: Config, now: number) => Finding[];

type SectionKey = keyof Config["checks"];

/** Every check, in report order, with the config section that enables it. */
export const checks: { name: CheckName; section: SectionKey; run: CheckFn }[] = [
  { name: "context", section: "context", run: checkContext },
  { name: "transcript", section: "transcript", run: checkTranscript },
  { name: "duplicates", section: "duplicates", run: checkDuplicates },
  { name: "logs", section: "logs", run: checkLogs },
  { name: "gateway", section: "gateway", run: checkGateway },
  { name: "fallback-rate", section: "fallbackRate", run: checkFallbackRate },
  { name: "quota", section: "quota", run: checkQuota },
  { name: "self", section: "self", run: checkSelf },
];

/**
 * Runs every enabled check. A check that throws does not stop the others: it becomes a `self`
 * finding (`self:check:<name>`) naming the error, so a bug shows up in the feed instead of silence.
 */
export function runChecks(obs: Observations, config: Config, now: number, list = checks): Finding[] {
  const findings: Finding[] = [];
  for (const check of list) {
    if (!config.checks[check.section].enabled) continue;
    try {
      findings.push(...check.run(obs, config, now));
    } catch (err) {
      findings.push({
        check: "self",
        subject: `self:check:${check.name}`,
        severity: "warning",
        summary: `the ${check.name} check failed: ${(err as Error)?.message ?? String(err)}`,
        component: "asm checks",
        value: String((err as Error)?.message ?? err),
        threshold: "no errors",
        action: "This is a bug in asm: report it with asm's log; the other checks still ran",
        details: { check: check.name, stack: (err as Error)?.stack?.split("\n").slice(0, 5).join("\n") },
      });
    }
  }
  return findings;
}

export type { Observations } from "../observe/observations.ts";
