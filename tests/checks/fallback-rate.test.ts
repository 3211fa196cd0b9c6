import { describe, expect, it } from "vitest";
import type { FallbackDecision } from "../../src/agents/agent.ts";
import { checkFallbackRate, modelKey, modelMismatch } from "../../src/checks/fallback-rate.ts";
import type { ModelTurns } from "../../src/observe/observations.ts";
import { cfg, HOUR, MIN, NOW, observations, openClaw, session } from "../helpers/checks.ts";

const config = cfg();
let n = 0;
const d = (originalModel: string, nextModel: string | null, ago = 10 * MIN, over: Partial<FallbackDecision> = {}): FallbackDecision => ({
  ts: NOW - ago,
  worker: "w1",
  originalModel,
  errorType: "rate_limit",
  nextModel,
  source: "log:/x",
  dedupKey: `k${n++}`,
  ...over,
});
const many = (count: number, model: string, next: string | null = "b", startAgo = 30 * MIN) =>
  Array.from({ length: count }, (_, i) => d(model, next, startAgo - i * MIN));
const turns = (model: string, count: number, lastAgo: number | null = 40 * MIN): ModelTurns => ({
  model,
  turns: count,
  lastTurnAt: lastAgo === null ? null : NOW - lastAgo,
});
const oc = openClaw({
  agents: {
    defaults: { model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5.5"] } },
    list: [{ id: "main" }, { id: "cheap", model: "minimax/m2" }],
  },
});

describe("fallback-rate check", () => {
  const cases: { name: string; obs: Parameters<typeof observations>[0]; expected: [string, string][] }[] = [
    { name: "no decisions", obs: {}, expected: [] },
    { name: "30% is fine", obs: { fallback: { decisions: many(3, "a"), modelTurns: [turns("a", 7)] } }, expected: [] },
    { name: "above 30% warns", obs: { fallback: { decisions: many(4, "a"), modelTurns: [turns("a", 6)] } }, expected: [["model:a", "warning"]] },
    { name: "too few requests to judge a rate", obs: { fallback: { decisions: many(2, "a"), modelTurns: [turns("a", 2)] } }, expected: [] },
    { name: "no successes seen: no rate, only the streak rule", obs: { fallback: { decisions: many(5, "a"), modelTurns: [] } }, expected: [] },
    {
      name: "provider prefixes do not split a model",
      obs: { fallback: { decisions: many(4, "anthropic/claude-opus-4-6"), modelTurns: [turns("claude-opus-4-6", 6)] } },
      expected: [["model:claude-opus-4-6", "warning"]],
    },
    {
      name: "decisions outside the window are ignored",
      obs: { fallback: { decisions: many(9, "a", "b", 3 * HOUR), modelTurns: [turns("a", 6)] } },
      expected: [],
    },
    {
      name: "six failures in a row",
      obs: { fallback: { decisions: many(6, "a"), modelTurns: [turns("a", 100, 45 * MIN)] } },
      expected: [["model:a:streak", "warning"]],
    },
    { name: "five in a row is fine", obs: { fallback: { decisions: many(5, "a"), modelTurns: [turns("a", 100, 45 * MIN)] } }, expected: [] },
    {
      name: "a success breaks the streak",
      obs: { fallback: { decisions: many(6, "a"), modelTurns: [turns("a", 100, 27 * MIN)] } },
      expected: [],
    },
    {
      name: "nothing left to try: the chain failed",
      obs: { fallback: { decisions: [d("a", "b"), d("b", null, 9 * MIN)], modelTurns: [turns("a", 50), turns("b", 50)] } },
      expected: [["chain:w1", "critical"]],
    },
    {
      name: "every model of a configured chain failing",
      obs: {
        openclaw: { config: oc, error: null },
        fallback: {
          decisions: [d("anthropic/claude-opus-4-6", "openai/gpt-5.5"), d("openai/gpt-5.5", "anthropic/claude-opus-4-6", 9 * MIN)],
          modelTurns: [turns("claude-opus-4-6", 50), turns("gpt-5.5", 50)],
        },
      },
      expected: [["chain:openclaw:defaults", "critical"]],
    },
    {
      name: "a chain with one model still working is fine",
      obs: {
        openclaw: { config: oc, error: null },
        fallback: { decisions: [d("anthropic/claude-opus-4-6", "openai/gpt-5.5")], modelTurns: [turns("claude-opus-4-6", 50), turns("gpt-5.5", 50, MIN)] },
      },
      expected: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(checkFallbackRate(observations(c.obs), config, NOW).map((f) => [f.subject, f.severity])).toEqual(c.expected);
    });
  }

  it("rate findings say how many and why", () => {
    const [f] = checkFallbackRate(observations({ fallback: { decisions: many(4, "a"), modelTurns: [turns("a", 6)] } }), config, NOW);
    expect(f!.summary).toBe("a fell back on 40% of requests in the last 1h (rate_limit)");
    expect(f!.value).toBe("4 of 10 requests (40%)");
    expect(f!.threshold).toBe("30% in 1h");
  });

  it("thresholds come from config", () => {
    const c = cfg({ checks: { fallbackRate: { ratePercent: 50, maxConsecutiveFailures: 10 } } });
    expect(checkFallbackRate(observations({ fallback: { decisions: many(6, "a"), modelTurns: [turns("a", 6)] } }), c, NOW)).toEqual([]);
  });
});

