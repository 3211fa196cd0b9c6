import { describe, expect, it } from "vitest";
import { checkSelf } from "../../src/checks/self.ts";
import { emptyObservations, type SelfStats } from "../../src/observe/observations.ts";
import { cfg, MIN, NOW, observations } from "../helpers/checks.ts";

const config = cfg();
const stats = (over: Partial<SelfStats>): SelfStats => ({ ...emptyObservations().self, ...over });

describe("self check", () => {
  const cases: { name: string; s: Partial<SelfStats>; expected: string[]; c?: ReturnType<typeof cfg> }[] = [
    { name: "healthy", s: { cycleMs: 800, outboxPending: 3, dbBytes: 10_000_000 }, expected: [] },
    { name: "scan errors", s: { scanErrors: ["openclaw: database is locked"], lastScanAt: NOW - MIN }, expected: ["self:scan"] },
    { name: "cycle exactly the interval is fine", s: { cycleMs: 60_000, intervalMs: 60_000 }, expected: [] },
    { name: "cycle slower than its interval", s: { cycleMs: 61_000, intervalMs: 60_000 }, expected: ["self:cycle"] },
    { name: "outbox at the limit is fine", s: { outboxPending: 50 }, expected: [] },
    { name: "outbox backlog", s: { outboxPending: 51, oldestPendingAt: NOW - 30 * MIN }, expected: ["self:outbox"] },
    { name: "database too big", s: { dbBytes: 2 * 1024 ** 3 }, expected: ["self:db"] },
    {
      name: "configured limits",
      s: { dbBytes: 2_000_000, outboxPending: 6 },
      expected: ["self:outbox", "self:db"],
      c: cfg({ checks: { self: { dbBytes: 1_000_000, outboxBacklog: 5 } } }),
    },
    { name: "a job that threw", s: { jobErrors: [{ job: "gateway", error: "boom", at: NOW - MIN }] }, expected: ["self:job:gateway"] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = checkSelf(observations({ self: stats(c.s) }), c.c ?? config, NOW);
      expect(f.map((x) => x.subject)).toEqual(c.expected);
      for (const x of f) expect(x).toMatchObject({ check: "self", severity: "warning" });
    });
  }

  it("messages say what and how old", () => {
    const [f] = checkSelf(observations({ self: stats({ outboxPending: 51, oldestPendingAt: NOW - 30 * MIN }) }), config, NOW);
    expect(f!.summary).toBe("51 messages waiting in the outbox, oldest 30m ago");
    const [g] = checkSelf(observations({ self: stats({ cycleMs: 95_000, intervalMs: 60_000 }) }), config, NOW);
    expect(g!.summary).toBe("a check cycle took 1m 35s, longer than its 1m interval");
  });
});
