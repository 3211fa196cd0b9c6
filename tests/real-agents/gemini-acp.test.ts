import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { geminiAcpDriverFor } from "../../src/agents/gemini/acp.ts";
import { chatFileMinute, geminiChatFiles } from "../../src/agents/gemini/chat-files.ts";
import { installedVersion, protocolWorld, show, skipNotice, until } from "./harness.ts";

/**
 * Gemini workers through `gemini --acp` (src/agents/gemini/acp.ts) against the REAL Gemini CLI and the fake model
 * server, through the in-process Runner: a shell permission allowed (the file is written) and one denied (it is
 * not), an interrupt mid-turn, a resume through session/load, a 429, and a second resume after those Gemini starts.
 * Opt-in like the rest of this folder.
 *
 * The first session starts early in a minute, so the resume two workers later falls in the minute its chat file was
 * opened: Gemini 0.61.0's session/load would write over it there (see GeminiAcpSession), the driver waits it out.
 */

const TURN_MS = 90_000;
const skip = !process.env.ASM_REAL_AGENTS || skipNotice("gemini");

describe.skipIf(skip)(`gemini ${installedVersion("gemini") ?? ""} through --acp (real CLI, fake model server)`, () => {
  const t = protocolWorld("gemini", { driver: (_config, w) => geminiAcpDriverFor(w.env), turnMs: TURN_MS });
  const { toolFile, requestFor: permissionFor } = t;

  let firstSession: string | null = null;
  let firstWorker: string | null = null;
  const chatFiles = () => geminiChatFiles(join(t.world.home, ".gemini"));

  it("a shell command asks (approval mode default); allowed, it runs and the worker completes", { timeout: TURN_MS + 90_000 }, async () => {
    const second = Date.now() % 60_000;
    if (second > 12_000) await new Promise((r) => setTimeout(r, 60_500 - second));
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("Shell");
    expect(String(r.payload.detail)).toContain("echo tool-ran");
    expect(t.store.get(x.id)!.waitingReason).toBe("permission");
    expect(t.runner.answer(r, true)).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(true);
    expect(done.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    // The ACP session id is the one Gemini stores the chat under (what --resume and session/load take).
    expect(existsSync(join(t.world.home, ".gemini/tmp/demo-app/chats"))).toBe(true);
    firstSession = done.sessionId;
    firstWorker = x.id;
  });

  it("denied, the command does not run and the turn names it", { timeout: TURN_MS + 30_000 }, async () => {
    rmSync(toolFile(), { force: true });
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    const r = await permissionFor(x);
    expect(t.runner.answer(r, false, "Denied from the real-agents test")).toBe(true);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(existsSync(toolFile())).toBe(false);
    expect(done.denied.join(" ")).toContain("echo tool-ran");
  });

  it("resume loads the same Gemini session over ACP, waiting out the minute its chat file was opened in", { timeout: TURN_MS + 90_000 }, async () => {
    expect(firstWorker).not.toBeNull();
    const opened = chatFiles().list(firstSession!)[0]?.minute;
    const startedAt = Date.now();
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: firstWorker });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello again");
    const waited = t.store.events(x.id, { type: "other", limit: 500 }).some((e) => e.payload.kind === "acp/load-waits-a-minute");
    // Started well inside that minute (Gemini is up in about two seconds), the load had to wait.
    if (chatFileMinute(startedAt) === opened && startedAt % 60_000 < 50_000) expect(waited, show(done)).toBe(true);
    // The file the load opened for itself is gone; the conversation's file stays.
    const files = chatFiles().list(firstSession!);
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.resumable)).toBe(true);
  });

  it("an interrupt mid-turn is session/cancel: the worker is interrupted, not killed", { timeout: TURN_MS + 30_000 }, async () => {
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => (t.store.get(x.id)!.outputTail ?? "").length > 0 || t.store.get(x.id)!.status === "failed", TURN_MS, "the first text");
    t.runner.interrupt(x.id);
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("interrupted");
    expect(done.signal, show(done)).toBeNull();
  });

  it("a 429 fails the worker as rate_limit", { timeout: 120_000 }, async () => {
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("failed");
    expect(done.errorClass, show(done)).toBe("rate_limit");
  });

  it("the resumed session outlives the Gemini starts after it (their clean-up): a second resume loads it", { timeout: TURN_MS + 90_000 }, async () => {
    const x = t.runner.spawn({ agent: "gemini", workspace: "app", prompt: "Hello a third time", resumeOf: firstWorker });
    const done = await t.runner.waitFor(x.id);
    expect(done.status, show(done)).toBe("completed");
    expect(done.sessionId).toBe(firstSession);
    expect(done.outputTail).toContain("Hello a third time");
  });
});
