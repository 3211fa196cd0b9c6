import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { opencodeServeDriver } from "../../src/agents/opencode/serve.ts";
import { until as pollUntil, type RunnerWorld, runnerWorld, stopRunners } from "../helpers/runner-world.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * OpenCode workers through `opencode serve` in the runner: the real Runner with a temp SQLite store starts
 * tests/fakes/opencode-serve.mjs as the server, which replays the recorded HTTP + SSE exchanges of the real
 * `opencode serve` 1.18.33 (tests/fixtures/streams/opencode/*.serve.jsonl) on 127.0.0.1, checks the password the
 * driver generated, and exits 97 when a request differs from the recording (an allow where it denied).
 */

const fake = fileURLToPath(new URL("../fakes/opencode-serve.mjs", import.meta.url));
const streams = fileURLToPath(new URL("../fixtures/streams/opencode/", import.meta.url));
const recorded = (scenario: string) => join(streams, `${scenario}.serve.jsonl`);

type World = RunnerWorld & {
  requestLog: string;
  argvLog: string;
  /** The recording the fake replays; copy another one over it before the next spawn. */
  serve: string;
};

afterEach(stopRunners);

function world(scenario: string, runner: Record<string, unknown> = {}): World {
  const dir = tempDir("asm-opencode-serve-");
  const serve = join(dir, "exchange.serve.jsonl");
  copyFileSync(recorded(scenario), serve);
  const requestLog = join(dir, "requests.jsonl");
  const argvLog = join(dir, "argv.json");
  const env = { FAKE_SERVE: serve, FAKE_REQUEST_LOG: requestLog, FAKE_ARGV_LOG: argvLog, FAKE_FAST: "1" };
  const w = runnerWorld({
    dir,
    agent: "opencode",
    driver: opencodeServeDriver,
    driverConfig: { command: [process.execPath, fake], env },
    runner: { interruptGraceSeconds: 0.5, ...runner },
  });
  return { ...w, requestLog, argvLog, serve };
}

/** An HTTP server's turn takes longer than a stdio one: 15 s before giving up. */
const until = (what: () => boolean, ms = 15_000) => pollUntil(what, ms);
const sent = (w: World) =>
  (existsSync(w.requestLog) ? readFileSync(w.requestLog, "utf8") : "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method: string; path: string; body: Record<string, unknown> | null });
const route = (q: { method: string; path: string }) => `${q.method} ${q.path.replace(/(ses|per)_\w+/g, "$1")}`;
const recordedSession = (scenario: string) =>
  (JSON.parse(readFileSync(join(streams, `${scenario}.serve.meta.json`), "utf8")) as { sessionId: string }).sessionId;

describe("runner with the recorded opencode serve exchanges", () => {
  it("a denied permission: the bash request reaches the chat as a command, the reject goes to OpenCode, the tool is denied", async () => {
    const w = world("tool-deny");
    const row = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect([r.kind, r.payload.tool, r.payload.detail]).toEqual(["permission", "bash", "echo tool-ran > tool-ran.txt && cat README.md"]);
    expect(r.payload.action).toEqual({ kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(w.store.get(row.id)!.waitingDetail).toBe("permission: bash(echo tool-ran > tool-ran.txt && cat README.md)");
    expect(w.requests.decide(r.id, r.nonce, "denied", "telegram:1", Date.now())).toBe(true);
    expect(w.runner.answer(r, false)).toBe(true);
    const done = await w.runner.waitFor(row.id, 20);
    expect(done.status).toBe("completed");
    expect(done.denied).toEqual(["bash"]);
    expect(done.sessionId).toBe(recordedSession("tool-deny"));
    expect(sent(w).map(route)).toEqual([
      "GET /event",
      "GET /path",
      "POST /session",
      "POST /session/ses/prompt_async",
      "POST /permission/per/reply",
      "GET /session/ses/message?limit=200",
    ]);
    expect(sent(w)[4]!.body).toEqual({ reply: "reject" });
    // The server was started on loopback, in the workspace, with the password in its environment only.
    const argv = JSON.parse(readFileSync(w.argvLog, "utf8"));
    expect(argv).toEqual({ argv: ["serve", "--hostname", "127.0.0.1", "--port", "0"], cwd: w.dir, pwd: w.dir, hasPassword: true });
  });

  it("an allowed permission is replied once and the worker completes with the model's answer", async () => {
    const w = world("tool-allow");
    const row = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.answer(w.asks[0]!, true);
    const done = await w.runner.waitFor(row.id, 20);
    expect(done.status).toBe("completed");
    expect(done.outputTail).toContain("The README says this is a tiny fixture project. Done.");
    expect(sent(w).find((q) => q.path.startsWith("/permission/"))!.body).toEqual({ reply: "once" });

    // The next worker resumes that session: read, re-ruled, prompted; no new session is created.
    copyFileSync(recorded("resume"), w.serve);
    const b = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: row.id });
    const again = await w.runner.waitFor(b.id, 20);
    expect(again.status).toBe("completed");
    expect(again.sessionId).toBe(done.sessionId);
    expect(sent(w).slice(-5).map(route)).toEqual([
      "GET /path",
      "GET /session/ses",
      "PATCH /session/ses",
      "POST /session/ses/prompt_async",
      "GET /session/ses/message?limit=200",
    ]);
  });

  it("an OpenCode question waits with its options; a typed answer goes to the question reply route", async () => {
    const w = world("question");
    const row = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_QUESTION: ask me which file to read, then read it" });
    await until(() => w.asks.length === 1);
    expect([w.asks[0]!.kind, w.asks[0]!.payload.options]).toEqual(["question", ["README.md", "Nothing"]]);
    expect(w.store.get(row.id)!.waitingDetail).toBe("question: Which file should I read?");
    expect(w.runner.answerQuestion(row.id, "README.md", "telegram:1")?.answer).toBe("README.md");
    const done = await w.runner.waitFor(row.id, 20);
    expect(done.status).toBe("completed");
    expect(sent(w).find((q) => q.path.startsWith("/question/"))!.body).toEqual({ answers: [["README.md"]] });
  });

  it("an interrupt mid-turn aborts the OpenCode session and the worker is interrupted", async () => {
    const w = world("interrupt");
    const row = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => sent(w).some((q) => q.path.endsWith("/prompt_async")) && w.store.get(row.id)!.status === "running");
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id, 20);
    expect(done.status).toBe("interrupted");
    expect(sent(w).filter((q) => q.path.endsWith("/abort"))).toHaveLength(1);
  });

  it("an interrupt while a permission waits: the request is closed, the worker is interrupted", async () => {
    const w = world("interrupt-permission");
    const row = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id, 20);
    expect(done.status).toBe("interrupted");
    expect(w.requests.pending(row.id)).toEqual([]);
    expect(w.requests.get(w.asks[0]!.id)!.status).toBe("expired");
    // Nobody answered the request: OpenCode drops it with the abort (the fake would exit 97 on a reply).
    expect(
      sent(w)
        .map(route)
        .filter((x) => x.startsWith("POST")),
    ).toEqual(["POST /session", "POST /session/ses/prompt_async", "POST /session/ses/abort"]);
  });

  it("a 429 after OpenCode's own retries fails the worker as rate_limit; a model 401 as auth", async () => {
    const w = world("fail429");
    const a = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const limited = await w.runner.waitFor(a.id, 20);
    expect([limited.status, limited.errorClass, limited.errorMessage]).toEqual(["failed", "rate_limit", "Rate limit reached"]);
    copyFileSync(recorded("auth401"), w.serve);
    const b = w.runner.spawn({ agent: "opencode", workspace: "app", prompt: "FAIL401 this request has a bad API key" });
    const refused = await w.runner.waitFor(b.id, 20);
    expect([refused.status, refused.errorClass]).toEqual(["failed", "auth"]);
  });

  it("a server that cannot start fails the worker", async () => {
    const x = world("success", { drivers: { opencode: { command: [process.execPath, fake], env: { FAKE_EXIT_EARLY: "1" } } } });
    const row = x.runner.spawn({ agent: "opencode", workspace: "app", prompt: "Hello, summarize this project" });
    const done = await x.runner.waitFor(row.id, 20);
    expect(done.status).toBe("failed");
  });
});
