import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codexAppServerDriver } from "../../src/agents/codex/app-server.ts";
import type { Driver } from "../../src/agents/driver.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, type WorkerRow, WorkerStore } from "../../src/store/workers.ts";
import { type AgentWorld, agentWorld, type FakeServer, installedVersion, removeWorld, scrubProcessEnv, show, skipNotice, startFake, until } from "./harness.ts";

/**
 * Codex workers through `codex app-server` (src/agents/codex/app-server.ts) against the REAL Codex CLI and the fake
 * model server, through the in-process Runner: a command approval allowed (the file is written) and one denied (it
 * is not), a resume through thread/resume, an interrupt mid-turn through turn/interrupt, a 429 and a 401 typed by
 * codexErrorInfo. Opt-in like the rest of this folder.
 */

const TURN_MS = 90_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("codex");

describe.skipIf(skip)(`codex ${installedVersion("codex") ?? ""} through app-server (real CLI, fake model server)`, () => {
  let fake: FakeServer;
  let w: AgentWorld;
  let restoreEnv: (() => void) | undefined;
  let runner: Runner;
  let store: WorkerStore;
  let requests: WorkerRequestStore;
  let close: () => void;
  const asks: WorkerRequestRow[] = [];
  const toolFile = () => join(w.workspace, "tool-ran.txt");

  beforeAll(async () => {
    restoreEnv = scrubProcessEnv();
    fake = await startFake(mkdtempSync(join(tmpdir(), "asm-real-fake-codex-app-server-")));
    w = agentWorld("codex", fake.url);
    const db = openStore(w.dbPath);
    store = new WorkerStore(db);
    requests = new WorkerRequestStore(db);
    runner = new Runner({
      config: configSchema.parse(w.configInput),
      log: createLogger({ level: "silent" }),
      store,
      requests,
      drivers: { codex: codexAppServerDriver } as unknown as Record<Platform, Driver>,
      listener: { changed: () => {}, asks: (_x, r) => asks.push(r), turnEnded: () => {}, finished: () => {} },
    });
    close = () => db.close();
  });

  afterAll(async () => {
    await runner?.stop();
    close?.();
    await fake?.stop();
    removeWorld(w);
    restoreEnv?.();
  });

  const permissionFor = async (x: WorkerRow): Promise<WorkerRequestRow> => {
    const before = asks.length;
    await until(() => asks.length > before || store.get(x.id)!.status === "failed", TURN_MS, "a permission request");
    expect(asks.length, show(store.get(x.id))).toBeGreaterThan(before);
    return asks.at(-1)!;
  };

  let firstSession: string | null = null;
  let firstWorker: string | null = null;

  it("a command that writes asks (untrusted + workspace-write); allowed, it runs and the worker completes", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("shell");
    expect(String(r.payload.detail)).toContain("echo tool-ran");
    expect(store.get(x.id)!.waitingReason).toBe("permission");
    expect(runner.answer(r, true)).toBe(true);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(true);
    expect(done.sessionId).toMatch(codexAppServerDriver.sessionIdPattern);
    expect(done.contextTokens, show(done)).toBeGreaterThan(0);
    firstSession = done.sessionId;
    firstWorker = x.id;
  });

  it("denied, the command does not run and the turn names it", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(runner.answer(r, false, "Denied from the real-agents test")).toBe(true);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(false);
    expect(done.denied).toEqual(["shell"]);
  });

  it("resume continues the same thread through thread/resume", { timeout: TURN_MS + 30_000 }, async () => {
    expect(firstWorker).not.toBeNull();
    const x = runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: firstWorker });
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello again");
  });

  it("an interrupt mid-turn is turn/interrupt: the worker is interrupted, not killed", { timeout: TURN_MS + 30_000 }, async () => {
    const x = runner.spawn({ agent: "codex", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => store.get(x.id)!.status === "running" || store.get(x.id)!.status === "failed", TURN_MS, "the turn running");
    await new Promise((r) => setTimeout(r, 2000)); // the fake has streamed its first piece and holds the rest
    runner.interrupt(x.id);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("interrupted");
    expect(done.signal, show(done)).toBeNull();
  });

  it("a 429 fails the worker as rate_limit, a 401 as auth", { timeout: 120_000 }, async () => {
    const x = runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("failed");
    expect(done.errorClass, show(done)).toBe("rate_limit");
    const y = runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL401 this request has a bad API key" });
    const done2 = await runner.waitFor(y.id);
    expect(done2.status, show(done2)).toBe("failed");
    expect(done2.errorClass, show(done2)).toBe("auth");
  });
});
