import { join } from "node:path";
import type { Driver } from "../../src/agents/driver.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner, type RunnerListener } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, WorkerStore } from "../../src/store/workers.ts";

/** A real Runner over a SQLite store in `dir`, driving one agent, with what it asked and settled kept for the test. */
export interface RunnerWorld {
  runner: Runner;
  store: WorkerStore;
  requests: WorkerRequestStore;
  /** Requests put to a person, in order. */
  asks: WorkerRequestRow[];
  /** `<request id>:<how>` for each request settled without a press. */
  settled: string[];
  /** Requests a reminder went out for. */
  reminders: WorkerRequestRow[];
  dir: string;
}

const started: Runner[] = [];

/** Stops every runner `runnerWorld` made (call it in `afterEach`). */
export async function stopRunners(): Promise<void> {
  for (const r of started.splice(0)) await r.stop();
}

/**
 * `dir` is the workspace `app` and holds the store; `driverConfig` is `runner.drivers.<agent>` (the fake's command and
 * env), `runner` the rest of the runner section.
 */
export function runnerWorld(o: {
  dir: string;
  agent: Platform;
  driver: Driver;
  driverConfig: Record<string, unknown>;
  runner?: Record<string, unknown>;
}): RunnerWorld {
  const db = openStore(join(o.dir, "asm.db"));
  const config = configSchema.parse({ runner: { workspaces: { app: o.dir }, drivers: { [o.agent]: o.driverConfig }, ...o.runner } });
  const store = new WorkerStore(db);
  const requests = new WorkerRequestStore(db);
  const w: RunnerWorld = { runner: undefined as unknown as Runner, store, requests, asks: [], settled: [], reminders: [], dir: o.dir };
  const listener: RunnerListener = {
    changed: () => {},
    asks: (_x, r) => w.asks.push(r),
    turnEnded: () => {},
    finished: () => {},
    settled: (_x, r, how) => w.settled.push(`${r.id}:${how}`),
    reminds: (_x, r) => w.reminders.push(r),
  };
  w.runner = new Runner({
    config,
    log: createLogger({ level: "silent" }),
    store,
    requests,
    drivers: { [o.agent]: o.driver } as unknown as Record<Platform, Driver>,
    listener,
  });
  started.push(w.runner);
  return w;
}

/** Polls until `what` holds; throws after `ms`. */
export async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}
