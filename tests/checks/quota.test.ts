import { describe, expect, it } from "vitest";
import { checkQuota, officialLimits, reportedLimits } from "../../src/checks/quota.ts";
import type { PlanUsage, QuotaReading } from "../../src/observe/observations.ts";
import { cfg, HOUR, MIN, NOW, observations, session } from "../helpers/checks.ts";

const config = cfg();
const codex = (usedPercent: number, over: Record<string, unknown> = {}, sessionId = "c1") =>
  session({
    platform: "codex",
    agentId: null,
    sessionId,
    extra: {
      rateLimits: {
        primary: { usedPercent, windowMinutes: 300, resetsAt: Math.floor((NOW + 2 * HOUR) / 1000) },
        observedAt: NOW - 5 * MIN,
        ...over,
      },
    },
  });
const reading = (over: Partial<QuotaReading> = {}): QuotaReading => ({
  name: "minimax",
  remaining: 500,
  limit: null,
  minRemaining: 100,
  source: "https://api.example.test/quota data.remaining",
  at: NOW - MIN,
  error: null,
  ...over,
});
const plan = (usedTokens: number, over: Partial<PlanUsage> = {}): PlanUsage => ({
  platform: "claude",
  windowHours: 5,
  tokenLimit: 1_000_000,
  usedTokens,
  turns: 40,
  newestTurnAt: NOW - 2 * MIN,
  ...over,
});

