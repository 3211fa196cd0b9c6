import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Driver } from "../../src/agents/driver.ts";
import { openclawGatewayDriverFor } from "../../src/agents/openclaw/gateway.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner, type RunnerListener } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, WorkerStore } from "../../src/store/workers.ts";
// @ts-expect-error — a plain .mjs fake without types
import { startFakeGateway } from "../fakes/openclaw-gateway.mjs";
import { tempDir } from "../helpers/tmp.ts";

/**
 * OpenClaw workers through the gateway in the runner: the real Runner with a temp SQLite store starts the real
 * bridge (src/agents/openclaw/gateway-bridge.mjs, this Node) as the worker's process; the bridge connects to
 * tests/fakes/openclaw-gateway.mjs on 127.0.0.1, which checks the token and the signed device, then replays a
 * recorded exchange of the real gateway (OpenClaw 2026.9.6) and refuses a request that differs from it.
 */

interface FakeGateway {
  url: string;
  requests: { method: string; params: Record<string, unknown> }[];
  mismatches: unknown[];
  close(): Promise<void>;
}

const streams = fileURLToPath(new URL("../fixtures/streams/openclaw/", import.meta.url));
const TOKEN = "fake-gateway-token";
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function world(scenario: string, opts: { token?: string; url?: string; startingFor?: number } = {}) {
  const gw = (await startFakeGateway({
    exchange: join(streams, `${scenario}.exchange.jsonl`),
    token: TOKEN,
    startingFor: opts.startingFor ?? 0,
  })) as FakeGateway;
  cleanup.push(() => gw.close());
  const dir = tempDir("asm-openclaw-gw-");
  const db = openStore(join(dir, "asm.db"));
  const config = configSchema.parse({ runner: { workspaces: { app: dir }, interruptGraceSeconds: 0.5 } });
  const store = new WorkerStore(db);
  const requests = new WorkerRequestStore(db);
  const asks: WorkerRequestRow[] = [];
  const listener: RunnerListener = { changed: () => {}, asks: (_w, r) => asks.push(r), turnEnded: () => {}, finished: () => {}, settled: () => {} };
  const driver = openclawGatewayDriverFor({ url: opts.url ?? gw.url, token: opts.token ?? TOKEN }, join(dir, "device.json"));
  const runner = new Runner({
    config,
    log: createLogger({ level: "silent" }),
    store,
    requests,
    drivers: { openclaw: driver } as unknown as Record<Platform, Driver>,
    listener,
  });
  cleanup.unshift(() => runner.stop());
  return { gw, runner, store, asks };
}

const until = async (what: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("runner with OpenClaw through the (fake) gateway", () => {
  it("a turn: the bridge authenticates, agent + agent.wait, the worker completes with the reply and its session id", async () => {
    const w = await world("gateway-success");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello, summarize this project" });
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect([done.status, done.errorClass]).toEqual(["completed", null]);
    expect(done.outputTail).toMatch(/Fake reply #\d+: you said .*Nothing else to do here\./);
    expect(done.model).toBe("fakeai/fake-coder-1");
    expect(done.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(w.gw.requests.map((r) => r.method)).toEqual(["agent", "agent.wait"]);
    expect(w.gw.requests[0]!.params).toMatchObject({ message: "Hello, summarize this project", sessionId: done.sessionId });
    expect(done.contextTokens).toBe(31866); // the run's meta: promptTokens
  });

  it("a gateway still starting (retryable UNAVAILABLE) is asked again; the turn then runs", async () => {
    const w = await world("gateway-success", { startingFor: 2 });
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello, summarize this project" });
    const done = await w.runner.waitFor(row.id, 20);
    expect([done.status, done.errorMessage]).toEqual(["completed", null]);
  });

  it("resume: the next worker continues the same OpenClaw session", async () => {
    const w = await world("gateway-resume");
    const first = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "x" }, { start: false });
    w.store.update(first.id, { status: "completed", sessionId: "fixture-gateway-1" }, Date.now());
    const b = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: first.id });
    const done = await w.runner.waitFor(b.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect(done.status).toBe("completed");
    expect(w.gw.requests[0]!.params.sessionId).toBe("fixture-gateway-1");
  });

  it("an exec approval reaches the chat as a command; denied, the deny goes to the gateway and exec is reported denied", async () => {
    const w = await world("gateway-tool-deny");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "USE_SHELL: create a file and show the readme" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect([r.kind, r.payload.tool, r.payload.detail]).toEqual(["permission", "exec", "touch tool-ran.txt"]);
    expect(r.payload.action).toEqual({ kind: "command", command: "touch tool-ran.txt" });
    expect(w.store.get(row.id)!.waitingDetail).toBe("permission: exec(touch tool-ran.txt)");
    expect(w.runner.answer(r, false)).toBe(true);
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect(done.status).toBe("completed");
    expect(done.denied).toEqual(["exec"]);
    expect(w.gw.requests.find((q) => q.method === "exec.approval.resolve")!.params).toEqual({ id: r.requestId, decision: "deny" });
  });

  it("an allow where the recording denied is refused by the fake (the replay checks decisions)", async () => {
    const w = await world("gateway-tool-deny");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "USE_SHELL: create a file and show the readme" });
    await until(() => w.asks.length === 1);
    w.runner.answer(w.asks[0]!, true);
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toHaveLength(1);
    expect(done.status).toBe("failed"); // the fake closed the socket: the bridge exits 4
  });

  it("an interrupt mid-turn is sessions.abort for the run, and the worker is interrupted", async () => {
    const w = await world("gateway-interrupt");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "SLOW tell me a long story" });
    await until(() => (w.store.get(row.id)!.outputTail ?? "").includes("Fake reply"));
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect(done.status).toBe("interrupted");
    expect(w.gw.requests.map((r) => r.method)).toEqual(["agent", "agent.wait", "sessions.abort"]);
  });

  it("a 429 after OpenClaw's own retries fails the worker as rate_limit", async () => {
    const w = await world("gateway-fail429");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect([done.status, done.errorClass, done.errorMessage]).toEqual(["failed", "rate_limit", "⚠️ Rate limit reached; Retry-After: 1 seconds"]);
  });

  it("OpenClaw's own failover: the worker's model follows the switch, and it completes (no chain of ours)", async () => {
    const w = await world("gateway-failover");
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello, summarize this project" });
    const done = await w.runner.waitFor(row.id, 20);
    expect(w.gw.mismatches).toEqual([]);
    expect(done.status).toBe("completed");
    expect(done.model).toBe("fakeai/fake-coder-1");
    expect(done.chain).toEqual([]);
  });

  it("a wrong token fails the worker as auth with the gateway's reason", async () => {
    const w = await world("gateway-success", { token: "not-the-token" });
    const row = w.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello" });
    const done = await w.runner.waitFor(row.id, 20);
    expect([done.status, done.errorClass]).toEqual(["failed", "auth"]);
    expect(done.errorMessage).toContain("gateway token mismatch");
    expect(w.gw.requests).toEqual([]);
  });

  it("a gateway that is down fails the worker, saying it cannot connect", async () => {
    const w = await world("gateway-success");
    const port = Number(new URL(w.gw.url).port);
    await w.gw.close();
    const x = await world("gateway-success", { url: `ws://127.0.0.1:${port}` });
    const row = x.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello" });
    const done = await x.runner.waitFor(row.id, 20);
    expect(done.status).toBe("failed");
    expect(done.errorMessage).toMatch(/cannot connect to the gateway at ws:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});
