import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver } from "../../src/agents/driver.ts";
import { opencodeServeDriver } from "../../src/agents/opencode/serve.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, type WorkerRow, WorkerStore } from "../../src/store/workers.ts";
import { type AgentWorld, agentWorld, type FakeServer, installedVersion, removeWorld, scrubProcessEnv, show, skipNotice, startFake, until } from "./harness.ts";

/**
 * OpenCode workers through `opencode serve` (src/agents/opencode/serve.ts) against the REAL OpenCode and the fake
 * model server, through the in-process Runner: bash allowed (the file is written) and rejected (it is not), a
 * question answered by typed text, a resume of the first session, an interrupt mid-turn (abort), a 429 after
 * OpenCode's own retries. The world's opencode.json has no `permission` key: the session's ruleset makes it ask.
 */

const TURN_MS = 90_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("opencode");

describe.skipIf(skip)(`opencode ${installedVersion("opencode") ?? ""} through serve (real CLI, fake model server)`, () => {
  let fake: FakeServer;
  let w: AgentWorld;
  let restoreEnv: (() => void) | undefined;
  let runner: Runner;
  let store: WorkerStore;
  let close: () => void;
  const asks: WorkerRequestRow[] = [];
  const toolFile = () => join(w.workspace, "tool-ran.txt");

  beforeAll(async () => {
    restoreEnv = scrubProcessEnv();
    fake = await startFake(mkdtempSync(join(tmpdir(), "asm-real-fake-opencode-serve-")));
    w = agentWorld("opencode", fake.url);
    const db = openStore(w.dbPath);
    store = new WorkerStore(db);
    runner = new Runner({
      config: configSchema.parse(w.configInput),
      log: createLogger({ level: "silent" }),
      store,
      requests: new WorkerRequestStore(db),
      drivers: { opencode: opencodeServeDriver } as unknown as Record<Platform, Driver>,
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

  const requestFor = async (x: WorkerRow): Promise<WorkerRequestRow> => {
    const before = asks.length;
    await until(() => asks.length > before || store.get(x.id)!.status === "failed", TURN_MS, "a request");
    expect(asks.length, show(store.get(x.id))).toBeGreaterThan(before);
    return asks.at(-1)!;
  };

  let firstSession: string | null = null;
  let firstWorker: string | null = null;

  it("bash asks (the session's ruleset); allowed, it runs and the worker completes", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await requestFor(x);
    expect([r.kind, r.payload.tool]).toEqual(["permission", "bash"]);
    expect(r.payload.action).toEqual({ kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(store.get(x.id)!.waitingReason).toBe("permission");
    expect(runner.answer(r, true)).toBe(true);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(true);
    expect(done.sessionId).toMatch(/^ses_/);
    expect(done.outputTail).toContain("The README says");
    firstSession = done.sessionId;
    firstWorker = x.id;
  });

  it("rejected, the command does not run and the turn names bash as denied", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await requestFor(x);
    expect(runner.answer(r, false)).toBe(true);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(false);
    expect(done.denied).toContain("bash");
  });

  it("OpenCode's question tool asks with its options; a typed answer reaches it", { timeout: TURN_MS + 30_000 }, async () => {
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_QUESTION: ask me which file to read, then read it" });
    const r = await requestFor(x);
    // The options' descriptions are shown under the question; the buttons carry the labels.
    expect([r.kind, r.payload.text, r.payload.options]).toEqual([
      "question",
      "Which file should I read?\n• README.md: The project's readme\n• Nothing: Read no file",
      ["README.md", "Nothing"],
    ]);
    expect(runner.answerQuestion(x.id, "README.md", "real-agents")).not.toBeNull();
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
  });

  it("resume continues the same OpenCode session in a new server", { timeout: TURN_MS + 30_000 }, async () => {
    expect(firstWorker).not.toBeNull();
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: firstWorker });
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello again");
  });

  it("an interrupt mid-turn aborts the session: the worker is interrupted, not killed", { timeout: TURN_MS + 30_000 }, async () => {
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => store.get(x.id)!.status === "running" || store.get(x.id)!.status === "failed", TURN_MS, "the turn to run");
    // The answer's first piece streams right away; leave the model a moment to start it.
    await new Promise((r) => setTimeout(r, 3000));
    runner.interrupt(x.id);
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("interrupted");
  });

  it("a 429 fails the worker as rate_limit after OpenCode's own retries", { timeout: 150_000 }, async () => {
    const x = runner.spawn({ agent: "opencode", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("failed");
    expect(done.errorClass, show(done)).toBe("rate_limit");
  });
});
