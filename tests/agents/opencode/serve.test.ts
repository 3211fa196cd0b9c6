import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type ProtocolIO, type RunRequest, type RunSpec, UnsafeArgumentError, type WorkerEvent } from "../../../src/agents/driver.ts";
import { OpencodeServeSession, opencodeServeDriver, permissionRuleset } from "../../../src/agents/opencode/serve.ts";
import { eventsOf } from "../../helpers/events.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * Our session against tests/fakes/opencode-serve.mjs replaying real `opencode serve` 1.18.33 exchanges
 * (tests/fixtures/streams/opencode/*.serve.jsonl): a real HTTP + SSE server on 127.0.0.1 that exits 97 when a
 * request differs from the recording. The session reads the fake's stdout as the runner would hand it over.
 */
const fake = fileURLToPath(new URL("../../fakes/opencode-serve.mjs", import.meta.url));
const fixtures = fileURLToPath(new URL("../../fixtures/streams/opencode/", import.meta.url));
const recording = (s: string) => join(fixtures, `${s}.serve.jsonl`);

interface Run {
  events: WorkerEvent[];
  fails: string[];
  debug: string[];
  writes: string[];
  session: OpencodeServeSession;
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
  requests: () => { method: string; path: string; body: unknown }[];
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGTERM");
});

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/tmp", permissionMode: null, ...over });

