import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** A runner world whose agent is the stdio fake replaying a recording; the logs say what asm wrote and ran. */
export type ReplayWorld = RunnerWorld & {
  stdinLog: string;
  argvLog: string;
  /** The exchange the fake replays (a copy); copy another recording over it before the next spawn. */
  exchange: string;
};

const agentCli = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));

/**
 * `runnerWorld` over tests/fakes/agent-cli.mjs replaying `recording` (an `.exchange.jsonl`), which exits 97 when what
 * asm writes differs from it. `driverConfig` adds to `runner.drivers.<agent>`; `runner` to the runner section
 * (interrupts get 2 s of grace unless it says otherwise).
 */
export function replayWorld(o: {
  dir: string;
  agent: Platform;
  driver: Driver;
  recording: string;
  runner?: Record<string, unknown>;
  driverConfig?: Record<string, unknown>;
}): ReplayWorld {
  const exchange = join(o.dir, "exchange.jsonl");
  copyFileSync(o.recording, exchange);
  const stdinLog = join(o.dir, "stdin.log");
  const argvLog = join(o.dir, "argv.json");
  const env = { FAKE_EXCHANGE: exchange, FAKE_STDIN_LOG: stdinLog, FAKE_ARGV_LOG: argvLog, FAKE_FAST: "1" };
  const w = runnerWorld({
    dir: o.dir,
    agent: o.agent,
    driver: o.driver,
    driverConfig: { command: [process.execPath, agentCli], env, ...o.driverConfig },
    runner: { interruptGraceSeconds: 2, ...o.runner },
  });
  return { ...w, stdinLog, argvLog, exchange };
}

/** Polls until `what` holds; throws after `ms`. */
export async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}
