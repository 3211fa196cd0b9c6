import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Manager } from "../../src/core/manager.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { Caller, MessageRef, Transport } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { viewToText } from "../../src/messages/view.ts";
import { healthServer, rig } from "./setup.ts";

const fake = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const exchange = fileURLToPath(new URL("../fixtures/streams/claude/success.exchange.jsonl", import.meta.url));
const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };

class Recorder implements Transport {
  readonly name = "telegram" as const;
  sent: View[] = [];
  async start() {}
  async stop() {}
  async send(view: View): Promise<MessageRef> {
    this.sent.push(view);
    return { transport: "telegram", chatId: "-100", messageId: String(100 + this.sent.length) };
  }
  async edit() {}
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe("gateway repair worker (the runbook: restarts failed more than 3 times → trigger a Claude Code repair)", () => {
  it("the repair finding becomes an approval request; approving starts a Claude worker in the OpenClaw state folder told what the probe and the log saw", async () => {
    const gw = await healthServer();
    closers.push(gw.close);
    const pre = rig({}, gw.url);
    const stateDir = join(pre.home, ".openclaw");
    const logFile = join(pre.dir, "gateway-x.log");
    pre.rt.close();
    const stdin = join(pre.dir, "stdin.log");
    const argvLog = join(pre.dir, "argv.json");
    const r = rig(
      {
        sources: { openclaw: { root: stateDir } },
        checks: { logs: { files: [logFile] } },
        runner: {
          drivers: {
            claude: { command: [process.execPath, fake], env: { FAKE_EXCHANGE: exchange, FAKE_FAST: "1", FAKE_STDIN_LOG: stdin, FAKE_ARGV_LOG: argvLog } },
          },
        },
      },
      gw.url,
    );
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(logFile, "2026-12-05T00:00:00Z boot\n2026-12-05T00:00:01Z error: EADDRINUSE 127.0.0.1:18789\n");
    const manager = new Manager(r.rt, { probeIntervalMs: 50 });
    const feed = new Recorder();
    manager.feed.attach([feed]);
    closers.push(async () => {
      await manager.stop();
      r.rt.close();
    });
    const finding: Finding = {
      check: "gateway",
      subject: "gateway:repair",
      severity: "critical",
      summary: "gateway needs repair: 3 restarts in a row did not bring it back",
      component: "OpenClaw gateway",
      action: "repair",
      proposedAction: { kind: "repair_gateway", context: ["probe 2026-12-05T00:00:02Z: failed (ECONNREFUSED)"] },
    };
    const [action] = await manager.handleProposedActions([finding]);
    expect(action!.kind).toBe("repair_gateway");
    const ask = viewToText(feed.sent.at(-1)!);
    expect(ask).toContain("Start repair worker");
    expect(ask).toContain(`a claude worker in ${stateDir}`);
    // The same firing asks once.
    expect(await manager.handleProposedActions([finding])).toEqual([]);
    const yes = feed.sent.at(-1)!.buttons![0]![0]!.data;
    const [, id, nonce] = /^a:(\d+):([a-f0-9]+):y$/.exec(yes)!;
    await manager.actions.decide(admin, Number(id), nonce!, true, null);
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 300 && !f(); i++) await new Promise((res) => setTimeout(res, 20));
    };
    await until(() => manager.workers.store.get("w1")?.status === "completed");
    const w = manager.workers.store.get("w1")!;
    expect(w.status).toBe("completed");
    expect(w.requestedBy).toBe(`action:${id}`);
    expect(JSON.parse(readFileSync(argvLog, "utf8")).cwd).toBe(stateDir);
    const prompt = JSON.parse(readFileSync(stdin, "utf8").split("\n")[0]!).message.content as string;
    expect(prompt).toContain("ECONNREFUSED");
    expect(prompt).toContain("EADDRINUSE 127.0.0.1:18789");
    // A chat user cannot reach that folder: it is not a workspace.
    expect(() => manager.workers.runner.spawn({ agent: "claude", workspace: "openclaw-state", prompt: "x" })).toThrow(/no workspace/);
  });
});
