import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { formatBytes } from "../lib/present.ts";
import type { Finding } from "../messages/finding.ts";
import type { Observations } from "../observe/observations.ts";

const problemText: Record<string, string> = {
  "null-path": "its transcript path is null in the session store",
  "missing-file": "its transcript file is missing",
};

const label = (s: SessionRecord) => `${s.platform}${s.agentId ? `/${s.agentId}` : ""} ${s.title ?? s.sessionKey ?? s.sessionId}`;

/**
 * **transcript**: transcripts over the size limit, OpenClaw entries whose transcript path is null or
 * points at a missing file, session stores that cannot be read (recorded by the sources as source
 * problems), and parse errors inside a transcript. Subjects: `session:<uid>` per session (worst
 * problem leads), `file:<path>` per broken document.
 */
export function checkTranscript(obs: Observations, config: Config, _now: number): Finding[] {
  const c = config.checks.transcript;
  const findings: Finding[] = [];
  for (const s of obs.sessions) {
    if (!s.present) continue;
    const problem = typeof s.extra.transcriptProblem === "string" ? s.extra.transcriptProblem : null;
    if (problem) {
      const sessionFile = typeof s.extra.sessionFile === "string" ? s.extra.sessionFile : null;
      findings.push({
        check: "transcript",
        subject: `session:${s.uid}`,
        severity: c.corruptSeverity,
        summary: `${label(s)}: ${problemText[problem] ?? problem}`,
        component: `session ${s.uid}`,
        value: sessionFile ?? "no path",
        threshold: "a transcript file that exists",
        action: "The session store entry is broken: back it up, then remove the entry or reset the session",
        proposedAction: agentOf(s.platform).capabilities.resetSessions ? { kind: "reset_session", target: s.uid } : undefined,
        details: { uid: s.uid, problem, sessionFile },
      });
      continue;
    }
    const oversize = c.sizePlatforms.includes(s.platform) && s.sizeBytes > c.maxBytes;
    if (oversize) {
      findings.push({
        check: "transcript",
        subject: `session:${s.uid}`,
        severity: c.severity,
        summary: `${label(s)}: transcript is ${formatBytes(s.sizeBytes)}${s.parseErrors ? `, ${s.parseErrors} unreadable lines` : ""}`,
        component: `session ${s.uid}`,
        value: formatBytes(s.sizeBytes),
        threshold: formatBytes(c.maxBytes),
        action: "Compact or reset the session; a transcript this large slows the agent and every reload",
        details: { uid: s.uid, path: s.path, bytes: s.sizeBytes, parseErrors: s.parseErrors },
      });
      continue;
    }
    if (s.parseErrors > 0) {
      const line = typeof s.extra.parseErrorLine === "number" ? s.extra.parseErrorLine : null;
      findings.push({
        check: "transcript",
        subject: `session:${s.uid}`,
        severity: "warning",
        summary: `${label(s)}: ${s.parseErrors} transcript line${s.parseErrors === 1 ? "" : "s"} could not be parsed`,
        component: `session ${s.uid}`,
        value: `${s.parseErrors} bad line${s.parseErrors === 1 ? "" : "s"}${line !== null ? ` (last at line ${line})` : ""}`,
        threshold: "0 bad lines",
        action: `Inspect ${s.path ?? "the transcript"}${line !== null ? ` around line ${line}` : ""}; the rest of the session was read`,
        details: { uid: s.uid, path: s.path, parseErrors: s.parseErrors, lastParseError: s.lastParseError, line },
      });
    }
  }
  for (const p of obs.sourceProblems) {
    findings.push({
      check: "transcript",
      subject: `file:${p.path}`,
      severity: c.corruptSeverity,
      summary: `${p.platform} ${p.path}: ${p.problem}`,
      component: `${p.platform} session store`,
      value: p.problem,
      threshold: "a readable store",
      action: "Restore the file from its latest backup or repair it; sessions in it are not being watched",
      details: { platform: p.platform, path: p.path, since: p.since },
    });
  }
  return findings;
}
