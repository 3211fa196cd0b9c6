import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleTransport } from "../../src/chat/console/transport.ts";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { refusalText } from "../../src/chat/refusal.ts";
import { Manager } from "../../src/core/manager.ts";
import { workerThreadTitle } from "../../src/core/worker-views.ts";
import { type Caller, DeliveryError, type MessageRef, type ThreadPlace, type ThreadRequest, type Transport } from "../../src/messages/transport.ts";
import { type View, viewToText } from "../../src/messages/view.ts";
import type { Runtime } from "../../src/store/runtime.ts";
import { checkRuntime } from "../helpers/checks.ts";
import { until } from "../helpers/e2e.ts";
import { tempDir } from "../helpers/tmp.ts";

const fake = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const exchange = (s: string) => fileURLToPath(new URL(`../fixtures/streams/claude/${s}.exchange.jsonl`, import.meta.url));

/** A transport with threads: keeps what went where; `threadFails` makes posts into a thread fail. */
class Threaded implements Transport {
  readonly name = "telegram" as const;
  sent: { ref: MessageRef; view: View; to?: { chatId: string; threadId?: string | undefined } | undefined }[] = [];
  opened: ThreadRequest[] = [];
  threadFails = false;
  refuseThreads = false;
  async start() {}
  async stop() {}
  async send(view: View, to?: { chatId: string; threadId?: string | undefined }) {
    if (to && this.threadFails) throw new DeliveryError("message thread not found", "telegram", { permanent: true });
    const ref = { transport: this.name, chatId: to?.chatId ?? "-100", messageId: String(this.sent.length + 1), threadId: to?.threadId };
    this.sent.push({ ref, view, to });
    return ref;
  }
  async edit() {}
  async openThread(r: ThreadRequest): Promise<ThreadPlace | null> {
    this.opened.push(r);
    return this.refuseThreads ? null : { chatId: "-100", threadId: String(500 + this.opened.length) };
  }
}

const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
const member: Caller = { transport: "telegram", userId: "2", allowed: true, admin: false };
const stranger: Caller = { transport: "telegram", userId: "9", allowed: false, admin: false };
const managers: Manager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});

function setup(scenario = "success") {
  const dir = tempDir("asm-worker-threads-");
  const rt: Runtime = checkRuntime(dir, {
    runner: {
      workspaces: { app: dir },
      drivers: { claude: { command: [process.execPath, fake], env: { FAKE_EXCHANGE: exchange(scenario), FAKE_FAST: "1" } } },
    },
  });
  const manager = new Manager(rt);
  managers.push(manager);
  return { manager, inbound: new CoreInbound(manager), rt };
}

