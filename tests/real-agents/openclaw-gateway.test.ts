import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openclawDriverFor } from "../../src/agents/openclaw/gateway.ts";
import { installedVersion, protocolWorld, show, skipNotice, startOpenclawGateway, until } from "./harness.ts";

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

describe.skipIf(skip)(`openclaw ${installedVersion("openclaw") ?? ""} through its gateway (real gateway, fake model server)`, () => {
  const t = protocolWorld("openclaw", {
    driver: (config) => {
      const driver = openclawDriverFor(config);
      expect(driver.openSession).toBeDefined(); // openclaw.json names a local gateway with a token
      return driver;
    },
    turnMs: TURN_MS,
    // The bridge runs on this Node (RunSpec.command); until the runner honours that, the openclaw CLI prefix the
    // harness configures for the one-shot path must not be put in front of it.
    runner: { drivers: { openclaw: { command: [process.execPath] } } },
    // USE_SHELL as one program: OpenClaw does not ask about a compound line.
    fakeEnv: { FAKE_SHELL_COMMAND: "touch tool-ran.txt" },
    before: async (w) => {
      const file = join(w.home, ".openclaw/openclaw.json");
      const cfg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      cfg.tools = { exec: { mode: "ask" } };
      writeFileSync(file, JSON.stringify(cfg, null, 2));
      return startOpenclawGateway(w);
    },
    setupMs: 300_000,
  });

  it(
    "an exec approval reaches the chat as a command; allowed, the command runs; then a resume of the same session",
    async () => {
      const row = t.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "USE_SHELL: create a file and show the readme" });
      await until(() => t.asks.length > 0 || t.store.get(row.id)!.status === "failed", TURN_MS, "an exec approval");
      const r = t.asks[0];
      expect(r, show(t.store.get(row.id))).toBeDefined();
      expect([r!.payload.tool, r!.payload.detail]).toEqual(["exec", "touch tool-ran.txt"]);
      t.runner.answer(r!, true);
      const done = await t.runner.waitFor(row.id, 200);
      expect(done.status, show(done)).toBe("completed");
      expect(existsSync(join(t.world.workspace, "tool-ran.txt"))).toBe(true);
      const b = t.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: row.id });
      const again = await t.runner.waitFor(b.id, 200);
      expect(again.status, show(again)).toBe("completed");
      expect(again.sessionId).toBe(done.sessionId);
    },
    2 * TURN_MS,
  );

  it(
    "an interrupt mid-turn aborts the run through sessions.abort",
    async () => {
      const row = t.runner.spawn({ agent: "openclaw", workspace: "app", prompt: "SLOW tell me a long story" });
      await until(() => (t.store.get(row.id)!.outputTail ?? "").length > 0 || t.store.get(row.id)!.endedAt !== null, TURN_MS, "the first text");
      expect(t.store.get(row.id)!.endedAt, show(t.store.get(row.id))).toBeNull();
      t.runner.interrupt(row.id);
      const done = await t.runner.waitFor(row.id, 200);
      expect(done.status, show(done)).toBe("interrupted");
    },
    TURN_MS,
  );
});
