import { describe, expect, it } from "vitest";
import { checkLogs } from "../../src/checks/logs.ts";
import type { LogObservation } from "../../src/observe/observations.ts";
import { cfg, MIN, NOW, observations } from "../helpers/checks.ts";

const config = cfg();
const log = (over: Partial<LogObservation> = {}): LogObservation => ({
  path: "/tmp/openclaw/openclaw-2026-11-23.log",
  at: NOW,
  previousAt: NOW - 10 * MIN,
  sizeBefore: 2_000_000,
  size: 2_100_000,
  bytesRead: 100_000,
  lines: 1000,
  errorLines: 0,
  slowLines: 0,
  maxDurationMs: null,
  rotated: false,
  truncated: false,
  firstSight: false,
  error: null,
  ...over,
});

describe("logs check", () => {
  const cases: { name: string; o: Partial<LogObservation>; problem: RegExp | null; c?: ReturnType<typeof cfg> }[] = [
    { name: "quiet log", o: {}, problem: null },
    { name: "growth of exactly 50% is fine", o: { size: 3_000_000 }, problem: null },
    { name: "growth above 50% warns", o: { size: 3_200_000 }, problem: /grew 60% in 10m/ },
    { name: "small files are not judged by growth", o: { sizeBefore: 100_000, size: 900_000 }, problem: null },
    {
      name: "the growth floor is configurable",
      o: { sizeBefore: 100_000, size: 900_000 },
      problem: /grew 800%/,
      c: cfg({ checks: { logs: { growthMinBytes: 0 } } }),
    },
    { name: "no growth figure on first sight", o: { firstSight: true, previousAt: null, size: 5_000_000 }, problem: null },
    { name: "no growth figure after rotation", o: { rotated: true, sizeBefore: 0, size: 900_000 }, problem: null },
    { name: "errors at 10% are fine", o: { errorLines: 100 }, problem: null },
    { name: "errors above 10% warn", o: { errorLines: 101 }, problem: /10% of new lines are errors/ },
    { name: "error rate needs new lines", o: { lines: 0, errorLines: 0 }, problem: null },
    { name: "slow responses warn", o: { slowLines: 3, maxDurationMs: 4500 }, problem: /3 slow responses \(up to 4.5s\)/ },
    { name: "over the rotation size", o: { sizeBefore: 60 * 1024 * 1024, size: 60 * 1024 * 1024 + 10 }, problem: /over its rotation size/ },
    { name: "unreadable file", o: { error: "EACCES" }, problem: /cannot be read: EACCES/ },
    { name: "thresholds come from config", o: { size: 2_400_000 }, problem: /grew 20%/, c: cfg({ checks: { logs: { growthPercent: 10 } } }) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const o = log(c.o);
      const f = checkLogs(observations({ logs: [o] }), c.c ?? config, NOW);
      if (c.problem === null) return expect(f).toEqual([]);
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ check: "logs", subject: `log:${o.path}`, severity: "warning" });
      expect(f[0]!.summary).toMatch(c.problem);
    });
  }

  it("several problems share one finding per file", () => {
    const f = checkLogs(observations({ logs: [log({ size: 4_000_000, errorLines: 500 })] }), cfg({ checks: { logs: { severity: "critical" } } }), NOW);
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe("critical");
    expect(f[0]!.summary).toMatch(/grew 100% in 10m; 50% of new lines are errors/);
  });
});
