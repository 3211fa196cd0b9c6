import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { type View, viewToText } from "../../src/messages/view.ts";
import type { Runtime } from "../../src/store/runtime.ts";
import { checkRuntime, session } from "../helpers/checks.ts";
import { tooWide } from "../helpers/phone.ts";
import { Recorder } from "../helpers/recorder.ts";
import { tempDir } from "../helpers/tmp.ts";

const fake = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const exchange = (s: string) => fileURLToPath(new URL(`../fixtures/streams/claude/${s}.exchange.jsonl`, import.meta.url));

const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
const member: Caller = { transport: "telegram", userId: "2", allowed: true, admin: false };
const managers: Manager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});

function setup(scenario: string, runner: Record<string, unknown> = {}) {
  const dir = tempDir("asm-workers-flow-");
  const stdinLog = join(dir, "stdin.log");
  const rt: Runtime = checkRuntime(dir, {
    runner: {
      workspaces: { app: dir },
      drivers: { claude: { command: [process.execPath, fake], env: { FAKE_EXCHANGE: exchange(scenario), FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog } } },
      ...runner,
    },
  });
  const manager = new Manager(rt);
  managers.push(manager);
  const t = new Recorder();
  manager.feed.attach([t]);
  return { manager, inbound: new CoreInbound(manager), t, stdinLog };
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};
const buttonsOf = (v: View) => (v.buttons ?? []).flat();