describe("selected vs active model", () => {
  const obsWith = (extra: Record<string, unknown>, agentId = "main") =>
    observations({ sessions: [session({ agentId, extra, title: "family chat" })], openclaw: { config: oc, error: null } });

  it("names both models and the reason", () => {
    const f = checkFallbackRate(obsWith({ lastAssistantModel: "gpt-5.5", lastErrorReason: "rate_limit" }), config, NOW);
    expect(f.map((x) => x.subject)).toEqual(["session:openclaw:main:s1"]);
    expect(f[0]!.summary).toBe("main family chat: runs on gpt-5.5 instead of anthropic/claude-opus-4-6 (rate_limit)");
    expect(f[0]!.details).toMatchObject({ selected: "anthropic/claude-opus-4-6", active: "gpt-5.5", reason: "rate_limit" });
  });

  it("the fallback notice is used when the transcript says nothing", () => {
    const m = modelMismatch(
      session({ extra: { fallbackNoticeSelectedModel: "m/a", fallbackNoticeActiveModel: "m/b", fallbackNoticeReason: "timeout" } }),
      null,
    );
    expect(m).toEqual({ selected: "m/a", active: "m/b", reason: "timeout" });
  });

  it("without openclaw.json the model the source recorded as configured is the selection", () => {
    const f = checkFallbackRate(observations({ sessions: [session({ extra: { configuredModel: "m/a", lastAssistantModel: "b" } })] }), config, NOW);
    expect(f[0]!.summary).toMatch(/runs on b instead of m\/a$/);
  });

  it("per-agent model is the selection", () => {
    expect(checkFallbackRate(obsWith({ lastAssistantModel: "m2" }, "cheap"), config, NOW)).toEqual([]);
    expect(checkFallbackRate(obsWith({ lastAssistantModel: "claude-opus-4-6" }, "cheap"), config, NOW)).toHaveLength(1);
  });

  it("a model the user picked is not a fallback", () => {
    expect(checkFallbackRate(obsWith({ modelOverride: "openai/gpt-5.5", modelOverrideSource: "user", lastAssistantModel: "gpt-5.5" }), config, NOW)).toEqual(
      [],
    );
  });

  it("the same model with and without provider is no mismatch", () => {
    expect(checkFallbackRate(obsWith({ lastAssistantModel: "claude-opus-4-6" }), config, NOW)).toEqual([]);
    expect(modelKey("Anthropic/Claude-Opus-4-6")).toBe("claude-opus-4-6");
  });

  it("an automatic override counts as the active model", () => {
    const f = checkFallbackRate(
      obsWith({ modelOverride: "openai/gpt-5.5", modelOverrideSource: "auto", fallbackOriginModel: "anthropic/claude-opus-4-6" }),
      config,
      NOW,
    );
    expect(f[0]!.summary).toMatch(/runs on openai\/gpt-5.5 instead of anthropic\/claude-opus-4-6$/);
  });
});
