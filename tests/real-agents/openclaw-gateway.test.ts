import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver } from "../../src/agents/driver.ts";
import { openclawDriverFor } from "../../src/agents/openclaw/gateway.ts";
import type { Platform } from "../../src/agents/session.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, WorkerStore } from "../../src/store/workers.ts";
import { type AgentWorld, agentWorld, installedVersion, removeWorld, scrubProcessEnv, show, skipNotice, startOpenclawGateway, until } from "./harness.ts";

/**
 * OpenClaw workers through the REAL `openclaw gateway run` (src/agents/openclaw/gateway.ts and its bridge), the
 * gateway talking to the fake model server, through the in-process Runner. `openclawDriverFor` must pick the
 * gateway driver from openclaw.json (gateway.mode local + token). The gateway runs with `tools.exec.mode: "ask"`
 * and the fake's USE_SHELL command is one program (`touch tool-ran.txt`: OpenClaw does not ask about a compound
 * line), so the exec approval reaches the chat: allowed, the file appears. Then a resume of the same session and
 * an interrupt mid-turn (sessions.abort). Opt-in like the rest of this folder; the gateway takes minutes to start
 * on a busy machine.
 */

const TURN_MS = 180_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("openclaw");
const generate = fileURLToPath(new URL("../fixtures/generate/", import.meta.url));

/** A second fake model server whose USE_SHELL command is one program. */
async function startShellFake(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(generate, "fake-model-server.mjs"), "--port", "0", "--log", join(dir, "fake.log")], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { PATH: process.env.PATH, FAKE_SHELL_COMMAND: "touch tool-ran.txt" },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      const m = /LISTENING (\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`fake model server exited ${code}: ${seen}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

describe.skipIf(skip)(`openclaw ${installedVersion("openclaw") ?? ""} through its gateway (real gateway, fake model server)`, () => {
  let fake: { url: string; child: ChildProcess };
  let w: AgentWorld;
  let restoreEnv: (() => void) | undefined;
  let stopGateway: (() => Promise<void>) | undefined;
  let runner: Runner;
  let store: WorkerStore;
  let close: () => void;
  const asks: WorkerRequestRow[] = [];

  beforeAll(async () => {
    restoreEnv = scrubProcessEnv();
    fake = await startShellFake(mkdtempSync(join(tmpdir(), "asm-real-fake-openclaw-gw-")));
    // The bridge runs on this Node (RunSpec.command); until the runner honours that, the openclaw CLI prefix the
    // harness configures for the one-shot path must not be put in front of it.
    w = agentWorld("openclaw", fake.url, { drivers: { openclaw: { command: [process.execPath] } } });
    const file = join(w.home, ".openclaw/openclaw.json");
    const cfg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    cfg.tools = { exec: { mode: "ask" } };
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    stopGateway = await startOpenclawGateway(w);
    const config = configSchema.parse(w.configInput);
    const driver = openclawDriverFor(config);
    expect(driver.openSession).toBeDefined(); // openclaw.json names a local gateway with a token
    const db = openStore(w.dbPath);
    store = new WorkerStore(db);
    runner = new Runner({
      config,
      log: createLogger({ level: "silent" }),
      store,
      requests: new WorkerRequestStore(db),
      drivers: { openclaw: driver } as unknown as Record<Platform, Driver>,
      listener: { changed: () => {}, asks: (_x, r) => asks.push(r), turnEnded: () => {}, finished: () => {} },
    });
    close = () => db.close();
  }, 300_000);

  afterAll(async () => {
    await runner?.stop();
    close?.();
    await stopGateway?.();
    fake?.child.kill("SIGTERM");
    removeWorld(w);
    restoreEnv?.();
  });

  it(
    "an exec approval reaches the chat as a command; allowed, the command runs; then a resume of the same session",
    async () => {
      const row = runner.spawn({ agent: "openclaw", workspace: "app", prompt: "USE_SHELL: create a file and show the readme" });
      await until(() => asks.length > 0 || store.get(row.id)!.status === "failed", TURN_MS, "an exec approval");
      const r = asks[0];
      expect(r, show(store.get(row.id))).toBeDefined();
      expect([r!.payload.tool, r!.payload.detail]).toEqual(["exec", "touch tool-ran.txt"]);
      runner.answer(r!, true);
      const done = await runner.waitFor(row.id, 200);
      expect(done.status, show(done)).toBe("completed");
      expect(existsSync(join(w.workspace, "tool-ran.txt"))).toBe(true);
      const b = runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: row.id });
      const again = await runner.waitFor(b.id, 200);
      expect(again.status, show(again)).toBe("completed");
      expect(again.sessionId).toBe(done.sessionId);
    },
    2 * TURN_MS,
  );

  it(
    "an interrupt mid-turn aborts the run through sessions.abort",
    async () => {
      const row = runner.spawn({ agent: "openclaw", workspace: "app", prompt: "SLOW tell me a long story" });
      await until(() => (store.get(row.id)!.outputTail ?? "").length > 0 || store.get(row.id)!.endedAt !== null, TURN_MS, "the first text");
      expect(store.get(row.id)!.endedAt, show(store.get(row.id))).toBeNull();
      runner.interrupt(row.id);
      const done = await runner.waitFor(row.id, 200);
      expect(done.status, show(done)).toBe("interrupted");
    },
    TURN_MS,
  );
});
