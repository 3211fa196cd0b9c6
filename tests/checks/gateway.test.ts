import { describe, expect, it } from "vitest";
import { checkGateway, gatewayState } from "../../src/checks/gateway.ts";
import type { GatewayObservation, ProbeSample, RestartAttempt } from "../../src/observe/observations.ts";
import { cfg, MIN, NOW, observations } from "../helpers/checks.ts";

const config = cfg();
const SEC = 1000;

/**
 * Probe samples every 30 s: `pattern` from oldest to newest, the last at NOW. "u" up, "d" no answer,
 * "w" answering but not ready (HTTP 503: starting).
 */
function samples(pattern: string): ProbeSample[] {
  return [...pattern].map((c, i) => ({
    ts: NOW - (pattern.length - 1 - i) * 30 * SEC,
    ok: c === "u",
    latencyMs: c === "d" ? null : 12,
    detail: c === "u" ? "HTTP 200" : c === "w" ? "HTTP 503" : "ECONNREFUSED",
    answered: c !== "d",
  }));
}
const restart = (id: number, status: string, startedAgo: number | null, finishedAgo: number | null = startedAgo): RestartAttempt => ({
  id,
  status,
  createdAt: NOW - (startedAgo ?? 0) - SEC,
  startedAt: startedAgo === null ? null : NOW - startedAgo,
  finishedAt: finishedAgo === null ? null : NOW - finishedAgo,
});
const gw = (pattern: string, restarts: RestartAttempt[] = []): GatewayObservation => ({
  target: "GET http://127.0.0.1:18789/readyz",
  samples: samples(pattern),
  lastOkAt: null,
  restarts,
});
const run = (g: GatewayObservation | null, c = config) => checkGateway(observations({ gateway: g }), c, NOW);

