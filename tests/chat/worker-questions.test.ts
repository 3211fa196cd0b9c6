import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { type View, viewToText } from "../../src/messages/view.ts";
import { checkRuntime } from "../helpers/checks.ts";
import { Recorder } from "../helpers/recorder.ts";
import { ECHO, scriptedDriver } from "../helpers/scripted-protocol.ts";
import { tempDir } from "../helpers/tmp.ts";

const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
const member: Caller = { transport: "telegram", userId: "2", allowed: true, admin: false };
const managers: Manager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});

function setup(runner: Record<string, unknown> = {}) {
  const dir = tempDir("asm-questions-");
  const wire = join(dir, "wire.jsonl");
  const rt = checkRuntime(dir, { runner: { workspaces: { app: dir }, drivers: { codex: { command: ECHO } }, ...runner } });
  const manager = new Manager(rt, { workerDrivers: { codex: scriptedDriver(wire) } });
  managers.push(manager);
  const t = new Recorder();
  manager.feed.attach([t]);
  const replies = () =>
    readFileSync(wire, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { op: string; reply?: unknown })
      .filter((m) => m.op === "reply")
      .map((m) => m.reply);
  return { manager, inbound: new CoreInbound(manager), t, replies };
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};
const buttonsOf = (v: View) => (v.buttons ?? []).flat();

describe("questions and unanswered requests in the chat", () => {
  it("a question's options are buttons; a press answers it once, only from its own message, and the message says so", async () => {
    const { inbound, t, manager, replies } = setup();
    await inbound.command(admin, "spawn", ["codex", "app", "ask:Which", "colour?"]);
    await until(() => t.sent.some((s) => s.view.title === "w1 asks"));
    const ask = t.sent.find((s) => s.view.title === "w1 asks")!;
    expect(viewToText(ask.view)).toContain("Which colour?");
    const blue = buttonsOf(ask.view).find((b) => b.label === "blue")!;
    expect(Buffer.byteLength(blue.data)).toBeLessThanOrEqual(64);
    expect((await inbound.button(member, blue.data, ask.ref)).toast).toBe("Only an admin can answer this.");
    expect((await inbound.button(admin, blue.data, { ...ask.ref, messageId: "999" })).toast).toBe("This button does not belong to that question.");
    expect(viewToText(await inbound.command(admin, "workers", []))).toContain("question: Which colour?");
    const press = await inbound.button(admin, blue.data, ask.ref);
    expect(press.toast).toBe("Answered.");
    expect(viewToText(press.edit!)).toContain("Answered: blue");
    expect(press.edit!.buttons).toEqual([]);
    expect((await inbound.button(admin, blue.data, ask.ref)).toast).toBe("Already answered.");
    expect((await manager.workers.runner.waitFor("w1")).outputTail).toContain("answer: blue");
    expect(replies()).toEqual([{ kind: "question", answer: "blue" }]);
  });

  it("/send answers an open question instead of queueing a turn", async () => {
    const { inbound, t, manager, replies } = setup();
    await inbound.command(admin, "spawn", ["codex", "app", "ask:Name?"]);
    await until(() => t.sent.some((s) => s.view.title === "w1 asks"));
    expect(viewToText(await inbound.command(admin, "send", ["w1", "Ada", "Lovelace"]))).toBe("Answered w1's question.");
    expect((await manager.workers.runner.waitFor("w1")).outputTail).toContain("answer: Ada Lovelace");
    expect(replies()).toEqual([{ kind: "question", answer: "Ada Lovelace" }]);
    // The request message lost its buttons and says what was answered.
    await until(() => t.edits.some((e) => viewToText(e.view).includes("Answered: Ada Lovelace")));
  });

  it("an unanswered permission is reminded once, then denied by asm: the prompt is edited and the expiry said", async () => {
    const { inbound, t, manager, replies } = setup({ waitingReminderMinutes: 0.002, permissionTimeoutMinutes: 0.006 });
    await inbound.command(admin, "spawn", ["codex", "app", "cmd:terraform", "apply"]);
    await until(() => t.sent.some((s) => s.view.title === "w1 asks permission"));
    const ask = t.sent.find((s) => s.view.title === "w1 asks permission")!;
    const w = await manager.workers.runner.waitFor("w1");
    expect(w.status).toBe("completed");
    await until(() => t.sent.some((s) => viewToText(s.view).includes("denied by asm")));
    expect(t.sent.filter((s) => s.view.title === "w1 still waits for you")).toHaveLength(1);
    expect(viewToText(t.sent.find((s) => s.view.title === "w1 still waits for you")!.view)).toContain("permission: Bash(terraform apply)");
    const edited = t.edits.find((e) => e.ref.messageId === ask.ref.messageId && viewToText(e.view).includes("No answer in"))!;
    expect(edited.view.buttons).toEqual([]);
    expect(replies()).toEqual([{ kind: "permission", allow: false, message: expect.stringContaining("denied by asm") }]);
    const allow = buttonsOf(ask.view).find((b) => b.label === "Allow")!;
    expect((await inbound.button(admin, allow.data, ask.ref)).toast).toBe("This request has expired.");
  });
});
