import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { claudeDriver } from "../../src/agents/claude/driver.ts";
import type { Driver } from "../../src/agents/driver.ts";
import { opencodeDriver } from "../../src/agents/opencode/driver.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { processStartTime, WORKER_ENV } from "../../src/runner/process.ts";
import { Runner, RunnerError, type RunnerListener } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, type WorkerRow, WorkerStore } from "../../src/store/workers.ts";
import { tempDir } from "../helpers/tmp.ts";

const fake = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const streams = fileURLToPath(new URL("../fixtures/streams/", import.meta.url));
const exchange = (agent: string, scenario: string) => join(streams, agent, `${scenario}.exchange.jsonl`);

interface World {
  runner: Runner;
  store: WorkerStore;
  requests: WorkerRequestStore;
  asks: WorkerRequestRow[];
  finished: WorkerRow[];
  statuses: string[];
  stdinLog: string;
  argvLog: string;
  dir: string;
}

const runners: Runner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});

function world(
  env: Record<string, string>,
  runner: Record<string, unknown> = {},
  gate?: (agent: Platform) => string | null,
  driver: Driver = claudeDriver,
): World {
  const dir = tempDir("asm-runner-");
  const db = openStore(join(dir, "asm.db"));
  const stdinLog = join(dir, "stdin.log");
  const argvLog = join(dir, "argv.json");
  const config = configSchema.parse({
    runner: {
      workspaces: { app: dir },
      drivers: { claude: { command: [process.execPath, fake], env: { FAKE_STDIN_LOG: stdinLog, FAKE_ARGV_LOG: argvLog, FAKE_FAST: "1", ...env } } },
      interruptGraceSeconds: 0.5,
      ...runner,
    },
  });
  const store = new WorkerStore(db);
  const requests = new WorkerRequestStore(db);
  const w: World = { runner: undefined as unknown as Runner, store, requests, asks: [], finished: [], statuses: [], stdinLog, argvLog, dir };
  const listener: RunnerListener = {
    changed: (x) => w.statuses.push(`${x.id}:${x.status}`),
    asks: (_x, r) => w.asks.push(r),
    turnEnded: () => {},
    finished: (x) => {
      w.finished.push(x);
      w.statuses.push(`${x.id}:${x.status}`);
    },
  };
  w.runner = new Runner({
    config,
    log: createLogger({ level: "silent" }),
    store,
    requests,
    drivers: { claude: driver } as unknown as Record<Platform, Driver>,
    listener,
    ...(gate ? { gate } : {}),
  });
  runners.push(w.runner);
  return w;
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};
const dedupe = (xs: string[]) => xs.filter((x, i) => x !== xs[i - 1]);

