import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/log.ts";
import { everyToCron, type JobFailure, jobFailureFindings, ScheduleError, Scheduler } from "../../src/monitor/scheduler.ts";

const log = createLogger({ level: "silent" });

/** A promise you resolve from outside. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls until `cond` holds (bounded), for behaviour driven by real cron ticks. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const made: Scheduler[] = [];
afterEach(async () => {
  for (const s of made.splice(0)) await s.stop();
});
const scheduler = (...args: ConstructorParameters<typeof Scheduler>) => {
  const s = new Scheduler(...args);
  made.push(s);
  return s;
};

describe("scheduler", () => {
  it("never overlaps a job with itself", async () => {
    const gate = deferred();
    let runs = 0;
    const s = scheduler({
      jobs: [
        {
          name: "cycle",
          everySeconds: 60,
          run: async () => {
            runs++;
            await gate.promise;
          },
        },
      ],
      log,
    });
    const first = s.runNow("cycle");
    expect(s.isRunning("cycle")).toBe(true);
    expect(await s.runNow("cycle")).toBe("skipped");
    expect(await s.runNow("cycle")).toBe("skipped");
    gate.resolve();
    expect(await first).toBe("ran");
    expect(runs).toBe(1);
    expect(await s.runNow("cycle"), "free again once finished").toBe("ran");
    expect(runs).toBe(2);
  });

  it("a job that throws is logged and raises a self finding, then resolves when it succeeds", async () => {
    const reports: JobFailure[][] = [];
    let fail = true;
    const s = scheduler({
      jobs: [
        {
          name: "logs",
          everySeconds: 600,
          run: () => {
            if (fail) throw new Error("EACCES: /var/log/openclaw.log");
          },
        },
        { name: "other", everySeconds: 600, run: () => {} },
      ],
      log,
      now: () => 1_000,
      onFailuresChanged: (f) => {
        reports.push(f);
      },
    });
    expect(await s.runNow("logs")).toBe("failed");
    expect(await s.runNow("logs")).toBe("failed");
    expect(await s.runNow("other")).toBe("ran");
    expect(reports.at(-1)).toEqual([{ job: "logs", error: "EACCES: /var/log/openclaw.log", at: 1_000, count: 2 }]);
    const [finding] = jobFailureFindings(s.currentFailures());
    expect(finding).toMatchObject({
      check: "self",
      subject: "self:job:logs",
      severity: "warning",
      summary: 'scheduled job "logs" failed: EACCES: /var/log/openclaw.log',
      value: "2 failed runs in a row",
    });
    fail = false;
    expect(await s.runNow("logs")).toBe("ran");
    expect(reports.at(-1)).toEqual([]);
    expect(reports).toHaveLength(3);
  });

  it("runs jobs on real cron ticks; a throwing scheduled job never reaches the process", async () => {
    let ok = 0;
    let failures = 0;
    const s = scheduler({
      jobs: [
        { name: "tick", cron: "* * * * * *", run: () => void ok++ },
        {
          name: "boom",
          everySeconds: 1,
          run: async () => {
            throw new Error("boom");
          },
        },
      ],
      log,
      onFailuresChanged: (f) => {
        failures = f[0]?.count ?? 0;
      },
    });
    s.start();
    await until(() => ok >= 1 && failures >= 2);
    await s.stop();
    const after = ok;
    await new Promise((r) => setTimeout(r, 1_100));
    expect(ok, "no runs after stop").toBe(after);
  });

  it("stop() waits for the running job to finish", async () => {
    const gate = deferred();
    const events: string[] = [];
    const s = scheduler({
      jobs: [
        {
          name: "cycle",
          everySeconds: 60,
          run: async () => {
            await gate.promise;
            events.push("job finished");
          },
        },
      ],
      log,
    });
    s.start();
    void s.runNow("cycle");
    const stopped = s.stop().then(() => events.push("stopped"));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([]);
    gate.resolve();
    await stopped;
    expect(events).toEqual(["job finished", "stopped"]);
    expect(await s.runNow("cycle"), "nothing runs after stop").toBe("skipped");
  });

  it("turns intervals into cron expressions where cron can say them evenly", () => {
    expect(everyToCron(30)).toBe("*/30 * * * * *");
    expect(everyToCron(60)).toBe("0 */1 * * * *");
    expect(everyToCron(600)).toBe("0 */10 * * * *");
    expect(everyToCron(7200)).toBe("0 0 */2 * * *");
    expect(everyToCron(86_400)).toBe("0 0 0 * * *");
    for (const odd of [45, 90, 7 * 60, 0, 2.5]) expect(everyToCron(odd)).toBeNull();
    expect(() => new Scheduler({ jobs: [{ name: "x", cron: "every day", run: () => {} }], log })).toThrow(ScheduleError);
    expect(() => new Scheduler({ jobs: [{ name: "x", run: () => {} }], log })).toThrow(/needs everySeconds or cron/);
  });
});

/** Blocks the event loop (a busy machine, a long synchronous parse) until `untilMs`. */
function busyUntil(untilMs: number): void {
  while (Date.now() < untilMs) {}
}

/** Waits until `ms` before the next multiple of `periodS` seconds (the cron trigger), with at least `leadMs` to spare. */
async function justBeforeTrigger(periodS: number, ms: number): Promise<number> {
  const period = periodS * 1000;
  let trigger = Math.ceil(Date.now() / period) * period;
  if (trigger - Date.now() < ms + 100) trigger += period;
  await new Promise((r) => setTimeout(r, trigger - ms - Date.now()));
  return trigger;
}

describe("scheduler on a busy machine", () => {
  const captured = () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on("data", (d) => lines.push(String(d)));
    return { lines, log: createLogger({ level: "debug", pretty: "never", stream }) };
  };

  it("still runs a job whose trigger fired seconds late, and prints none of node-cron's own warnings", { timeout: 20_000 }, async () => {
    const { lines, log } = captured();
    const runs: number[] = [];
    scheduler({ jobs: [{ name: "scan", everySeconds: 5, run: () => void runs.push(Date.now()) }], log }).start();
    const trigger = await justBeforeTrigger(5, 300);
    // Blocked past the trigger by more than node-cron's default 1 s tolerance, less than half the interval.
    busyUntil(trigger + 2_300);
    await until(() => runs.length > 0, 1_500);
    expect(runs[0]! - trigger).toBeLessThan(3_000);
    expect(lines.join("")).not.toMatch(/missed execution|Possible blocking IO/);
  });

  it("says in its own words, once, that a run was skipped when the process was busy for longer", { timeout: 20_000 }, async () => {
    const { lines, log } = captured();
    const runs: number[] = [];
    scheduler({ jobs: [{ name: "outbox", everySeconds: 2, run: () => void runs.push(Date.now()) }], log }).start();
    const trigger = await justBeforeTrigger(2, 300);
    busyUntil(trigger + 2_300);
    await until(() => runs.length > 0, 2_500);
    const text = lines.join("");
    expect(text).not.toMatch(/missed execution|Possible blocking IO/);
    const skipped = lines.filter((l) => l.includes("too busy"));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toContain(
      'the machine was too busy to start \\"outbox\\" on time (over 1 s late); that run was skipped and it runs at the next trigger',
    );
    expect(JSON.parse(skipped[0]!)).toMatchObject({ level: 40, job: "outbox", skipped: 1 });
  });
});
