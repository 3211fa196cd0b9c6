import { existsSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { opencodeServeDriver } from "../../src/agents/opencode/serve.ts";
import { installedVersion, protocolWorld, show, skipNotice, until } from "./harness.ts";

/**
 * OpenCode workers through `opencode serve` (src/agents/opencode/serve.ts) against the REAL OpenCode and the fake
 * model server, through the in-process Runner: bash allowed (the file is written) and rejected (it is not), a
 * question answered by typed text, a resume of the first session, an interrupt mid-turn (abort), a 429 after
 * OpenCode's own retries. The world's opencode.json has no `permission` key: the session's ruleset makes it ask.
 */

const TURN_MS = 90_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("opencode");

describe.skipIf(skip)(`opencode ${installedVersion("opencode") ?? ""} through serve (real CLI, fake model server)`, () => {
  const t = protocolWorld("opencode", { driver: () => opencodeServeDriver, turnMs: TURN_MS });
  const { toolFile, requestFor } = t;

  let firstSession: string | null = null;
  let firstWorker: string | null = null;

  it("bash asks (the session's ruleset); allowed, it runs and the worker completes", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await requestFor(x);
    expect([r.kind, r.payload.tool]).toEqual(["permission", "bash"]);
    expect(r.payload.action).toEqual({ kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(t.store.get(x.id)!.waitingReason).toBe("permission");
    expect(t.runner.answer(r, true)).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(true);
    expect(done.sessionId).toMatch(/^ses_/);
    expect(done.outputTail).toContain("The README says");
    firstSession = done.sessionId;
    firstWorker = x.id;
  });

  it("rejected, the command does not run and the turn names bash as denied", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await requestFor(x);
    expect(t.runner.answer(r, false)).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(false);
    expect(done.denied).toContain("bash");
  });

  it("OpenCode's question tool asks with its options; a typed answer reaches it", { timeout: TURN_MS + 30_000 }, async () => {
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_QUESTION: ask me which file to read, then read it" });
    const r = await requestFor(x);
    // The options' descriptions are shown under the question; the buttons carry the labels.
    expect([r.kind, r.payload.text, r.payload.options]).toEqual([
      "question",
      "Which file should I read?\n• README.md: The project's readme\n• Nothing: Read no file",
      ["README.md", "Nothing"],
    ]);
    expect(t.runner.answerQuestion(x.id, "README.md", "real-agents")).not.toBeNull();
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
  });

  it("resume continues the same OpenCode session in a new server", { timeout: TURN_MS + 30_000 }, async () => {
    expect(firstWorker).not.toBeNull();
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: firstWorker });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello again");
  });

  it("an interrupt mid-turn aborts the session: the worker is interrupted, not killed", { timeout: TURN_MS + 30_000 }, async () => {
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => t.store.get(x.id)!.status === "running" || t.store.get(x.id)!.status === "failed", TURN_MS, "the turn to run");
    // The answer's first piece streams right away; leave the model a moment to start it.
    await new Promise((r) => setTimeout(r, 3000));
    t.runner.interrupt(x.id);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("interrupted");
  });

  it("a 429 fails the worker as rate_limit after OpenCode's own retries", { timeout: 150_000 }, async () => {
    const x = t.runner.spawn({ agent: "opencode", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("failed");
    expect(done.errorClass, show(done)).toBe("rate_limit");
  });
});