// Samples are 30 s apart: "u" + 7 × "d" has its first failure exactly 3 minutes before NOW.
describe("gateway check", () => {
  const cases: { name: string; g: GatewayObservation | null; subjects: string[]; propose?: boolean; summary?: RegExp; c?: ReturnType<typeof cfg> }[] = [
    { name: "not probed yet", g: null, subjects: [] },
    { name: "up", g: gw("uuuuuuu"), subjects: [] },
    { name: "recovered", g: gw("uddddddddu"), subjects: [] },
    { name: "down exactly 3 minutes is not yet critical", g: gw("udddddd" + "d"), subjects: [] },
    { name: "down longer than 3 minutes", g: gw("uddddddd" + "d"), subjects: ["gateway"], propose: true, summary: /unresponsive for 3m 30s/ },
    { name: "down since the first probe we ever made", g: gw("dddddddddd"), subjects: ["gateway"], propose: true },
    {
      name: "restarts off: still critical, nothing proposed",
      g: gw("dddddddddd"),
      subjects: ["gateway"],
      propose: false,
      c: cfg({ checks: { gateway: { restart: "off" } } }),
    },
    {
      name: "an outage that began with our restart waits out the startup grace",
      g: gw("uuuuuuuu" + "dddddddd", [restart(1, "succeeded", 4 * MIN + 10 * SEC, 4 * MIN)]),
      subjects: [],
    },
    {
      name: "after the grace it is reported again",
      g: gw("u" + "d".repeat(14), [restart(1, "succeeded", 7 * MIN, 6 * MIN)]),
      subjects: ["gateway"],
      propose: true,
    },
    {
      name: "an outage older than the restart stays reported during the grace, without a new restart",
      g: gw("u" + "d".repeat(14), [restart(1, "succeeded", 2 * MIN, 1 * MIN)]),
      subjects: ["gateway"],
      propose: false,
      summary: /waiting out its startup grace/,
    },
    {
      name: "a gateway that restarted itself (answering 503) gets the startup grace",
      g: gw("u" + "w".repeat(9)),
      subjects: [],
    },
    {
      name: "still not ready after the grace: reported, restart proposed",
      g: gw("u" + "w".repeat(11)),
      subjects: ["gateway"],
      propose: true,
    },
    {
      name: "dead, then starting: stays reported, no restart on top of the start",
      g: gw("u" + "d".repeat(8) + "ww"),
      subjects: ["gateway"],
      propose: false,
      summary: /answering but not ready since 30s ago/,
    },
    {
      name: "a restart in flight is not proposed again",
      g: gw("d".repeat(12), [restart(1, "pending", null, null)]),
      subjects: ["gateway"],
      propose: false,
      summary: /already requested/,
    },
    {
      name: "circuit breaker: three restarts in 15 minutes",
      g: gw("d".repeat(30), [restart(3, "succeeded", 6 * MIN), restart(2, "succeeded", 10 * MIN), restart(1, "succeeded", 14 * MIN)]),
      subjects: ["gateway"],
      propose: false,
      summary: /circuit breaker open \(3 restarts in 15m\)/,
    },
    {
      name: "breaker closes when the oldest restart leaves the window",
      g: gw("d".repeat(30), [restart(3, "succeeded", 6 * MIN), restart(2, "succeeded", 10 * MIN), restart(1, "succeeded", 16 * MIN)]),
      subjects: ["gateway"],
      propose: true,
    },
    {
      name: "three failed restarts in a row: needs repair",
      g: gw("d".repeat(60), [restart(3, "failed", 6 * MIN), restart(2, "unverified", 20 * MIN), restart(1, "failed", 26 * MIN)]),
      subjects: ["gateway:repair", "gateway"],
      propose: false,
    },
    {
      name: "a success breaks the failed streak",
      g: gw("d".repeat(60), [restart(3, "failed", 6 * MIN), restart(2, "succeeded", 20 * MIN), restart(1, "failed", 26 * MIN)]),
      subjects: ["gateway"],
      propose: true,
    },
    {
      name: "the gateway was up between the failed restarts: no repair escalation",
      g: { ...gw("d".repeat(60), [restart(3, "failed", 6 * MIN), restart(2, "failed", 20 * MIN), restart(1, "failed", 26 * MIN)]), lastOkAt: NOW - 10 * MIN },
      subjects: ["gateway"],
      propose: true,
    },
    {
      name: "needs repair escalates even inside the down threshold",
      g: gw("udd", [restart(3, "failed", 30 * MIN), restart(2, "failed", 40 * MIN), restart(1, "failed", 50 * MIN)]),
      subjects: ["gateway:repair"],
    },
    {
      name: "up again: no repair escalation",
      g: gw("dddu", [restart(3, "failed", 30 * MIN), restart(2, "failed", 40 * MIN), restart(1, "failed", 50 * MIN)]),
      subjects: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = run(c.g, c.c);
      expect(f.map((x) => x.subject)).toEqual(c.subjects);
      for (const x of f) expect(x.severity).toBe("critical");
      const main = f.find((x) => x.subject === "gateway");
      if (c.propose !== undefined && main) expect(main.proposedAction).toEqual(c.propose ? { kind: "restart_gateway" } : undefined);
      if (c.summary && main) expect(main.summary).toMatch(c.summary);
    });
  }

  it("reports the last probe error and the threshold", () => {
    const [f] = run(gw("dddddddddd"));
    expect(f!.value).toBe("down 4m 30s (ECONNREFUSED)");
    expect(f!.threshold).toBe("3m unresponsive");
    expect(f!.component).toBe("OpenClaw gateway");
  });

  it("state: restart times, breaker and streak", () => {
    const st = gatewayState(gw("ud", [restart(2, "failed", 2 * MIN), restart(1, "failed", 5 * MIN)]), config, NOW);
    expect(st).toMatchObject({ up: false, downSince: NOW, inGrace: true, recentRestarts: 2, breakerOpen: false, failedStreak: 2 });
  });

  it("thresholds come from config", () => {
    const c = cfg({ checks: { gateway: { downAfterSeconds: 60 } } });
    expect(run(gw("uddd"), c)).toEqual([]);
    expect(run(gw("udddd"), c).map((x) => x.subject)).toEqual(["gateway"]);
  });
});
