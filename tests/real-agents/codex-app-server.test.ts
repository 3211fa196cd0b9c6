import { existsSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { codexAppServerDriver } from "../../src/agents/codex/app-server.ts";
import { installedVersion, protocolWorld, show, skipNotice, until } from "./harness.ts";

/**
 * Codex workers through `codex app-server` (src/agents/codex/app-server.ts) against the REAL Codex CLI and the fake
 * model server, through the in-process Runner: a command approval allowed (the file is written) and one denied (it
 * is not), a resume through thread/resume, an interrupt mid-turn through turn/interrupt, a 429 and a 401 typed by
 * codexErrorInfo. Opt-in like the rest of this folder.
 */

const TURN_MS = 90_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("codex");

describe.skipIf(skip)(`codex ${installedVersion("codex") ?? ""} through app-server (real CLI, fake model server)`, () => {
  const t = protocolWorld("codex", { driver: () => codexAppServerDriver, turnMs: TURN_MS });
  const { toolFile, requestFor: permissionFor } = t;

  let firstSession: string | null = null;
  let firstWorker: string | null = null;

  it("a command that writes asks (untrusted + workspace-write); allowed, it runs and the worker completes", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("shell");
    expect(String(r.payload.detail)).toContain("echo tool-ran");
    expect(t.store.get(x.id)!.waitingReason).toBe("permission");
    expect(t.runner.answer(r, true)).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(true);
    expect(done.sessionId).toMatch(codexAppServerDriver.sessionIdPattern);
    expect(done.contextTokens, show(done)).toBeGreaterThan(0);
    firstSession = done.sessionId;
    firstWorker = x.id;
  });

  it("denied, the command does not run and the turn names it", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(t.runner.answer(r, false, "Denied from the real-agents test")).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(false);
    expect(done.denied).toEqual(["shell"]);
  });

  it("resume continues the same thread through thread/resume", { timeout: TURN_MS + 30_000 }, async () => {
    expect(firstWorker).not.toBeNull();
    const x = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: firstWorker });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello again");
  });

  it("an interrupt mid-turn is turn/interrupt: the worker is interrupted, not killed", { timeout: TURN_MS + 30_000 }, async () => {
    const x = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => t.store.get(x.id)!.status === "running" || t.store.get(x.id)!.status === "failed", TURN_MS, "the turn running");
    await new Promise((r) => setTimeout(r, 2000)); // the fake has streamed its first piece and holds the rest
    t.runner.interrupt(x.id);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("interrupted");
    expect(done.signal, show(done)).toBeNull();
  });

  it("a 429 fails the worker as rate_limit, a 401 as auth", { timeout: 120_000 }, async () => {
    const x = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("failed");
    expect(done.errorClass, show(done)).toBe("rate_limit");
    const y = t.runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL401 this request has a bad API key" });
    const done2 = await t.runner.waitFor(y.id);
    expect(done2.status, show(done2)).toBe("failed");
    expect(done2.errorClass, show(done2)).toBe("auth");
  });
});