/** Starts the fake on `scenario` and a session on its stdout; `on` reacts to each event (replies, interrupts). */
function start(scenario: string, opts: { req?: RunRequest; env?: Record<string, string>; password?: string; on?: (e: WorkerEvent, r: Run) => void } = {}): Run {
  const rq = opts.req ?? req();
  const spec: RunSpec = opencodeServeDriver.runSpec(rq);
  const log = join(tempDir("asm-ocserve-"), "requests.jsonl");
  const child = spawn(process.execPath, [fake, ...spec.args], {
    env: { ...process.env, ...spec.env, FAKE_SERVE: recording(scenario), FAKE_FAST: "1", FAKE_REQUEST_LOG: log, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let err = "";
  child.stderr?.on("data", (c) => (err += c));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const sessionSpec = opts.password ? { ...spec, env: { ...spec.env, OPENCODE_SERVER_PASSWORD: opts.password } } : spec;
  const run = { events: [], fails: [], debug: [], writes: [], child, stderr: () => err, exit } as unknown as Run;
  run.requests = () => {
    try {
      return readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };
  const io: ProtocolIO = {
    write: (l) => run.writes.push(l),
    emit: (evs) => {
      for (const e of evs) {
        run.events.push(e);
        opts.on?.(e, run);
      }
    },
    fail: (reason, message) => run.fails.push(`${reason}: ${message}`),
    debug: (msg) => run.debug.push(msg),
  };
  run.session = new OpencodeServeSession(rq, sessionSpec, io);
  let buf = "";
  child.stdout?.on("data", (c) => {
    buf += c;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      run.session.onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return run;
}

const until = async (what: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};
const ends = (r: Run) => r.events.filter((e): e is Extract<WorkerEvent, { type: "turn_end" }> => e.type === "turn_end");
const of = <T extends WorkerEvent["type"]>(r: Run, type: T) => eventsOf(r.events, type);

/** Waits for `turns` turn ends (or a failure), closes the session, and checks the fake saw no difference. */
async function finish(r: Run, turns = 1) {
  await until(() => ends(r).length >= turns || r.fails.length > 0 || r.child.exitCode !== null);
  r.session.close();
  expect(r.child.exitCode, r.stderr()).not.toBe(97);
  expect(r.fails).toEqual([]);
  expect(r.writes).toEqual([]);
}

describe("opencodeServeDriver.runSpec", () => {
  it("starts a loopback server with a fresh random password in the environment, never in argv", () => {
    const a = opencodeServeDriver.runSpec(req({ cwd: "/work/app" }));
    const b = opencodeServeDriver.runSpec(req({ cwd: "/work/app" }));
    expect(a.args).toEqual(["serve", "--hostname", "127.0.0.1", "--port", "0"]);
    expect(a.prompt).toBe("protocol");
    expect(a.env?.PWD).toBe("/work/app");
    expect(a.env?.OPENCODE_SERVER_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.env?.OPENCODE_SERVER_PASSWORD).not.toBe(b.env?.OPENCODE_SERVER_PASSWORD);
    expect(opencodeServeDriver.canAsk).toBe(true);
  });

  it("maps permission modes to a ruleset and refuses anything else, a bad model or session id", () => {
    expect(permissionRuleset(null)).toEqual([
      { permission: "edit", pattern: "*", action: "ask" },
      { permission: "bash", pattern: "*", action: "ask" },
    ]);
    expect(permissionRuleset("acceptEdits").map((r) => r.action)).toEqual(["allow", "ask"]);
    expect(permissionRuleset("auto").map((r) => r.action)).toEqual(["allow", "allow"]);
    expect(permissionRuleset("reject").map((r) => r.action)).toEqual(["deny", "deny"]);
    for (const bad of ["yolo", "toString", "__proto__"]) expect(() => opencodeServeDriver.runSpec(req({ permissionMode: bad }))).toThrow(UnsafeArgumentError);
    expect(() => opencodeServeDriver.runSpec(req({ model: "-x/y" }))).toThrow(UnsafeArgumentError);
    expect(() => opencodeServeDriver.runSpec(req({ resumeSessionId: "../etc" }))).toThrow(UnsafeArgumentError);
  });
});

describe("OpencodeServeSession against recorded opencode serve 1.18.33 exchanges", () => {
  it("success: subscribes before creating the session with the ask ruleset, then two turns with totals from the messages", async () => {
    const r = start("success", {
      on: (e, run) => e.type === "turn_end" && ends(run).length === 1 && run.session.turn("Thanks. One more short answer please."),
    });
    r.session.turn("Hello, summarize this project");
    await finish(r, 2);
    const [init] = of(r, "init");
    expect(init?.sessionId).toMatch(/^ses_/);
    expect(init?.version).toBe("1.18.33");
    const paths = r.requests().map((q) => `${q.method} ${q.path.replace(/ses_\w+/, "ses")}`);
    expect(paths.slice(0, 4)).toEqual(["GET /event", "GET /path", "POST /session", "POST /session/ses/prompt_async"]);
    expect(r.requests()[2]?.body).toEqual({ permission: permissionRuleset(null) });
    const [one, two] = ends(r);
    expect(one?.result).toMatch(/^Fake reply #\d+: you said "Hello, summarize this project"/);
    expect(two?.result).toMatch(/One more short answer/);
    expect([one?.isError, one?.numTurns, one?.costUsd]).toEqual([false, 1, 0]);
    const usage = of(r, "usage");
    expect(usage).toHaveLength(2);
    expect(usage[0]!.input + usage[0]!.cacheRead).toBeGreaterThan(18_000);
    expect(usage[0]!.contextTokens).toBe(usage[0]!.input + usage[0]!.cacheRead + usage[0]!.cacheWrite);
    // Each finished text part once, from the stream or from the messages, never twice.
    expect(of(r, "text").map((t) => t.text)).toEqual([one?.result, two?.result]);
  });

  it("tool-allow: the bash permission arrives as a command action, allowed with reply once, and the tool runs", async () => {
    const r = start("tool-allow", { on: (e, run) => e.type === "permission" && run.session.reply(e.requestId, { kind: "permission", allow: true }) });
    r.session.turn("USE_SHELL: write a file, then show the README");
    await finish(r);
    const [p] = of(r, "permission");
    expect(p).toMatchObject({ tool: "bash", detail: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(p?.requestId).toMatch(/^per_/);
    expect(p?.action).toEqual({ kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(r.requests().find((q) => q.path.startsWith("/permission/"))).toEqual({
      method: "POST",
      path: `/permission/${p?.requestId}/reply`,
      body: { reply: "once" },
    });
    expect(of(r, "tool")[0]).toEqual({ type: "tool", name: "bash", detail: "echo tool-ran > tool-ran.txt && cat README.md" });
    expect(ends(r)[0]).toMatchObject({ result: "The README says this is a tiny fixture project. Done.", isError: false, numTurns: 2, denied: [] });
  });

  it("tool-deny: rejected, OpenCode ends the turn and the tool shows as denied", async () => {
    const r = start("tool-deny", { on: (e, run) => e.type === "permission" && run.session.reply(e.requestId, { kind: "permission", allow: false }) });
    r.session.turn("USE_SHELL: write a file, then show the README");
    await finish(r);
    expect(r.requests().find((q) => q.path.startsWith("/permission/"))?.body).toEqual({ reply: "reject" });
    expect(ends(r)[0]).toMatchObject({ denied: ["bash"] });
  });

  it("question: OpenCode's question tool arrives with its options; the answer goes to the question reply route", async () => {
    const r = start("question", { on: (e, run) => e.type === "question" && run.session.reply(e.requestId, { kind: "question", answer: "README.md" }) });
    r.session.turn("USE_QUESTION: ask me which file to read, then read it");
    await finish(r);
    const [q] = of(r, "question");
    // The options' descriptions (as OpenCode sent them) are shown under the question; the buttons carry the labels.
    expect(q).toMatchObject({
      text: "Which file should I read?\n• README.md: The project's readme\n• Nothing: Read no file",
      options: ["README.md", "Nothing"],
    });
    expect(q?.requestId).toMatch(/^que_/);
    expect(r.requests().find((x) => x.path.startsWith("/question/"))).toEqual({
      method: "POST",
      path: `/question/${q?.requestId}/reply`,
      body: { answers: [["README.md"]] },
    });
    expect(of(r, "tool")[0]).toEqual({ type: "tool", name: "question", detail: "Which file should I read?" });
    expect(ends(r)[0]).toMatchObject({ result: "The README says this is a tiny fixture project. Done.", isError: false });
  });

  it("question-dismiss: no answer rejects the question and OpenCode ends the turn", async () => {
    const r = start("question-dismiss", { on: (e, run) => e.type === "question" && run.session.reply(e.requestId, { kind: "question", answer: null }) });
    r.session.turn("USE_QUESTION: ask me which file to read, then read it");
    await finish(r);
    expect(r.requests().find((x) => x.path.startsWith("/question/"))).toMatchObject({
      method: "POST",
      path: expect.stringMatching(/^\/question\/que_\w+\/reject$/),
    });
    expect(ends(r)[0]).toMatchObject({ result: "Let me ask you first.", isError: false });
  });

  it("a replay where we answer differently from the recording fails loudly (exit 97)", async () => {
    const r = start("tool-allow", { on: (e, run) => e.type === "permission" && run.session.reply(e.requestId, { kind: "permission", allow: false }) });
    r.session.turn("USE_SHELL: write a file, then show the README");
    expect(await r.exit).toBe(97);
    expect(r.stderr()).toMatch(/recorded: POST \/permission\/per_\w+\/reply reply=once\n\s+received: .*reply=reject/);
  });

  it("interrupt: abort ends the turn as interrupted with OpenCode's MessageAbortedError", async () => {
    // The recording interrupted once the first piece of text streamed; the fake waits for our abort where it came.
    const r = start("interrupt", { on: (e, run) => e.type === "init" && setTimeout(() => run.session.interrupt(), 50) });
    r.session.turn("HANG write a long answer slowly");
    await finish(r);
    expect(r.requests().some((q) => q.method === "POST" && /\/session\/ses_\w+\/abort$/.test(q.path))).toBe(true);
    expect(of(r, "error")[0]).toMatchObject({ reason: "aborted", message: "Aborted" });
    expect(ends(r)[0]).toMatchObject({ interrupted: true, isError: false });
  });

  it("interrupt-permission: aborted while a permission waits, the request is withdrawn before the turn ends", async () => {
    const r = start("interrupt-permission", { on: (e, run) => e.type === "permission" && run.session.interrupt() });
    r.session.turn("USE_SHELL: write a file, then show the README");
    await finish(r);
    const [p] = of(r, "permission");
    expect(r.events.slice(-2)).toEqual([
      { type: "request_cancelled", requestId: p?.requestId },
      expect.objectContaining({ type: "turn_end", interrupted: true, isError: false }),
    ]);
    expect(r.requests().some((q) => q.path.startsWith("/permission/"))).toBe(false);
  });

  it("fail429: OpenCode's own retries are notices, then the 429 is a rate_limit error and a failed turn", async () => {
    const r = start("fail429");
    r.session.turn("FAIL429 this request is rate limited");
    await finish(r);
    const errors = of(r, "error");
    expect(errors.filter((e) => e.willRetry).length).toBeGreaterThanOrEqual(1);
    expect(errors.filter((e) => e.willRetry).every((e) => e.reason === "rate_limit")).toBe(true);
    expect(errors.filter((e) => !e.willRetry)).toEqual([{ type: "error", reason: "rate_limit", message: "Rate limit reached", status: 429, willRetry: false }]);
    expect(ends(r)[0]).toMatchObject({ isError: true, result: "Rate limit reached" });
  });

  it("auth401: a model 401 (APIError statusCode 401) is auth", async () => {
    const r = start("auth401");
    r.session.turn("FAIL401 this request has a bad API key");
    await finish(r);
    expect(of(r, "error").filter((e) => !e.willRetry)).toMatchObject([{ reason: "auth", status: 401 }]);
    expect(ends(r)[0]?.isError).toBe(true);
  });

  it("resume: the old session is read, given this worker's rules, and continued", async () => {
    const meta = JSON.parse(readFileSync(join(fixtures, "resume.serve.meta.json"), "utf8")) as { resume: string };
    const r = start("resume", { req: req({ resumeSessionId: meta.resume }) });
    r.session.turn("Hello again, do you remember what I asked first?");
    await finish(r);
    expect(of(r, "init")[0]?.sessionId).toBe(meta.resume);
    const q = r.requests();
    expect(q.some((x) => x.method === "POST" && x.path === "/session")).toBe(false);
    expect(q.find((x) => x.method === "PATCH")).toEqual({ method: "PATCH", path: `/session/${meta.resume}`, body: { permission: permissionRuleset(null) } });
    expect(ends(r)[0]?.isError).toBe(false);
  });

  it("a stream that drops is reopened once; the turn still ends with its totals", async () => {
    const r = start("tool-allow", {
      env: { FAKE_DROP_SSE_AT: "12" },
      on: (e, run) => e.type === "permission" && run.session.reply(e.requestId, { kind: "permission", allow: true }),
    });
    r.session.turn("USE_SHELL: write a file, then show the README");
    await finish(r);
    expect(r.requests().filter((q) => q.path === "/event")).toHaveLength(2);
    expect(r.debug).toContain("opencode serve: event stream dropped, reconnecting");
    expect(ends(r)[0]).toMatchObject({ result: "The README says this is a tiny fixture project. Done.", isError: false });
    expect(of(r, "permission")).toHaveLength(1);
  });

  it("garbage in the event stream is ignored with a debug line", async () => {
    const r = start("success", { env: { FAKE_GARBAGE: "1" } });
    r.session.turn("Hello, summarize this project");
    await finish(r);
    expect(r.debug).toContain("opencode serve: unreadable event ignored");
    expect(ends(r)[0]?.isError).toBe(false);
  });

  it("a wrong password (401) fails the run clearly", async () => {
    const r = start("success", { password: "not-the-password" });
    r.session.turn("Hello, summarize this project");
    await until(() => r.fails.length > 0);
    expect(r.fails[0]).toBe("error: opencode serve refused our password while starting (401)");
    expect(r.stderr()).toMatch(/without the right password: 401/);
    expect(r.events).toEqual([]);
  });

  it("an interrupt before the server is up drops the held prompt and ends the turn as interrupted", async () => {
    const events: WorkerEvent[] = [];
    const io: ProtocolIO = { write: () => {}, emit: (e) => events.push(...e), fail: () => {}, debug: () => {} };
    const s = new OpencodeServeSession(req(), opencodeServeDriver.runSpec(req()), io);
    s.turn("Hello");
    s.interrupt();
    expect(events).toEqual([
      { type: "turn_end", result: null, isError: false, costUsd: null, durationMs: null, numTurns: null, denied: [], interrupted: true },
    ]);
    s.interrupt();
    expect(events).toHaveLength(1);
  });

  it("an unreachable server fails the run; a listening line that is not 127.0.0.1 is refused", async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const fails: string[] = [];
    const io: ProtocolIO = { write: () => {}, emit: () => {}, fail: (r, m) => fails.push(`${r}: ${m}`), debug: () => {} };
    const spec = opencodeServeDriver.runSpec(req());
    new OpencodeServeSession(req(), spec, io).onLine(`opencode server listening on http://127.0.0.1:${port}`);
    await until(() => fails.length > 0);
    expect(fails[0]).toMatch(/^error: opencode serve, starting: GET \/event failed: fetch failed \(.*ECONNREFUSED/);
    new OpencodeServeSession(req(), spec, io).onLine("opencode server listening on http://0.0.0.0:4096");
    expect(fails[1]).toBe("error: opencode serve listens on http://0.0.0.0:4096, not on 127.0.0.1; refusing to talk to it");
  });
});
