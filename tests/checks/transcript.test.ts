import { describe, expect, it } from "vitest";
import { checkTranscript } from "../../src/checks/transcript.ts";
import { cfg, NOW, observations, session } from "../helpers/checks.ts";

const config = cfg();

describe("transcript check", () => {
  const cases: { name: string; s: Parameters<typeof session>[0]; severity: string | null; summary?: RegExp; config?: ReturnType<typeof cfg> }[] = [
    { name: "small clean transcript", s: { sizeBytes: 100_000 }, severity: null },
    { name: "exactly the limit is fine", s: { sizeBytes: 500 * 1024 }, severity: null },
    { name: "one byte over warns", s: { sizeBytes: 500 * 1024 + 1 }, severity: "warning", summary: /transcript is 500 KB/ },
    { name: "big Claude transcripts are not judged by size", s: { platform: "claude", sizeBytes: 5_000_000 }, severity: null },
    {
      name: "size platforms are configurable",
      s: { platform: "claude", sizeBytes: 5_000_000 },
      severity: "warning",
      config: cfg({ checks: { transcript: { sizePlatforms: ["claude"] } } }),
    },
    {
      name: "configured size and severity",
      s: { sizeBytes: 2_000 },
      severity: "critical",
      config: cfg({ checks: { transcript: { maxBytes: 1_000, severity: "critical" } } }),
    },
    { name: "null transcript path is corruption", s: { extra: { transcriptProblem: "null-path" } }, severity: "critical", summary: /path is null/ },
    {
      name: "missing transcript file is corruption",
      s: { extra: { transcriptProblem: "missing-file", sessionFile: "/x/gone.jsonl" } },
      severity: "critical",
      summary: /file is missing/,
    },
    { name: "parse errors warn", s: { parseErrors: 3, extra: { parseErrorLine: 41 } }, severity: "warning", summary: /3 transcript lines could not be parsed/ },
    { name: "parse errors on any platform", s: { platform: "codex", parseErrors: 1 }, severity: "warning", summary: /1 transcript line could/ },
    { name: "gone sessions are skipped", s: { present: false, extra: { transcriptProblem: "null-path" } }, severity: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = session(c.s);
      const f = checkTranscript(observations({ sessions: [s] }), c.config ?? config, NOW);
      if (c.severity === null) return expect(f).toEqual([]);
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ check: "transcript", subject: `session:${s.uid}`, severity: c.severity });
      if (c.summary) expect(f[0]!.summary).toMatch(c.summary);
    });
  }

  it("a corrupt entry proposes a reset of that session", () => {
    const s = session({ extra: { transcriptProblem: "missing-file" } });
    const [f] = checkTranscript(observations({ sessions: [s] }), config, NOW);
    expect(f!.proposedAction).toEqual({ kind: "reset_session", target: s.uid });
  });

  it("parse errors name the line to look at", () => {
    const [f] = checkTranscript(observations({ sessions: [session({ parseErrors: 2, extra: { parseErrorLine: 41 } })] }), config, NOW);
    expect(f!.value).toBe("2 bad lines (last at line 41)");
    expect(f!.action).toMatch(/around line 41/);
  });

  it("a session store that is not valid JSON is a finding about the file", () => {
    const obs = observations({
      sourceProblems: [{ platform: "openclaw", path: "/o/agents/main/sessions/sessions.json", problem: "invalid JSON: Unexpected token", since: NOW - 1000 }],
    });
    const [f] = checkTranscript(obs, config, NOW);
    expect(f).toMatchObject({ subject: "file:/o/agents/main/sessions/sessions.json", severity: "critical" });
    expect(f!.summary).toMatch(/invalid JSON/);
  });
});