describe("workers through the chat dispatcher", () => {
  for (const [scenario, label, behavior] of [
    ["tool-allow", "Allow", "allow"],
    ["tool-deny", "Deny", "deny"],
  ] as const) {
    it(`/spawn, the permission prompt's ${label} button answers the CLI (${behavior}), a second press does nothing, the result is posted`, async () => {
      const { inbound, t, stdinLog, manager } = setup(scenario);
      const reply = await inbound.command(admin, "spawn", ["claude", "app", "USE_SHELL:", "write", "a", "file"]);
      expect(viewToText(reply)).toMatch(/^w1 started/);
      await until(() => t.sent.some((s) => s.view.title === "w1 asks permission"));
      const ask = t.sent.find((s) => s.view.title === "w1 asks permission")!;
      expect(viewToText(ask.view)).toContain("tool Bash");
      const button = buttonsOf(ask.view).find((b) => b.label === label)!;
      expect(Buffer.byteLength(button.data)).toBeLessThanOrEqual(64);
      expect((await inbound.button(member, button.data, ask.ref)).toast).toBe("Only an admin can decide this.");
      const press = await inbound.button(admin, button.data, ask.ref);
      expect(press.toast).toBe(label === "Allow" ? "Allowed." : "Denied.");
      expect((await inbound.button(admin, button.data, ask.ref)).toast).toBe("Already decided.");
      await until(() => t.sent.some((s) => s.view.title?.startsWith("w1 ·") && viewToText(s.view).includes("completed") && (s.view.buttons?.length ?? 0) > 0));
      const answer = readFileSync(stdinLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))[1];
      expect(answer.response.response.behavior).toBe(behavior);
      expect(manager.workers.store.get("w1")!.status).toBe("completed");
      expect(viewToText(await inbound.command(admin, "worker", ["w1", "events", "init"]))).toContain("init");
    });
  }

  it("/worker <id> events <type> shows only that type, each event in 40 columns with what it did; a type with none or a typo says so", async () => {
    const { inbound, t, manager } = setup("tool-allow");
    await inbound.command(admin, "spawn", ["claude", "app", "USE_SHELL:", "write", "a", "file"]);
    await until(() => t.sent.some((s) => s.view.title === "w1 asks permission"));
    const ask = t.sent.find((s) => s.view.title === "w1 asks permission")!;
    await inbound.button(admin, buttonsOf(ask.view).find((b) => b.label === "Allow")!.data, ask.ref);
    expect((await manager.workers.runner.waitFor("w1")).status).toBe("completed");

    const tools = await inbound.command(admin, "worker", ["w1", "events", "tool"]);
    const events = tools.sections.find((s) => s.heading?.startsWith("Events"))!;
    expect(events.heading).toBe("Events: tool");
    expect(events.lines).toHaveLength(1);
    expect(events.lines[0]).toMatch(/^\d\d:\d\d:\d\d tool Bash: echo tool-ran/);
    expect(tooWide(tools, { wrap: true })).toEqual([]);

    const all = await inbound.command(admin, "worker", ["w1", "events"]);
    const every = all.sections.find((s) => s.heading === "Events")!;
    expect(every.lines.map((l) => l.split(" ")[1])).toEqual(expect.arrayContaining(["init", "tool", "permission", "usage", "turn_end"]));
    expect(every.lines.find((l) => l.includes(" usage "))).toMatch(/usage in \d+ · out \d+/);
    expect(tooWide(all, { wrap: true })).toEqual([]);

    const none = await inbound.command(admin, "worker", ["w1", "events", "question"]);
    expect(none.sections.find((s) => s.heading === "Events: question")!.lines).toEqual(["none"]);
    await expect(inbound.command(admin, "worker", ["w1", "events", "tools"])).resolves.toMatchObject({
      sections: [{ lines: [expect.stringContaining('no event type "tools"; one of init, text, tool')] }],
    });
  });

  it("a failed worker's result has Resume and Show output; Show output answers with its whole output and stderr", async () => {
    const { inbound, t, manager } = setup("auth401");
    await inbound.command(admin, "spawn", ["claude", "app", "hello"]);
    expect((await manager.workers.runner.waitFor("w1")).status).toBe("failed");
    await until(() => t.sent.some((s) => s.view.title?.startsWith("w1 ·") && (s.view.buttons?.length ?? 0) > 0));
    const result = t.sent.find((s) => s.view.title?.startsWith("w1 ·") && (s.view.buttons?.length ?? 0) > 0)!;
    const text = viewToText(result.view);
    for (const want of ["❌ failed", "exit 1", "Error: auth", "fix its login on the host", "Last output"]) expect(text).toContain(want);
    expect(buttonsOf(result.view).map((b) => b.label)).toEqual(["Resume", "Show output"]);
    const shown = await inbound.button(admin, buttonsOf(result.view).find((b) => b.label === "Show output")!.data, result.ref);
    expect(shown.reply!.title).toBe("w1 output · ❌ failed");
    expect(viewToText(shown.reply!)).toContain(manager.workers.store.get("w1")!.outputTail.trim());
  });

  it("the context share shows before the scanner has read the session: the status, the result and /worker use the model's window", async () => {
    const { inbound, t, manager } = setup("success");
    await inbound.command(admin, "spawn", ["claude", "app", "hello"]);
    const w = await manager.workers.runner.waitFor("w1");
    expect(manager.rt.sessions.get(w.sessionUid!)).toBeUndefined();
    // Claude Code runs a model the tables do not know at 200k (the scanner's rule), not at the catalog's 1M API maximum.
    expect(w.model).toBe("claude-opus-5-5");
    const pct = "context 31k (16%)";
    await until(() => t.sent.some((s) => s.view.title?.startsWith("w1 ·") && (s.view.buttons?.length ?? 0) > 0));
    expect(viewToText(t.sent.find((s) => s.view.title?.startsWith("w1 ·") && (s.view.buttons?.length ?? 0) > 0)!.view)).toContain(pct);
    expect(viewToText(await inbound.command(admin, "worker", ["w1"]))).toContain(pct);
  });

  it("past runner.maxConcurrent a /spawn is queued and says so in words, then starts when a slot frees", async () => {
    const { inbound, manager } = setup("success", { maxConcurrent: 1 });
    expect(viewToText(await inbound.command(admin, "spawn", ["claude", "app", "one"]))).toMatch(/^w1 started/);
    expect(viewToText(await inbound.command(admin, "spawn", ["claude", "app", "two"]))).toBe(
      "w2 queued: 1 worker is running (runner.maxConcurrent 1). It starts when one ends.",
    );
    expect((await manager.workers.runner.waitFor("w2")).status).toBe("completed");
  });

  it("a non-admin's /spawn is a request in the feed; an admin's Approve starts it", async () => {
    const { inbound, t, manager } = setup("success");
    const reply = await inbound.command(member, "spawn", ["claude", "app", "hello"]);
    expect(viewToText(reply)).toMatch(/Asked the admins to approve \(request #\d+\)/);
    expect(manager.workers.store.list()).toEqual([]);
    const req = t.sent.find((s) => s.view.title?.startsWith("Spawn request"))!;
    const approve = buttonsOf(req.view).find((b) => b.label === "Approve")!;
    expect((await inbound.button(member, approve.data, req.ref)).toast).toBe("Only an admin can decide this.");
    expect((await inbound.button(admin, approve.data, { ...req.ref, messageId: "999" })).toast).toBe("This button does not belong to that request.");
    expect((await inbound.button(admin, approve.data, req.ref)).toast).toBe("Started w1.");
    expect((await manager.workers.runner.waitFor("w1")).status).toBe("completed");
    expect(manager.workers.store.get("w1")!.requestedBy).toBe("telegram:2");
  });

  it("/sessions and /session point at the worker that ran a session (the same uid the on-disk scan finds)", async () => {
    const { inbound, manager } = setup("success");
    await inbound.command(admin, "spawn", ["claude", "app", "hello"]);
    const w = await manager.workers.runner.waitFor("w1");
    // What the Claude source writes for that transcript: same platform, no agent id, the CLI's session id.
    manager.rt.sessions.upsert({ ...session({ platform: "claude", sessionId: w.sessionId!, lastActivity: Date.now() }) });
    expect(w.sessionUid).toBe(manager.rt.sessions.get(w.sessionUid!)!.uid);
    expect(viewToText(await inbound.command(admin, "sessions", ["all"]))).toContain(`Managed by asm: w1 (${w.sessionId!.slice(0, 4)}`);
    expect(viewToText(await inbound.command(admin, "session", [w.sessionId!.slice(0, 8)]))).toContain("w1 (completed) — /worker w1");
    // And back: /worker names the command that opens its session.
    const back = (await inbound.command(admin, "worker", ["w1"])).sections.find((s) => s.heading === "Session")!;
    expect(back.lines).toEqual([w.sessionId, `/session ${w.sessionId!.slice(0, 12)}`]);
    expect(viewToText(await inbound.command(admin, "session", [w.sessionId!.slice(0, 12)]))).toContain("/worker w1");
  });

  it("worker commands refuse non-admins and bad ids; a workspace outside the config is refused", async () => {
    const { inbound } = setup("success");
    expect(viewToText(await inbound.command(member, "kill", ["w1"]))).toContain("for admins only");
    expect(viewToText(await inbound.command(admin, "kill", ["-rf"]))).toContain("is not a worker id");
    expect(viewToText(await inbound.command(admin, "spawn", ["claude", "/etc", "x"]))).toContain("not valid");
    expect(viewToText(await inbound.command(admin, "spawn", ["claude", "other", "x"]))).toContain('no workspace "other"');
  });
});
