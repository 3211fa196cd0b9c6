import { describe, expect, it } from "vitest";
import { checkContext, contextGrowth } from "../../src/checks/context.ts";
import type { TurnPoint } from "../../src/observe/observations.ts";
import { cfg, HOUR, MIN, NOW, observations, session } from "../helpers/checks.ts";

const config = cfg();
const run = (s: ReturnType<typeof session>, turns: TurnPoint[] = []) => checkContext(observations({ sessions: [s], turns: { [s.uid]: turns } }), config, NOW);

describe("context advice per agent", () => {
  it("offers 'ask asm to reset it' only where asm can reset the agent's sessions", () => {
    const [claude] = run(session({ platform: "claude", agentId: null, sessionId: "c1", contextTokens: 190_000 }));
    expect(claude!.severity).toBe("critical");
    expect(claude!.action).toBe("Compact it or start a fresh session in Claude Code now; asm cannot reset Claude Code sessions");
    expect(claude!.action).not.toMatch(/ask asm/);
    expect(claude!.proposedAction).toBeUndefined();
    const [openclaw] = run(session({ sessionId: "o1", kind: "main", contextTokens: 200_000, contextWindow: 1_000_000 }));
    expect(openclaw!.action).toBe("Compact or reset the session now (compact it in OpenClaw, or ask asm: /reset_session o1)");
    expect(openclaw!.proposedAction).toEqual({ kind: "reset_session", target: openclaw!.details!.uid });
    const [warn] = run(session({ platform: "codex", agentId: null, sessionId: "x1", contextTokens: 160_000 }));
    expect(warn!.action).toMatch(/^Plan a compaction or a fresh session in Codex/);
  });
});