describe("quota check", () => {
  const cases: { name: string; obs: Parameters<typeof observations>[0]; expected: [string, string][] }[] = [
    { name: "nothing known", obs: {}, expected: [] },
    { name: "codex at 79% is fine", obs: { sessions: [codex(79.9)] }, expected: [] },
    { name: "codex at 80% warns", obs: { sessions: [codex(80)] }, expected: [["quota:codex:primary", "warning"]] },
    { name: "codex at 95% is critical", obs: { sessions: [codex(95)] }, expected: [["quota:codex:primary", "critical"]] },
    {
      name: "the secondary window too",
      obs: { sessions: [codex(10, { secondary: { usedPercent: 91, windowMinutes: 10080, resetsAt: NOW + 48 * HOUR } })] },
      expected: [["quota:codex:secondary", "warning"]],
    },
    {
      name: "a window that has reset says nothing",
      obs: { sessions: [codex(99, { primary: { usedPercent: 99, windowMinutes: 300, resetsAt: (NOW - MIN) / 1000 } })] },
      expected: [],
    },
    {
      name: "the newest observation across sessions wins",
      obs: { sessions: [codex(99, { observedAt: NOW - HOUR }, "old"), codex(20, { observedAt: NOW - MIN }, "new")] },
      expected: [],
    },
    { name: "probe with plenty left", obs: { quota: { probes: [reading()], plans: [] } }, expected: [] },
    { name: "probe exactly at the minimum is fine", obs: { quota: { probes: [reading({ remaining: 100 })], plans: [] } }, expected: [] },
    { name: "probe under the minimum warns", obs: { quota: { probes: [reading({ remaining: 99 })], plans: [] } }, expected: [["quota:minimax", "warning"]] },
    { name: "probe at zero is critical", obs: { quota: { probes: [reading({ remaining: 0 })], plans: [] } }, expected: [["quota:minimax", "critical"]] },
    {
      name: "probe with a limit is judged by used %",
      obs: { quota: { probes: [reading({ remaining: 400, limit: 10_000 })], plans: [] } },
      expected: [["quota:minimax", "critical"]],
    },
    {
      name: "a failed probe is reported",
      obs: { quota: { probes: [reading({ remaining: null, error: "HTTP 401" })], plans: [] } },
      expected: [["quota:minimax", "warning"]],
    },
    { name: "estimate under 80%", obs: { quota: { probes: [], plans: [plan(799_999)] } }, expected: [] },
    { name: "estimate at 80% warns", obs: { quota: { probes: [], plans: [plan(800_000)] } }, expected: [["quota:estimate:claude:5h", "warning"]] },
    { name: "estimate at 95% is critical", obs: { quota: { probes: [], plans: [plan(960_000)] } }, expected: [["quota:estimate:claude:5h", "critical"]] },
    {
      name: "an official figure replaces the estimate for its platform",
      obs: { sessions: [codex(50)], quota: { probes: [], plans: [plan(990_000, { platform: "codex" })] } },
      expected: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = checkQuota(observations(c.obs), config, NOW);
      expect(f.map((x) => [x.subject, x.severity])).toEqual(c.expected);
    });
  }

  it("official figures show their source and age", () => {
    const [f] = checkQuota(observations({ sessions: [codex(83)] }), config, NOW);
    expect(f!.summary).toBe("codex 5h rate limit 83% used, resets in 2h");
    expect(f!.value).toBe("83% used (official: codex session file, 5m ago)");
    expect(f!.threshold).toBe("80% / 95% used");
  });

  it("estimates are labelled as estimates, with their age", () => {
    const [f] = checkQuota(observations({ quota: { probes: [], plans: [plan(850_000)] } }), config, NOW);
    expect(f!.summary).toMatch(/\(estimate\)$/);
    expect(f!.value).toBe("~850k of 1M tokens in 5h (estimate from transcripts, newest turn 2m ago)");
  });

  it("probe figures show their source and age", () => {
    const [f] = checkQuota(observations({ quota: { probes: [reading({ remaining: 42 })], plans: [] } }), config, NOW);
    expect(f!.value).toBe("42 remaining (official: https://api.example.test/quota data.remaining, 1m ago)");
  });

  it("thresholds come from config", () => {
    const c = cfg({ checks: { quota: { usedPercentWarning: 50, usedPercentCritical: 60 } } });
    expect(checkQuota(observations({ sessions: [codex(55)] }), c, NOW).map((x) => x.severity)).toEqual(["warning"]);
  });

  it("reads reset times in seconds, milliseconds or ISO", () => {
    for (const resetsAt of [(NOW + HOUR) / 1000, NOW + HOUR, new Date(NOW + HOUR).toISOString()]) {
      const [o] = officialLimits([codex(90, { primary: { usedPercent: 90, windowMinutes: 300, resetsAt } })], NOW);
      expect(o!.resetsAt).toBe(NOW + HOUR);
    }
  });

  describe("limit errors the agents recorded", () => {
    const iso = (t: number) => new Date(t).toISOString();
    const claude = (text: string, ago: number, over: Parameters<typeof session>[0] = {}) =>
      session({ platform: "claude", agentId: null, lastActivity: NOW - ago, extra: { apiErrors: 1, lastApiError: { at: iso(NOW - ago), text } }, ...over });
    const cases: { name: string; s: ReturnType<typeof session>[]; expected: [string, string][] }[] = [
      { name: "a rate limit a few minutes ago", s: [claude("API Error: 429 Too Many Requests", 5 * MIN)], expected: [["quota:claude:reported", "warning"]] },
      {
        name: "the old usage-limit wording",
        s: [claude(`Claude AI usage limit reached|${(NOW + HOUR) / 1000}`, 5 * MIN)],
        expected: [["quota:claude:reported", "warning"]],
      },
      { name: "a usage limit whose reset has passed", s: [claude(`Claude AI usage limit reached|${(NOW - MIN) / 1000}`, 5 * MIN)], expected: [] },
      { name: "billing is critical", s: [claude("API Error: 402 insufficient credit balance", 5 * MIN)], expected: [["quota:claude:reported", "critical"]] },
      { name: "overload is not a quota problem", s: [claude("API Error: Repeated 529 Overloaded errors", 5 * MIN)], expected: [] },
      { name: "too long ago", s: [claude("429 Too Many Requests", 61 * MIN)], expected: [] },
      { name: "the session worked past it", s: [claude("429 Too Many Requests", 30 * MIN, { lastActivity: NOW - MIN })], expected: [] },
      {
        name: "OpenClaw's classified last error",
        s: [session({ lastActivity: NOW - 2 * MIN, extra: { lastErrorReason: "rate_limit", lastError: { at: NOW - 2 * MIN, text: "provider said no" } } })],
        expected: [["quota:openclaw:reported", "warning"]],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(checkQuota(observations({ sessions: c.s }), config, NOW).map((f) => [f.subject, f.severity])).toEqual(c.expected);
      });
    }

    it("names the session, the words and the age; replaces the estimate", () => {
      const obs = observations({
        sessions: [claude(`Claude AI usage limit reached|${(NOW + HOUR) / 1000}`, 5 * MIN)],
        quota: { probes: [], plans: [plan(990_000)] },
      });
      const f = checkQuota(obs, config, NOW);
      expect(f).toHaveLength(1);
      expect(f[0]!.summary).toBe("claude hit a rate limit 5m ago, resets in 1h");
      expect(f[0]!.value).toBe('rate_limit: "Claude AI usage limit reached|1795438800" (official: claude session claude::s1, 5m ago)');
    });

    it("keeps the newest per platform", () => {
      const r = reportedLimits([claude("429", 20 * MIN, { sessionId: "a" }), claude("rate limit", 3 * MIN, { sessionId: "b" })], NOW, HOUR);
      expect(r.map((x) => x.sessionUid)).toEqual(["claude::b"]);
    });
  });
});
