import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Manager } from "../../src/core/manager.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { KvStore } from "../../src/store/kv.ts";
import { rig } from "../core/setup.ts";
import { tempDir } from "../helpers/tmp.ts";

// Through the core: a Gemini worker (the fake agent CLI replaying the real `gemini -p` run whose context grew
// to 176k with BIGCONTEXT; the threshold is lowered to 10 % of Gemini's 1M window) ends its turn past the threshold and is handed over on its own; the new worker's first
// prompt (what the CLI was given) holds the goal; the new one is not handed over again.
const agentCli = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const bigRun = fileURLToPath(new URL("../fixtures/real/gemini/_stdout/gemini-p-s2-big.jsonl", import.meta.url));
const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };

const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

const until = async (ok: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("worker handover through the core", () => {
  it("a worker past the threshold at its turn's end is handed over once, to a linked worker whose first prompt holds the memory", async () => {
    const workspace = tempDir("asm-handover-ws-");
    const stdinLog = join(workspace, "..", `stdin-${Date.now()}.log`);
    const memoryDir = join(workspace, "..", `mem-${Date.now()}`);
    const r = rig({
      runner: {
        workspaces: { app: workspace },
        drivers: {
          gemini: { command: [process.execPath, agentCli], interface: "headless", env: { FAKE_STDOUT: bigRun, FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog } },
        },
      },
      handover: { threshold: 10, memoryDir },
    });
    const manager = new Manager(r.rt, { probeIntervalMs: 50 });
    open.push({ manager, rt: r.rt });
    const { worker } = await manager.workers.spawn(admin, { agent: "gemini", workspace: "app", prompt: "BIGCONTEXT pretend this is a long conversation" });
    const store = manager.workers.store;
    await until(() => store.list().some((w) => w.resumedFrom === worker!.id));
    const next = store.list().find((w) => w.resumedFrom === worker!.id)!;
    expect(next).toMatchObject({ agent: "gemini", workspace: "app", requestedBy: `handover:${worker!.id}` });
    expect(next.prompt).toContain("> BIGCONTEXT pretend this is a long conversation");
    expect(next.prompt).toMatch(/verify the state of the repository/);
    await until(() => ["completed", "failed"].includes(store.get(next.id)!.status));
    // The CLI of the new worker was given the memory as its first prompt (on stdin, after the first worker's).
    const stdin = readFileSync(stdinLog, "utf8");
    expect(stdin.startsWith("BIGCONTEXT pretend this is a long conversation")).toBe(true);
    expect(stdin).toContain("# Session memory (extractive)");
    expect(stdin).toContain("## Goal (first user message)\n\n> BIGCONTEXT pretend this is a long conversation");
    // No loop: the new worker ended above the threshold too, but it started there from a handover.
    await new Promise((res) => setTimeout(res, 300));
    expect(store.list()).toHaveLength(2);
    expect(new KvStore(r.rt.db).get(`handover:${next.id}`)).toMatchObject({ from: worker!.id, count: 1, belowSeen: false });
  });
});