describe("runner with Claude Code's recorded control-protocol exchanges", () => {
  it("runs a worker to completed: session id from init, tokens, cost and the answer; the prompt went to stdin, not argv", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "--help; rm -rf / # not a flag" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.sessionUid).toBe(`claude::${done.sessionId}`);
    expect(done.turns).toBe(1);
    expect(done.costUsd).toBeGreaterThan(0);
    // The turn's totals come from the result line, which sums every API call of the turn.
    const result = readFileSync(exchange("claude", "success"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.dir === "stdout" && e.line.includes('"type":"result"'))
      .map((e) => JSON.parse(e.line))[0];
    expect(done.cacheReadTokens).toBe(result.usage.cache_read_input_tokens);
    expect(done.outputTokens).toBe(result.usage.output_tokens);
    expect(done.outputTail.length).toBeGreaterThan(0);
    expect(done.exitCode).toBe(0);
    expect(dedupe(w.statuses.map((s) => s.split(":")[1]!))).toEqual(["starting", "running", "waiting-for-input", "completed"]);
    const argv = JSON.parse(readFileSync(w.argvLog, "utf8"));
    expect(argv.argv).not.toContain("--help; rm -rf / # not a flag");
    expect(argv.cwd).toBe(w.dir.replace(/\/$/, ""));
    expect(argv.worker).toBe(row.id);
    const firstIn = JSON.parse(readFileSync(w.stdinLog, "utf8").split("\n")[0]!);
    expect(firstIn).toEqual({ type: "user", message: { role: "user", content: "--help; rm -rf / # not a flag" } });
    expect(w.store.events(row.id, { type: "init" })).toHaveLength(1);
  });

  it("turns can_use_tool into a request; allowing it answers with the recorded control_response and the turn completes", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "tool-allow") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "USE_SHELL: write a file" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("Bash");
    expect(String(r.payload.detail)).toContain("echo tool-ran");
    expect(w.store.get(row.id)!.status).toBe("waiting-for-input");
    expect(w.store.get(row.id)!.waitingReason).toBe("permission");
    expect(w.requests.decide(r.id, r.nonce, "allowed", "telegram:1", Date.now())).toBe(true);
    expect(w.requests.decide(r.id, r.nonce, "allowed", "telegram:1", Date.now())).toBe(false); // single use
    expect(w.runner.answer(r, true)).toBe(true);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.lastTool).toContain("Bash");
    const answer = readFileSync(w.stdinLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))[1];
    expect(answer.response.response).toEqual({ behavior: "allow", updatedInput: { command: "echo tool-ran > tool-ran.txt && cat README.md" } });
  });

  it("a denied permission is answered deny (the fake refuses any other answer than the recording's)", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "tool-deny") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "USE_SHELL: write a file" });
    await until(() => w.asks.length === 1);
    w.runner.answer(w.asks[0]!, false, "not now");
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    const answer = readFileSync(w.stdinLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))[1];
    expect(answer.response.response.behavior).toBe("deny");
  });

  it("interrupt goes through the protocol and is recorded as our intent", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "interrupt") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "HANG write slowly" });
    await until(() => w.store.get(row.id)!.status === "running");
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(readFileSync(w.stdinLog, "utf8")).toContain('"subtype":"interrupt"');
  });

  it("an interrupt while a permission request is pending: the CLI withdraws it, the request closes, the worker is interrupted", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "interrupt-permission") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "USE_SHELL: write a file" });
    await until(() => w.asks.length === 1);
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(w.requests.get(w.asks[0]!.id)!.status).toBe("expired");
    expect(w.requests.pending(row.id)).toEqual([]);
  });

  it("a child that ignores the interrupt and SIGINT is SIGKILLed after the grace period, still 'interrupted'", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success"), FAKE_IGNORE_SIGINT: "1", FAKE_HANG_AT: "2" });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    await until(() => w.store.get(row.id)!.status === "running");
    const t0 = Date.now();
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(done.signal).toBe("SIGKILL");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it("kill is SIGKILL to the group at once", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success"), FAKE_IGNORE_SIGINT: "1", FAKE_HANG_AT: "2" });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    await until(() => w.store.get(row.id)!.status === "running");
    w.runner.kill(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("killed");
    expect(done.signal).toBe("SIGKILL");
  });

  it("a wedged turn (no event for stallSeconds) fails as timeout", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success"), FAKE_HANG_AT: "2" }, { stallSeconds: 0.5 });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("timeout");
  });

  it("an API error ends failed with its class (529 → overloaded), exit code and stderr tail", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "fail529") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "FAIL529" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("overloaded");
    expect(done.errorMessage).toMatch(/529|Overloaded/i);
  });

  it("a CLI that dies before its init event is a clear failure with its stderr", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success"), FAKE_EXIT_EARLY: "3" });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.exitCode).toBe(3);
    expect(done.errorMessage).toContain("before starting a session");
    expect(done.stderrTail).toContain("could not start");
  });

  it("a missing program fails as spawn, naming it", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, { drivers: { claude: { command: ["/nonexistent/claude"] } } });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("spawn");
    expect(done.errorMessage).toMatch(/nonexistent|ENOENT/);
  });

  it("only configured workspaces: another name is refused and lists the configured ones", () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") });
    expect(() => w.runner.spawn({ agent: "claude", workspace: "../etc", prompt: "x" })).toThrow(RunnerError);
    expect(() => w.runner.spawn({ agent: "claude", workspace: "nope", prompt: "x" })).toThrow(/configured: app/);
  });

  it("resume makes a linked worker with the agent session (chain C → B → A) and --resume=<id> in argv", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") });
    const a = await w.runner.waitFor(w.runner.spawn({ agent: "claude", workspace: "app", prompt: "first" }).id);
    const b = await w.runner.waitFor(w.runner.resume(a.id, "second", null).id);
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toContain(`--resume=${a.sessionId}`);
    const c = await w.runner.waitFor(w.runner.resume(b.id, null, null).id);
    expect(w.store.chain(c.id).map((x) => x.id)).toEqual([c.id, b.id, a.id]);
    expect(c.resumedFrom).toBe(b.id);
  });

  it("a driver that asks a resume to wait (Gemini's creation minute) keeps it queued that long, and prepares the agent's files just before the start", async () => {
    const waits: (string | null)[] = [];
    const prepared: (string | null)[] = [];
    const driver: Driver = {
      ...claudeDriver,
      startDelayMs: (req) => {
        waits.push(req.resumeSessionId);
        return req.resumeSessionId ? 400 : 0;
      },
      beforeStart: (req) => {
        prepared.push(req.resumeSessionId);
        return req.resumeSessionId ? [{ type: "other", kind: "files-prepared" }] : [];
      },
    };
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, {}, undefined, driver);
    const a = await w.runner.waitFor(w.runner.spawn({ agent: "claude", workspace: "app", prompt: "first" }).id);
    expect(prepared).toEqual([null]);
    const queuedAt = Date.now();
    const b = w.runner.resume(a.id, "second", null);
    expect(w.store.get(b.id)!.status).toBe("queued");
    await until(() => w.store.get(b.id)!.status !== "queued", 5_000);
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(350);
    const done = await w.runner.waitFor(b.id);
    expect(done.status).toBe("completed");
    expect(waits).toEqual([null, a.sessionId]);
    expect(prepared).toEqual([null, a.sessionId]);
    const kinds = w.store.events(b.id, { type: "other", limit: 50 }).map((e) => (e.payload as { kind: string }).kind);
    expect(kinds).toContain("start-waits:1s");
    expect(kinds.indexOf("files-prepared")).toBeLessThan(kinds.indexOf("process-started"));
  });

  it("a chain may not stack a model of an agent with its own failover (OpenClaw) on others; alone it may run", () => {
    const models = {
      "oc/gpt": { driver: "openclaw", model: "openai/gpt-5.2", contextWindow: 400_000 },
      "cc/sonnet": { driver: "claude", model: "claude-sonnet-4-6", contextWindow: 200_000 },
    };
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, { models, fallbackOrder: ["oc/gpt", "cc/sonnet"] });
    expect(() => w.runner.spawn({ agent: "claude", workspace: "app", prompt: "x", chain: ["cc/sonnet", "oc/gpt"] })).toThrow(
      "oc/gpt run on OpenClaw, which falls back on its own; leave them out of a chain",
    );
    expect(() => w.runner.spawn({ agent: "claude", workspace: "app", prompt: "x", chain: ["cc/sonnet"] }, { start: false })).not.toThrow();
  });

  it("a one-shot CLI read at exit (opencode run --format json) completes with its tokens, and no timer of its run fires after the exit", async () => {
    const dir = tempDir("asm-runner-oneshot-");
    const config = configSchema.parse({
      runner: {
        workspaces: { app: dir },
        stallSeconds: 0.3,
        drivers: {
          opencode: {
            interface: "headless",
            command: [process.execPath, fake],
            env: { FAKE_STDOUT: join(streams, "opencode", "success.jsonl"), FAKE_EXIT: "0" },
          },
        },
      },
    });
    const db = openStore(join(dir, "asm.db"));
    const store = new WorkerStore(db);
    const runner = new Runner({
      config,
      log: createLogger({ level: "silent" }),
      store,
      requests: new WorkerRequestStore(db),
      drivers: { opencode: opencodeDriver } as unknown as Record<Platform, Driver>,
    });
    runners.push(runner);
    const done = await runner.waitFor(runner.spawn({ agent: "opencode", workspace: "app", prompt: "hello" }).id);
    expect(done.status).toBe("completed");
    expect(done.turns).toBe(1);
    expect(done.outputTokens).toBeGreaterThan(0);
    expect(done.sessionId).toMatch(/^ses_/);
    // The events read from the whole output at exit must not arm the stall watchdog again: it would SIGKILL the
    // dead child's process group id, which the system may by then have given to another process.
    const kill = vi.spyOn(process, "kill");
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(kill.mock.calls).toEqual([]);
    } finally {
      kill.mockRestore();
    }
  });

  it("queues past maxConcurrent and starts the next when one ends", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, { maxConcurrent: 1 });
    const a = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "one" });
    const b = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "two" });
    expect(w.store.get(b.id)!.status).toBe("queued");
    expect(w.runner.active).toBe(1);
    await w.runner.waitFor(a.id);
    expect((await w.runner.waitFor(b.id)).status).toBe("completed");
  });

  it("one run per agent session: two resumes of the same session run one after the other, never together", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, { maxConcurrent: 3 });
    const a = await w.runner.waitFor(w.runner.spawn({ agent: "claude", workspace: "app", prompt: "first" }).id);
    const b = w.runner.resume(a.id, "second", null);
    const c = w.runner.resume(a.id, "third", null);
    expect(w.store.get(b.id)!.sessionId).toBe(a.sessionId);
    expect(w.store.get(c.id)!.sessionId).toBe(a.sessionId);
    // A slot is free, yet c waits: b holds its agent session.
    expect(w.runner.active).toBe(1);
    expect(w.store.get(c.id)!.status).toBe("queued");
    const other = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "a new session" });
    expect(w.store.get(other.id)!.status).not.toBe("queued");
    const doneB = await w.runner.waitFor(b.id);
    const doneC = await w.runner.waitFor(c.id);
    expect([doneB.status, doneC.status]).toEqual(["completed", "completed"]);
    expect(doneC.startedAt!).toBeGreaterThanOrEqual(doneB.endedAt!);
    await w.runner.waitFor(other.id);
  });

  it("a tool result of megabytes on one line does not break the run; a line over the cap is skipped and said so", async () => {
    const dir = tempDir("asm-runner-big-");
    const lines = readFileSync(exchange("claude", "tool-allow"), "utf8").split("\n").filter(Boolean);
    const at = lines.findIndex((l) => l.includes("tool_result"));
    const withContent = (n: number) => {
      const e = JSON.parse(lines[at]!);
      const d = JSON.parse(e.line);
      d.message.content[0].content = "x".repeat(n);
      return JSON.stringify({ ...e, line: JSON.stringify(d) });
    };
    // 5 MB is read like any line; 17 MB is over the splitter's 16 MiB cap.
    lines.splice(at + 1, 0, withContent(5_000_000), withContent(17 * 1024 * 1024));
    const big = join(dir, "big.exchange.jsonl");
    writeFileSync(big, `${lines.join("\n")}\n`);
    const w = world({ FAKE_EXCHANGE: big });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "USE_SHELL: write a file" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect(w.requests.decide(r.id, r.nonce, "allowed", "telegram:1", Date.now())).toBe(true);
    expect(w.runner.answer(r, true)).toBe(true);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.outputTail).toContain("tiny fixture project");
    expect(w.store.events(row.id, { type: "other", limit: 50 }).map((e) => e.payload.kind)).toContain("oversized-line-skipped");
  });

  it("a low quota holds new workers of that agent back (said once) and they start when it recovers", async () => {
    let low: string | null = "quota low: claude hit a rate limit";
    const held: string[] = [];
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") }, {}, () => low);
    w.runner.listener = { changed: () => {}, asks: () => {}, turnEnded: () => {}, finished: () => {}, held: (x, why) => held.push(`${x.id}: ${why}`) };
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    w.runner.tick();
    expect(w.store.get(row.id)!.status).toBe("queued");
    expect(held).toEqual([`${row.id}: quota low: claude hit a rate limit`]);
    low = null;
    w.runner.tick();
    expect((await w.runner.waitFor(row.id)).status).toBe("completed");
  });

  it("after a restart: a dead worker's row is failed and offered for resume; a live orphan with our marker is stopped and resumed", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") });
    const dead = w.store.insert({
      id: "w1",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: w.dir,
      prompt: "x",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: 1,
    });
    w.store.update(dead.id, { status: "running", pid: 999_999, pidStart: "1" }, 1);
    const orphan = spawn("sleep", ["30"], { detached: true, env: { ...process.env, [WORKER_ENV]: "w2" }, stdio: "ignore" });
    const sid = "be532d34-dadf-4306-9370-e2020857a616";
    w.store.insert({
      id: "w2",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: w.dir,
      prompt: "y",
      resumedFrom: null,
      requestedBy: null,
      sessionId: sid,
      now: 2,
    });
    await until(() => processStartTime(orphan.pid!) !== null);
    w.store.update("w2", { status: "running", pid: orphan.pid!, pidStart: processStartTime(orphan.pid!) }, 2);
    // A pid reused by someone else (no marker) is never touched.
    const stranger = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    w.store.insert({
      id: "w3",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: w.dir,
      prompt: "z",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: 3,
    });
    w.store.update("w3", { status: "running", pid: stranger.pid!, pidStart: processStartTime(stranger.pid!) }, 3);

    const got = w.runner.recover();
    expect(got.failed.sort()).toEqual(["w1", "w3"]);
    expect(got.resumed).toEqual(["w2"]);
    expect(w.store.get("w1")!.errorMessage).toBe("asm restarted while it ran");
    await until(() => orphan.exitCode !== null || orphan.signalCode !== null);
    expect(orphan.signalCode).toBe("SIGKILL");
    expect(stranger.exitCode === null && stranger.signalCode === null).toBe(true);
    stranger.kill("SIGKILL");
    const resumed = await w.runner.waitFor("w2");
    expect(resumed.status).toBe("completed");
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toContain(`--resume=${sid}`);
    expect(w.store.withStatus(["running", "starting", "waiting-for-input"])).toEqual([]);
  });

  it("a restart leaves alone a worker another live asm process runs (asm spawn --wait), and two processes never both start one", () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success") });
    const otherAsm = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    const owner = `${otherAsm.pid}:${processStartTime(otherAsm.pid!)}`;
    w.store.insert({
      id: "w1",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: w.dir,
      prompt: "x",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: 1,
    });
    w.store.update("w1", { status: "running", pid: otherAsm.pid!, owner }, 1);
    expect(w.runner.recover().failed).toEqual([]);
    expect(w.store.get("w1")!.status).toBe("running");
    otherAsm.kill("SIGKILL");
    w.store.insert({
      id: "w2",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: w.dir,
      prompt: "x",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: 2,
    });
    expect(w.store.claim("w2", "a", 3)).toBe(true);
    expect(w.store.claim("w2", "b", 3)).toBe(false);
  });

  it("a clean stop interrupts running workers and records them as interrupted", async () => {
    const w = world({ FAKE_EXCHANGE: exchange("claude", "success"), FAKE_HANG_AT: "2" });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "hello" });
    await until(() => w.store.get(row.id)!.status === "running");
    await w.runner.stop();
    expect(w.store.get(row.id)!.status).toBe("interrupted");
    expect(existsSync(w.stdinLog)).toBe(true);
  });
});