describe("a worker's own thread", () => {
  it("is opened once, named after workspace and prompt, kept in the worker row, and carries the status and the result", async () => {
    const { manager, inbound } = setup();
    const t = new Threaded();
    manager.feed.attach([t]);
    await inbound.command(admin, "spawn", ["claude", "app", "say", "hello"]);
    const w = await manager.workers.runner.waitFor("w1");
    expect(w.status).toBe("completed");
    await until(() => t.sent.some((s) => (s.view.buttons?.length ?? 0) > 0), "the result");
    expect(t.opened).toEqual([{ title: "w1 app: say hello", tag: "w1" }]);
    expect(manager.workers.store.get("w1")!.threads).toEqual([{ transport: "telegram", chatId: "-100", threadId: "501" }]);
    // The spawn reply goes where the command came from (the inbound's caller), everything else into the thread.
    expect(t.sent.length).toBeGreaterThanOrEqual(2);
    for (const s of t.sent) expect(s.to).toEqual({ chatId: "-100", threadId: "501" });
    expect(manager.workers.workerForThread({ transport: "telegram", chatId: "-100", threadId: "501" })).toBe("w1");
    expect(manager.workers.workerForThread({ transport: "telegram", chatId: "-100", threadId: "502" })).toBeUndefined();
    expect(manager.workers.workerForThread({ transport: "discord", chatId: "-100", threadId: "501" })).toBeUndefined();
  });

  it("a post the thread refuses goes to the feed instead (logged); a transport without threads posts to the feed", async () => {
    const { manager, inbound } = setup();
    const t = new Threaded();
    t.threadFails = true;
    manager.feed.attach([t]);
    await inbound.command(admin, "spawn", ["claude", "app", "hello"]);
    await manager.workers.runner.waitFor("w1");
    await until(() => t.sent.some((s) => (s.view.buttons?.length ?? 0) > 0), "the result in the feed");
    for (const s of t.sent) expect(s.to).toBeUndefined();

    const { manager: m2, inbound: i2 } = setup();
    const none = new Threaded();
    none.refuseThreads = true;
    m2.feed.attach([none]);
    await i2.command(admin, "spawn", ["claude", "app", "hello"]);
    await m2.workers.runner.waitFor("w1");
    await until(() => none.sent.some((s) => (s.view.buttons?.length ?? 0) > 0), "the result in the feed");
    expect(none.opened).toHaveLength(1);
    expect(m2.workers.store.get("w1")!.threads).toEqual([]);
  });

  it("plain text in it is the next turn for admins; strangers get the refusal, members the admin note; other threads are ignored", async () => {
    const { manager, inbound } = setup();
    const t = new Threaded();
    manager.feed.attach([t]);
    await inbound.command(admin, "spawn", ["claude", "app", "hello"]);
    await manager.workers.runner.waitFor("w1");
    const where = { chatId: "-100", threadId: "501" };
    expect(await inbound.text(admin, "hi", { chatId: "-100", threadId: "777" })).toBeNull();
    expect(await inbound.text(stranger, "hi", { chatId: "-100", threadId: "777" })).toBeNull();
    expect(viewToText((await inbound.text(stranger, "hi", where))!)).toBe(refusalText);
    expect(viewToText((await inbound.text(member, "hi", where))!)).toBe("Only an admin can send w1 its next turn.");
    expect(manager.workers.store.get("w1")!.turns).toBe(1);
    expect(viewToText((await inbound.text(admin, "once more", where))!)).toBe("↪ w1: sent as its next turn.");
    await until(() => manager.workers.store.get("w1")!.turns === 2 && manager.workers.store.get("w1")!.status === "completed", "the second turn");
  });

  it("a turn that leaves the worker waiting for the user is noted once, with its answer's first line, in the thread", async () => {
    const { manager } = setup();
    const t = new Threaded();
    manager.feed.attach([t]);
    const ops = manager.workers;
    ops.waitingNoteMs = 30;
    const w = ops.store.insert({
      id: "w7",
      agent: "claude",
      model: null,
      workspace: "app",
      cwd: "/tmp",
      prompt: "fix it",
      resumedFrom: null,
      requestedBy: null,
      sessionId: null,
      now: Date.now(),
    });
    ops.store.update(w.id, { status: "waiting-for-input", waitingReason: "turn-finished", turns: 1 }, Date.now());
    const row = ops.store.get("w7")!;
    ops.turnEnded(row, "\nFixed the test.\nDetails follow.");
    ops.turnEnded(row, "\nFixed the test.\nDetails follow.");
    ops.changed(row);
    await until(() => t.sent.some((s) => /waiting for you/.test(s.view.title ?? "")), "the note");
    await new Promise((r) => setTimeout(r, 100));
    const notes = t.sent.filter((s) => /waiting for you/.test(s.view.title ?? ""));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.view.title).toBe("w7 is waiting for you: Fixed the test.");
    expect(notes[0]!.to).toEqual({ chatId: "-100", threadId: "501" });
    // The same turn again: no second note. A finished worker: none (its result says it).
    ops.turnEnded(ops.store.get("w7")!, "again");
    ops.store.update("w7", { status: "waiting-for-input", waitingReason: "turn-finished", turns: 2 }, Date.now());
    ops.store.update("w7", { status: "completed" }, Date.now());
    ops.turnEnded(ops.store.get("w7")!, "done");
    await new Promise((r) => setTimeout(r, 100));
    expect(t.sent.filter((s) => /waiting for you/.test(s.view.title ?? ""))).toHaveLength(1);
  });

  it("titles stay within Telegram's 128 characters", () => {
    const title = workerThreadTitle({ id: "w12", workspace: "app", prompt: `fix ${"x".repeat(300)}\nand more` });
    expect(title.length).toBeLessThanOrEqual(128);
    expect(title.startsWith("w12 app: fix x")).toBe(true);
  });
});

describe("the console's worker lines", () => {
  it("prefixes each line of a worker's messages with its id; 'w1: text' is its next turn", async () => {
    const { manager, inbound } = setup();
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => {
      text += c.toString();
    });
    const console = new ConsoleTransport({ out, prompt: "never" });
    await console.start(inbound);
    manager.feed.attach([console]);
    await console.handleLine("/spawn claude app hello");
    await manager.workers.runner.waitFor("w1");
    await until(() => /w1 │ .*completed/.test(text), "the result lines");
    const workerLines = text.split("\n").filter((l) => l.startsWith("w1 │ "));
    expect(workerLines.length).toBeGreaterThan(3);
    expect(text).toMatch(/^w1 │ .*w1 · Claude Code · app/m);
    await console.handleLine("w1: and again");
    expect(text).toMatch(/^w1 │ .*↪ w1: sent as its next turn\./m);
    await until(() => manager.workers.store.get("w1")!.turns === 2 && manager.workers.store.get("w1")!.status === "completed", "the second turn");
    await console.handleLine("w9: hello?");
    expect(text).toContain("w9 has no messages here");
    await console.stop();
  });
});