describe("context check", () => {
  const cases: { name: string; s: Parameters<typeof session>[0]; severity: string | null; text?: RegExp }[] = [
    { name: "small session", s: { contextTokens: 20_000 }, severity: null },
    { name: "just under 80%", s: { platform: "claude", contextTokens: 159_999 }, severity: null },
    { name: "exactly 80% warns", s: { platform: "claude", contextTokens: 160_000 }, severity: "warning", text: /filling up/ },
    { name: "95% is critical", s: { platform: "claude", contextTokens: 190_000 }, severity: "critical", text: /almost full/ },
    {
      name: "openclaw group over 50k warns",
      s: { kind: "group", contextTokens: 50_000, contextWindow: 1_000_000 },
      severity: "warning",
      text: /group session large/,
    },
    { name: "openclaw group just under 50k", s: { kind: "group", contextTokens: 49_999, contextWindow: 1_000_000 }, severity: null },
    { name: "openclaw group over 150k is critical", s: { kind: "group", contextTokens: 150_000, contextWindow: 1_000_000 }, severity: "critical" },
    { name: "a channel counts as a group", s: { kind: "channel", contextTokens: 60_000, contextWindow: 1_000_000 }, severity: "warning" },
    { name: "openclaw dm 100k warns", s: { kind: "dm", contextTokens: 100_000, contextWindow: 1_000_000 }, severity: "warning" },
    { name: "openclaw dm 150k critical", s: { kind: "dm", contextTokens: 150_000, contextWindow: 1_000_000 }, severity: "critical" },
    { name: "openclaw main 149k fine", s: { kind: "main", contextTokens: 149_000, contextWindow: 1_000_000 }, severity: null },
    { name: "openclaw main 150k warns", s: { kind: "main", contextTokens: 150_000, contextWindow: 1_000_000 }, severity: "warning" },
    { name: "openclaw main 200k critical", s: { kind: "main", contextTokens: 200_000, contextWindow: 1_000_000 }, severity: "critical" },
    { name: "kind limits are OpenClaw only", s: { platform: "claude", kind: "group", contextTokens: 60_000 }, severity: null },
    { name: "gone sessions are skipped", s: { platform: "claude", contextTokens: 199_000, present: false }, severity: null },
    { name: "ended sessions are skipped", s: { platform: "claude", contextTokens: 199_000, state: "ended" }, severity: null },
    { name: "unknown context is skipped", s: { platform: "claude", contextTokens: null }, severity: null },
    {
      name: "window from the model table when the source has none",
      s: { platform: "gemini", model: "gemini-2.5-pro", contextWindow: null, contextTokens: 190_000 },
      severity: null,
    },
    {
      name: "default window when the model is unknown",
      s: { platform: "claude", model: "mystery-model", contextWindow: null, contextTokens: 170_000 },
      severity: "warning",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = run(session(c.s));
      if (c.severity === null) return expect(f).toEqual([]);
      expect(f).toHaveLength(1);
      expect(f[0]!.severity).toBe(c.severity);
      expect(f[0]!.check).toBe("context");
      expect(f[0]!.subject).toBe(`session:${session(c.s).uid}`);
      if (c.text) expect(f[0]!.summary).toMatch(c.text);
      expect(f[0]!.value).toMatch(/tokens \(\d+%/);
      expect(f[0]!.action.length).toBeGreaterThan(10);
    });
  }

  it("the worst reason leads and the others are listed", () => {
    const [f] = run(session({ kind: "group", contextTokens: 170_000, contextWindow: 200_000 }));
    expect(f!.severity).toBe("critical");
    expect(f!.summary).toMatch(/group session over its token limit; context filling up/);
    expect(f!.threshold).toBe("150k tokens for a group session");
    expect((f!.details!.reasons as unknown[]).length).toBe(2);
    expect(f!.proposedAction).toEqual({ kind: "reset_session", target: "openclaw:main:s1" });
  });

  it("the subject stays the same while the value changes", () => {
    const a = run(session({ platform: "claude", contextTokens: 165_000 }));
    const b = run(session({ platform: "claude", contextTokens: 192_000 }));
    expect(a[0]!.subject).toBe(b[0]!.subject);
    expect(a[0]!.value).not.toBe(b[0]!.value);
  });

  it("growth that fills the window within the hour warns", () => {
    const turns = [
      { ts: NOW - 30 * MIN, contextTokens: 100_000, model: null },
      { ts: NOW - 15 * MIN, contextTokens: 125_000, model: null },
      { ts: NOW, contextTokens: 150_000, model: null },
    ];
    const [f] = run(session({ platform: "claude", contextTokens: 150_000 }), turns);
    expect(f!.severity).toBe("warning");
    expect(f!.summary).toMatch(/full in about 30m/);
    expect(f!.value).toMatch(/growing 100k\/h/);
  });

  it("slow growth does not warn", () => {
    const turns = [
      { ts: NOW - HOUR, contextTokens: 100_000, model: null },
      { ts: NOW, contextTokens: 110_000, model: null },
    ];
    expect(run(session({ platform: "claude", contextTokens: 110_000 }), turns)).toEqual([]);
  });

  it("a compaction starts a new growth run", () => {
    const turns: TurnPoint[] = [
      { ts: NOW - 40 * MIN, contextTokens: 20_000, model: null },
      { ts: NOW - 30 * MIN, contextTokens: 180_000, model: null },
      { ts: NOW - 20 * MIN, contextTokens: 30_000, model: null },
      { ts: NOW, contextTokens: 32_000, model: null },
    ];
    const g = contextGrowth(turns, 32_000, 200_000)!;
    expect(g.tokensPerHour).toBeCloseTo(6_000);
    expect(run(session({ platform: "claude", contextTokens: 32_000 }), turns)).toEqual([]);
  });

  it("growth needs two points a minute apart", () => {
    expect(contextGrowth([{ ts: NOW, contextTokens: 1, model: null }], 1, 10)).toBeNull();
    expect(
      contextGrowth(
        [
          { ts: NOW - 1000, contextTokens: 1, model: null },
          { ts: NOW, contextTokens: 5000, model: null },
        ],
        5000,
        10_000,
      ),
    ).toBeNull();
  });
});
