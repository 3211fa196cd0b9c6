import { describe, expect, it } from "vitest";
import { checkDuplicates, parsePeer, routedAgent } from "../../src/checks/duplicates.ts";
import { cfg, NOW, observations, openClaw, session } from "../helpers/checks.ts";

const config = cfg();
const oc = openClaw({
  agents: { list: [{ id: "main" }, { id: "family" }, { id: "work" }] },
  bindings: [
    { agentId: "work", match: { channel: "slack" } },
    { agentId: "family", match: { channel: "telegram", peer: { kind: "group", id: "-100123" } } },
    { agentId: "main", match: { channel: "telegram", accountId: "bot2" } },
    { agentId: "work", match: { channel: "telegram", peer: { kind: "direct", id: "4411" } } },
  ],
});
const s = (agentId: string, peer: string | null, extra: Record<string, unknown> = {}) =>
  session({ agentId, sessionId: `${agentId}-${peer}`, extra: { peer, ...extra } });

describe("duplicates check", () => {
  it("parses peers, ids may contain colons", () => {
    expect(parsePeer("telegram:dm:4411")).toEqual({ channel: "telegram", kind: "dm", id: "4411" });
    expect(parsePeer("matrix:group:!a:b.org")).toEqual({ channel: "matrix", kind: "group", id: "!a:b.org" });
    expect(parsePeer("nonsense")).toBeNull();
  });

  it("routes by the most specific binding", () => {
    expect(routedAgent(oc, parsePeer("telegram:group:-100123")!, null)).toBe("family");
    expect(routedAgent(oc, parsePeer("telegram:dm:4411")!, "bot2")).toBe("work");
    expect(routedAgent(oc, parsePeer("telegram:dm:999")!, "bot2")).toBe("main");
    expect(routedAgent(oc, parsePeer("slack:channel:C1")!, null)).toBe("work");
    expect(routedAgent(oc, parsePeer("telegram:dm:999")!, null)).toBeNull();
  });

  const cases: { name: string; sessions: ReturnType<typeof s>[]; subjects: string[]; withConfig?: boolean }[] = [
    { name: "one agent per peer is fine", sessions: [s("family", "telegram:group:-100123"), s("work", "telegram:dm:4411")], subjects: [] },
    {
      name: "the same peer in two agents",
      sessions: [s("main", "telegram:dm:555"), s("family", "telegram:dm:555")],
      subjects: ["peer:telegram:dm:555"],
      withConfig: false,
    },
    {
      name: "a session outside its routed agent is stray",
      sessions: [s("main", "telegram:group:-100123")],
      subjects: ["session:openclaw:main:main-telegram:group:-100123"],
    },
    { name: "no matching binding: the default agent is not second-guessed", sessions: [s("family", "telegram:dm:999")], subjects: [] },
    { name: "sessions without a peer are ignored", sessions: [s("main", null), s("family", null)], subjects: [] },
    {
      name: "both at once",
      sessions: [s("family", "telegram:group:-100123"), s("main", "telegram:group:-100123")],
      subjects: ["peer:telegram:group:-100123", "session:openclaw:main:main-telegram:group:-100123"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const obs = observations({ sessions: c.sessions, openclaw: { config: c.withConfig === false ? null : oc, error: null } });
      const f = checkDuplicates(obs, config, NOW);
      expect(f.map((x) => x.subject)).toEqual(c.subjects);
      for (const x of f) expect(x.severity).toBe("warning");
    });
  }

  it("names the agents and proposes cleaning up a stray", () => {
    const obs = observations({ sessions: [s("main", "telegram:group:-100123")], openclaw: { config: oc, error: null } });
    const [f] = checkDuplicates(obs, cfg({ checks: { duplicates: { severity: "critical" } } }), NOW);
    expect(f!.severity).toBe("critical");
    expect(f!.summary).toMatch(/lives in agent main, but bindings route it to family/);
    expect(f!.proposedAction).toEqual({ kind: "cleanup", target: "openclaw:main:main-telegram:group:-100123" });
  });

  it("an unreadable openclaw.json is reported; duplicates are still found", () => {
    const obs = observations({
      sessions: [s("main", "telegram:dm:555"), s("family", "telegram:dm:555")],
      openclaw: { config: null, error: "OpenClaw config /o/openclaw.json: not valid JSON5: Unexpected end" },
    });
    const f = checkDuplicates(obs, config, NOW);
    expect(f.map((x) => x.subject)).toEqual(["peer:telegram:dm:555", "openclaw-config"]);
    expect(f[1]!.summary).toMatch(/cannot check OpenClaw routing: .*not valid JSON5/);
  });

  it("a broken openclaw.json the source already reported is not reported twice", () => {
    const obs = observations({
      openclaw: { config: null, error: "OpenClaw config /o/openclaw.json: not valid JSON5", path: "/o/openclaw.json" },
      sourceProblems: [{ platform: "openclaw", path: "/o/openclaw.json", problem: "not valid JSON5", since: NOW }],
    });
    expect(checkDuplicates(obs, config, NOW)).toEqual([]);
  });
});
