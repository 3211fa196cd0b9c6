import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { codexAppServerDriver } from "../../src/agents/codex/app-server.ts";
import { type ReplayWorld, replayWorld, stopRunners, until } from "../helpers/runner-world.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Codex workers through `codex app-server` in the runner: the real Runner with a temp SQLite store runs
 * tests/fakes/agent-cli.mjs, which replays the recorded exchanges of the real app-server 0.169.0
 * (tests/fixtures/streams/codex/app-server-*.exchange.jsonl) and exits 97 when what asm writes differs from the
 * recording by JSON-RPC method or by the decision an answer carries.
 */

const streams = fileURLToPath(new URL("../fixtures/streams/codex/", import.meta.url));
const recorded = (scenario: string) => join(streams, `app-server-${scenario}.exchange.jsonl`);
const recordedThread = (scenario: string) =>
  (JSON.parse(readFileSync(join(streams, `app-server-${scenario}.meta.json`), "utf8")) as { sessionId: string }).sessionId;
const COMMAND = "/bin/bash -lc 'echo tool-ran > tool-ran.txt && cat README.md'";

type World = ReplayWorld;

afterEach(stopRunners);

function world(scenario: string, runner: Record<string, unknown> = {}, codex: Record<string, unknown> = {}): World {
  return replayWorld({
    dir: tempDir("asm-codex-app-server-"),
    agent: "codex",
    driver: codexAppServerDriver,
    recording: recorded(scenario),
    runner,
    driverConfig: codex,
  });
}

type Sent = { method?: string; id?: number; params?: Record<string, unknown>; result?: { decision?: string } };
const sentLines = (w: World): Sent[] =>
  (existsSync(w.stdinLog) ? readFileSync(w.stdinLog, "utf8") : "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sent);
const said = (w: World) => sentLines(w).map((m) => m.method ?? `answer:${m.result?.decision ?? "?"}`);

describe("runner with codex app-server's recorded exchanges", () => {
  it("a command approval reaches the chat as a command; allowing it answers accept and the worker completes", async () => {
    const w = world("tool-allow");
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("shell");
    expect(r.payload.detail).toBe(COMMAND);
    expect(w.store.get(row.id)!.status).toBe("waiting-for-input");
    expect(w.runner.answer(r, true)).toBe(true);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.sessionId).toBe(recordedThread("tool-allow"));
    expect(done.exitCode).toBe(0);
    expect(done.contextTokens).toBeGreaterThan(0);
    expect(said(w)).toEqual(["initialize", "initialized", "thread/start", "turn/start", "answer:accept"]);
    expect(sentLines(w)[2]!.params).toMatchObject({ approvalPolicy: "untrusted", sandbox: "workspace-write", cwd: done.cwd });
    expect(sentLines(w)[3]!.params!.input).toEqual([{ type: "text", text: "USE_SHELL: write a file, then show the README", text_elements: [] }]);
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toEqual(["app-server"]);
  });

  it("a command rule does not allow a command line with redirection and chaining: a person is still asked", async () => {
    const w = world("tool-deny", {}, { autoRespond: { rules: [{ allow: "command", commands: ["echo"] }] } });
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    expect(w.store.get(row.id)!.respondCount).toBe(0);
    w.runner.answer(w.asks[0]!, false, "not now");
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(said(w).at(-1)).toBe("answer:decline");
    expect(done.denied).toEqual(["shell"]);
  });

  it("a permission nobody answers expires: the runner answers deny (decline), the request is recorded expired", async () => {
    const w = world("tool-deny", { permissionTimeoutMinutes: 0.005 });
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(w.requests.get(w.asks[0]!.id)!.status).toBe("expired");
    expect(said(w).at(-1)).toBe("answer:decline");
  });

  it("an interrupt mid-turn is turn/interrupt for the running turn; the worker is interrupted", async () => {
    const w = world("interrupt");
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => said(w).includes("turn/start") && w.store.get(row.id)!.status === "running");
    // Whether turn/start has answered with the turn id yet or not: the session sends the interrupt once it knows it.
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    const sent = sentLines(w).filter((m) => m.method === "turn/interrupt");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.params).toMatchObject({ threadId: recordedThread("interrupt") });
  });

  it("an interrupt while an approval waits: the request is closed and the worker is interrupted", async () => {
    const w = world("interrupt-permission");
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(w.requests.pending(row.id)).toEqual([]);
    expect(said(w)).toEqual(["initialize", "initialized", "thread/start", "turn/start", "turn/interrupt"]);
  });

  it("a 429 ends the worker failed as rate_limit, a 401 as auth (from the typed codexErrorInfo)", async () => {
    const w = world("fail429");
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("rate_limit");
    expect(done.errorMessage).toMatch(/429 Too Many Requests/);
    const v = world("auth401");
    const row2 = v.runner.spawn({ agent: "codex", workspace: "app", prompt: "FAIL401 this request has a bad API key" });
    const done2 = await v.runner.waitFor(row2.id);
    expect(done2.status).toBe("failed");
    expect(done2.errorClass).toBe("auth");
  });

  it("resume continues the first worker's thread through thread/resume, not argv", async () => {
    const w = world("success");
    const a = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello, summarize this project" });
    const first = await w.runner.waitFor(a.id);
    expect(first.status).toBe("completed");
    copyFileSync(recorded("resume"), w.exchange);
    const b = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: a.id });
    const done = await w.runner.waitFor(b.id);
    expect(done.status).toBe("completed");
    expect(done.sessionId).toBe(first.sessionId);
    expect(sentLines(w).find((m) => m.method === "thread/resume")?.params).toMatchObject({ threadId: first.sessionId });
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toEqual(["app-server"]);
  });

  it("resuming a thread Codex does not have fails the worker saying so", async () => {
    const w = world("success");
    const a = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello, summarize this project" });
    await w.runner.waitFor(a.id);
    // The recording asked for this id; the store is where a resumed worker takes it from.
    w.store.update(a.id, { sessionId: "01a24400-0000-7000-8000-000000000000" }, Date.now());
    copyFileSync(recorded("resume-missing"), w.exchange);
    const b = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: a.id });
    const done = await w.runner.waitFor(b.id);
    expect(done.status).toBe("failed");
    expect(done.errorMessage).toMatch(/Codex has no thread 01a24400-0000-7000-8000-000000000000 to resume/);
  });
});
