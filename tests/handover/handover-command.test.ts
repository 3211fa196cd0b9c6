import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { blankRecord } from "../../src/agents/session.ts";
import { handoverCommand } from "../../src/chat/commands/handover.ts";
import { memoryCommand } from "../../src/chat/commands/memory.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { viewToText } from "../../src/messages/view.ts";
import { rig } from "../core/setup.ts";

const fixture = join(
  import.meta.dirname,
  "../fixtures/real/codex/.codex/sessions/2026/11/23/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl",
);
const SID = "01a209f7-4642-7fd2-9938-e1c95f5d15ec";
const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };

const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

function setup() {
  const r = rig({ handover: { memoryDir: "MEMDIR" } });
  const memoryDir = join(r.dir, "mem");
  (r.rt.config.handover as { memoryDir: string }).memoryDir = memoryDir;
  const manager = new Manager(r.rt, { probeIntervalMs: 50 });
  open.push({ manager, rt: r.rt });
  const path = join(r.dir, "rollout.jsonl");
  cpSync(fixture, path);
  r.rt.sessions.upsert({
    ...blankRecord("codex", null, SID, 1),
    path,
    project: "/tmp/asmfx/codex/home/work/demo-app",
    contextTokens: 27_816,
    contextWindow: 258_400,
  });
  const ctx = { rt: r.rt, manager, caller: admin, now: 1000 };
  return { r, manager, ctx, memoryDir };
}

describe("/memory and /handover", () => {
  it("/memory <prefix> builds the memory once and shows it; /handover <session> saves a fresh one and says how to continue", async () => {
    const t = setup();
    const first = viewToText(await memoryCommand.run(t.ctx, ["01a209f7-46"]));
    expect(first).toContain("Memory of codex 01a209f7-464 (extractive");
    expect(first).toContain("built now");
    expect(first).toContain("> Hello, summarize this project");
    expect(first).toContain("- `cat README.md` → exit 0");
    expect(viewToText(await memoryCommand.run(t.ctx, ["01a209f7-46"]))).not.toContain("built now");
    const h = viewToText(await handoverCommand.run(t.ctx, ["01a209f7-46"]));
    expect(h).toContain(`File: ${join(t.memoryDir, `codex-${SID}.json`)}`);
    expect(h).toContain(`codex resume ${SID}`);
    expect(existsSync(join(t.memoryDir, `codex-${SID}.json`))).toBe(true);
    expect(viewToText(await memoryCommand.run(t.ctx, ["zz"]))).toContain('No session matches "zz"');
  });

  it("/handover <worker> refuses a worker in the middle of a turn, and is for admins", async () => {
    const t = setup();
    const w = t.manager.workers.store.insert({
      id: "w1",
      agent: "codex",
      model: null,
      workspace: "app",
      cwd: "/w",
      prompt: "do it",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: 1,
    });
    t.manager.workers.store.update(w.id, { status: "running" }, 2);
    expect(viewToText(await handoverCommand.run(t.ctx, ["w1"]))).toBe("w1 was not handed over: worker is running.");
    expect(handoverCommand.admin).toBe(true);
  });
});
