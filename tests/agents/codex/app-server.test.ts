import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CodexAppServerSession, codexAppServerDriver, codexAppServerPolicy, turnErrorEvent } from "../../../src/agents/codex/app-server.ts";
import { THREAD_ID } from "../../../src/agents/codex/driver.ts";
import { codexErrorInfo } from "../../../src/agents/codex/errors.ts";
import { type ProtocolIO, type RunRequest, UnsafeArgumentError, type WorkerEvent } from "../../../src/agents/driver.ts";
import type { ErrorReason } from "../../../src/agents/error-reason.ts";

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, "../../fixtures/streams/codex");

interface Entry {
  ms: number;
  dir: "stdin" | "stdout" | "stderr" | "driver";
  line: string;
}

const exchange = (scenario: string): Entry[] =>
  readFileSync(join(dir, `app-server-${scenario}.exchange.jsonl`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);
const meta = (scenario: string) => JSON.parse(readFileSync(join(dir, `app-server-${scenario}.meta.json`), "utf8")) as { sessionId: string | null };

/** A JSON-RPC line by what the fake CLI compares: a request's method, a response's decision. */
function shape(line: string): string {
  const d = JSON.parse(line) as { method?: string; result?: { decision?: string }; error?: unknown };
  if (d.method) return `rpc:${d.method}`;
  return `rpc-response/${d.error ? "error" : (d.result?.decision ?? "ok")}`;
}

/** A fake io: what the session wrote, emitted and failed with. */
function fakeIo() {
  const written: string[] = [];
  const events: WorkerEvent[] = [];
  const failures: { reason: ErrorReason; message: string }[] = [];
  const hooks: ((e: WorkerEvent) => void)[] = [];
  const io: ProtocolIO = {
    write: (line) => written.push(line),
    emit: (list) => {
      for (const e of list) {
        events.push(e);
        for (const h of hooks) h(e);
      }
    },
    fail: (reason, message) => failures.push({ reason, message }),
    debug: () => {},
  };
  return { io, written, events, failures, hooks };
}

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });

/**
 * Replays a recorded exchange through a session, playing the runner as the recorder did: the prompts are turns (the
 * next one after each turn_end), permission requests get `answer`, a driver note "sending interrupt" interrupts. Each
 * recorded stdin line must be what the session wrote at that point (by method, or by the decision a response carries).
 */
function replay(scenario: string, opts: { prompts: string[]; answer?: "allow" | "deny" | "none"; resume?: string | null }) {
  const f = fakeIo();
  const session = new CodexAppServerSession(req({ resumeSessionId: opts.resume ?? null }), f.io);
  const prompts = [...opts.prompts];
  f.hooks.push((e) => {
    if (e.type === "permission" && opts.answer !== "none") session.reply(e.requestId, { kind: "permission", allow: opts.answer === "allow" });
    if (e.type === "turn_end" && prompts.length) session.turn(prompts.shift()!);
  });
  session.turn(prompts.shift()!);
  let n = 0;
  const stdin: string[] = [];
  for (const e of exchange(scenario)) {
    if (e.dir === "stdout") session.onLine(e.line);
    else if (e.dir === "driver" && /sending interrupt/.test(e.line)) session.interrupt();
    else if (e.dir === "driver" && /closing stdin/.test(e.line)) session.close();
    else if (e.dir === "stdin") {
      const got = f.written[n++];
      expect(got, `stdin line ${n} of ${scenario}: the recording has ${e.line.slice(0, 120)}`).toBeDefined();
      expect(shape(got!)).toBe(shape(e.line));
      stdin.push(got!);
    }
  }
  expect(f.written.slice(n), "the session wrote more than the recording has").toEqual([]);
  const of = <T extends WorkerEvent["type"]>(t: T) => f.events.filter((e): e is Extract<WorkerEvent, { type: T }> => e.type === t);
  return { ...f, stdin, of };
}

describe("codexAppServerDriver: runSpec and policy", () => {
  it("starts `codex app-server` with the prompt on the protocol; nothing from config reaches argv", () => {
    const spec = codexAppServerDriver.runSpec(req({ model: "gpt-5.5", permissionMode: "read-only" }));
    expect(spec).toEqual({ args: ["app-server"], prompt: "protocol", env: { PWD: "/w" } });
    expect(codexAppServerDriver.canAsk).toBe(true);
    expect(codexAppServerDriver.multiTurn).toBe(true);
  });

  it("the default asks before every command and file change Codex does not count as read-only", () => {
    expect(codexAppServerPolicy(null)).toEqual({ approvalPolicy: "untrusted", sandbox: "workspace-write" });
    expect(codexAppServerPolicy("default")).toEqual({ approvalPolicy: "untrusted", sandbox: "workspace-write" });
    expect(codexAppServerPolicy("read-only")).toEqual({ approvalPolicy: "untrusted", sandbox: "read-only" });
    expect(codexAppServerPolicy("on-request")).toEqual({ approvalPolicy: "on-request", sandbox: "workspace-write" });
    expect(codexAppServerPolicy("yolo")).toEqual({ approvalPolicy: "never", sandbox: "danger-full-access" });
  });

  it("rejects a permission mode, model or thread id it does not know before anything starts", () => {
    for (const mode of ["plan", "toString", "__proto__", "acceptEdits"]) {
      expect(() => codexAppServerDriver.runSpec(req({ permissionMode: mode }))).toThrow(UnsafeArgumentError);
    }
    expect(() => codexAppServerDriver.runSpec(req({ model: "-c x" }))).toThrow(UnsafeArgumentError);
    expect(() => codexAppServerDriver.runSpec(req({ resumeSessionId: "not-a-uuid" }))).toThrow(UnsafeArgumentError);
  });

  it("the thread/start request carries the policy, the folder and the model", () => {
    const f = fakeIo();
    const s = new CodexAppServerSession(req({ model: "gpt-5.5", permissionMode: "read-only" }), f.io);
    expect(JSON.parse(f.written[0]!)).toMatchObject({ method: "initialize", id: 1, params: { clientInfo: { name: "asm" } } });
    s.onLine(JSON.stringify({ id: 1, result: { userAgent: "asm/0.169.0 (Debian)" } }));
    expect(f.written.slice(1).map((l) => JSON.parse(l))).toEqual([
      { method: "initialized" },
      { method: "thread/start", id: 2, params: { cwd: "/w", model: "gpt-5.5", approvalPolicy: "untrusted", sandbox: "read-only" } },
    ]);
  });
});

describe("CodexAppServerSession against the recordings of codex app-server 0.169.0", () => {
  it("success: init names the thread (a UUID the headless driver resumes), two turns, per-turn usage with the window", () => {
    const r = replay("success", { prompts: ["Hello, summarize this project", "Thanks, anything else?"] });
    const [init] = r.of("init");
    expect(init).toEqual({ type: "init", sessionId: meta("success").sessionId, model: "gpt-5.5", version: "0.169.0" });
    expect(init!.sessionId).toMatch(THREAD_ID);
    expect(codexAppServerDriver.sessionIdPattern.test(init!.sessionId)).toBe(true);
    const ends = r.of("turn_end");
    expect(ends.map((e) => [e.isError, e.interrupted ?? false])).toEqual([
      [false, false],
      [false, false],
    ]);
    expect(ends[0]!.result).toMatch(/^Fake reply #\d+: you said "Hello, summarize this project"/);
    expect(ends[0]!.durationMs).toBeGreaterThan(0);
    const usage = r.of("usage");
    expect(usage).toHaveLength(2);
    // The second turn counts its own call only: the thread's total is the first turn's plus the second's.
    const totals = exchange("success")
      .filter((e) => e.dir === "stdout")
      .map((e) => JSON.parse(e.line))
      .filter((m) => m.method === "thread/tokenUsage/updated")
      .map((m) => m.params.tokenUsage);
    const [u1, u2] = usage;
    expect(u1!.input + u1!.cacheRead).toBe(totals[0].total.inputTokens);
    expect(u2!.input + u2!.cacheRead).toBe(totals[1].total.inputTokens - totals[0].total.inputTokens);
    expect(u2!.output).toBe(totals[1].last.outputTokens);
    expect(u2!.contextTokens).toBe(totals[1].last.totalTokens);
    expect(u2!.contextWindow).toBe(258400);
    expect(u2!.cacheRead).toBeGreaterThan(0);
  });

  it("resume: thread/resume of the earlier thread, the same id; the restored total sets the context, not the turn's tokens", () => {
    const thread = meta("success").sessionId!;
    const r = replay("resume", { prompts: ["Hello again, do you remember what I asked first?"], resume: thread });
    expect(JSON.parse(r.stdin[2]!)).toMatchObject({ method: "thread/resume", params: { threadId: thread, excludeTurns: true, approvalPolicy: "untrusted" } });
    expect(r.of("init")[0]!.sessionId).toBe(thread);
    const [restored, turn] = r.of("usage");
    expect(restored).toMatchObject({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
    expect(restored!.contextTokens).toBeGreaterThan(0);
    expect(turn!.input + turn!.cacheRead).toBeLessThan(40_000); // one call, not the thread's 80k+
    expect(r.of("turn_end")).toHaveLength(1);
  });

  it("resume of a thread that does not exist: the run fails saying so", () => {
    const f = fakeIo();
    const s = new CodexAppServerSession(req({ resumeSessionId: "01a24400-0000-7000-8000-000000000000" }), f.io);
    s.turn("Hello again");
    for (const e of exchange("resume-missing")) if (e.dir === "stdout") s.onLine(e.line);
    expect(f.failures).toEqual([{ reason: "error", message: expect.stringMatching(/^Codex has no thread 01a24400-0000-7000-8000-000000000000 to resume/) }]);
    expect(f.events.filter((e) => e.type === "init")).toEqual([]);
    expect(f.written.map(shape)).toEqual(["rpc:initialize", "rpc:initialized", "rpc:thread/resume"]);
  });

  it("tool-allow: the command approval is a permission with a command action; allow answers accept", () => {
    const r = replay("tool-allow", { prompts: ["USE_SHELL: write a file, then show the README"], answer: "allow" });
    const [p] = r.of("permission");
    const command = "/bin/bash -lc 'echo tool-ran > tool-ran.txt && cat README.md'";
    expect(p).toMatchObject({ requestId: "0", tool: "shell", detail: command, action: { kind: "command", command } });
    expect(JSON.parse(r.stdin.find((l) => l.includes("decision"))!)).toEqual({ id: 0, result: { decision: "accept" } });
    expect(r.of("tool")).toEqual([{ type: "tool", name: "shell", detail: command }]);
    expect(r.of("turn_end")[0]).toMatchObject({ isError: false, denied: [], result: "The README says this is a tiny fixture project. Done." });
    expect(r.of("request_cancelled")).toEqual([]);
  });

  it("tool-deny: deny answers decline; the model goes on and the turn lists the denied tool", () => {
    const r = replay("tool-deny", { prompts: ["USE_SHELL: write a file, then show the README"], answer: "deny" });
    expect(JSON.parse(r.stdin.find((l) => l.includes("decision"))!)).toEqual({ id: 0, result: { decision: "decline" } });
    expect(r.of("turn_end")[0]).toMatchObject({ isError: false, denied: ["shell"] });
  });

  it("interrupt: turn/interrupt names the thread and turn; the turn ends interrupted with the text streamed so far", () => {
    const r = replay("interrupt", { prompts: ["HANG write a long answer slowly", "Hello again after the interrupt"] });
    const sent = r.stdin.map((l) => JSON.parse(l)).find((m) => m.method === "turn/interrupt");
    const started = exchange("interrupt")
      .filter((e) => e.dir === "stdout")
      .map((e) => JSON.parse(e.line))
      .find((m) => m.method === "turn/started");
    expect(sent.params).toEqual({ threadId: meta("interrupt").sessionId, turnId: started.params.turn.id });
    const ends = r.of("turn_end");
    expect(ends[0]).toMatchObject({ isError: false, interrupted: true });
    expect(ends[1]).toMatchObject({ isError: false });
    expect(ends[1]!.interrupted).toBeUndefined();
    expect(r.of("text")[0]!.text).toMatch(/^Fake reply #\d+: you said "HANG/);
  });

  it("interrupt-permission: the open request is cancelled before the turn ends, once", () => {
    const r = replay("interrupt-permission", { prompts: ["USE_SHELL: write a file, then show the README"], answer: "none" });
    const types = r.events.filter((e) => e.type !== "other").map((e) => e.type);
    expect(types.slice(types.indexOf("permission"))).toEqual(["permission", "usage", "request_cancelled", "turn_end"]);
    expect(r.of("request_cancelled")).toEqual([{ type: "request_cancelled", requestId: "0" }]);
    expect(r.of("turn_end")[0]).toMatchObject({ interrupted: true });
  });

  it("question-default-mode: Codex refuses request_user_input itself outside Plan mode; no question comes, the turn completes", () => {
    const r = replay("question-default-mode", { prompts: ["USE_QUESTION: ask me which database to use"] });
    expect(r.of("question")).toEqual([]);
    expect(r.written.map(shape)).toEqual(["rpc:initialize", "rpc:initialized", "rpc:thread/start", "rpc:turn/start"]);
    expect(exchange("question-default-mode").some((e) => e.dir === "stderr" && /request_user_input is unavailable in Default mode/.test(e.line))).toBe(true);
    expect(r.of("turn_end")[0]).toMatchObject({ isError: false });
  });

  it("fail429: a retry notice then the failure, typed rate_limit with status 429; the turn failed with its message", () => {
    const r = replay("fail429", { prompts: ["FAIL429 this request is rate limited"] });
    expect(r.of("error").map((e) => [e.reason, e.status, e.willRetry])).toEqual([
      ["rate_limit", 429, true],
      ["rate_limit", 429, false],
    ]);
    expect(r.of("error")[0]!.message).toMatch(/^Reconnecting\.\.\. 1\/1 \(exceeded retry limit, last status: 429/);
    expect(r.of("turn_end")[0]).toMatchObject({ isError: true, result: "exceeded retry limit, last status: 429 Too Many Requests" });
  });

  it("auth401: typed auth with status 401", () => {
    const r = replay("auth401", { prompts: ["FAIL401 this request has a bad API key"] });
    expect(r.of("error").map((e) => [e.reason, e.status, e.willRetry])).toEqual([
      ["auth", 401, true],
      ["auth", 401, false],
    ]);
    expect(r.of("turn_end")[0]).toMatchObject({ isError: true });
  });
});

/** A session past its handshake, in a turn: thread T, turn U. */
function inTurn() {
  const f = fakeIo();
  const s = new CodexAppServerSession(req(), f.io);
  s.turn("go");
  s.onLine(JSON.stringify({ id: 1, result: { userAgent: "asm/0.169.0" } }));
  s.onLine(JSON.stringify({ id: 2, result: { thread: { id: "01a24400-0000-7000-8000-00000000000a" }, model: "gpt-5.5" } }));
  s.onLine(JSON.stringify({ id: 3, result: { turn: { id: "U", status: "inProgress" } } }));
  f.written.length = 0;
  f.events.length = 0;
  return { s, ...f };
}
const T = "01a24400-0000-7000-8000-00000000000a";

// Shapes from `codex app-server generate-ts` (0.169.0); the fake model cannot make Codex send these.
describe("server requests the recordings do not cover", () => {
  it("a file change names the paths of the fileChange item started before it; allow answers accept", () => {
    const { s, written, events } = inTurn();
    const changes = [
      { path: "/w/a.txt", kind: { type: "add" }, diff: "+x" },
      { path: "/w/b.txt", kind: { type: "update", move_path: "/w/c.txt" }, diff: "" },
    ];
    s.onLine(
      JSON.stringify({
        method: "item/started",
        params: { item: { type: "fileChange", id: "call_1", changes, status: "inProgress" }, threadId: T, turnId: "U" },
      }),
    );
    s.onLine(
      JSON.stringify({
        method: "item/fileChange/requestApproval",
        id: 5,
        params: { threadId: T, turnId: "U", itemId: "call_1", startedAtMs: 1, reason: null },
      }),
    );
    const p = events.find((e) => e.type === "permission");
    expect(p).toMatchObject({
      requestId: "5",
      tool: "file_change",
      detail: "/w/a.txt, /w/b.txt, /w/c.txt",
      action: { kind: "edit", paths: ["/w/a.txt", "/w/b.txt", "/w/c.txt"] },
    });
    s.reply("5", { kind: "permission", allow: true });
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 5, result: { decision: "accept" } });
  });

  it("a file change asking for a write root, or with no known paths, asks a person (action other)", () => {
    const { s, events } = inTurn();
    s.onLine(JSON.stringify({ method: "item/fileChange/requestApproval", id: 6, params: { turnId: "U", itemId: "nope", grantRoot: "/" } }));
    expect(events.find((e) => e.type === "permission")).toMatchObject({ detail: "write under /", action: { kind: "other" } });
  });

  it("requestUserInput is a question with the options of its one question; the answer goes to that question's id", () => {
    const { s, written, events } = inTurn();
    const q = {
      id: "db",
      header: "Database",
      question: "Which one?",
      isOther: true,
      isSecret: false,
      options: [
        { label: "Postgres (Recommended)", description: "" },
        { label: "SQLite", description: "" },
      ],
    };
    s.onLine(
      JSON.stringify({
        method: "item/tool/requestUserInput",
        id: 7,
        params: { threadId: T, turnId: "U", itemId: "i", questions: [q], isBlocking: true, autoResolutionMs: null },
      }),
    );
    expect(events.find((e) => e.type === "question")).toEqual({
      type: "question",
      requestId: "7",
      text: "Database: Which one?",
      options: ["Postgres (Recommended)", "SQLite"],
    });
    s.reply("7", { kind: "question", answer: "SQLite" });
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 7, result: { answers: { db: { answers: ["SQLite"] } } } });
  });

  it("a question nobody answered is sent back with no answers", () => {
    const { s, written } = inTurn();
    s.onLine(
      JSON.stringify({
        method: "item/tool/requestUserInput",
        id: 8,
        params: { turnId: "U", questions: [{ id: "a", header: "", question: "x?", options: null }] },
      }),
    );
    s.reply("8", { kind: "question", answer: null });
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 8, result: { answers: {} } });
  });

  it("a permissions request is `other`; allow grants what was asked for the turn, deny grants nothing", () => {
    const { s, written, events } = inTurn();
    const permissions = { network: { enabled: true }, fileSystem: null };
    s.onLine(
      JSON.stringify({ method: "item/permissions/requestApproval", id: 9, params: { turnId: "U", itemId: "i", cwd: "/w", reason: "fetch deps", permissions } }),
    );
    expect(events.find((e) => e.type === "permission")).toMatchObject({ tool: "permissions", reason: "fetch deps", action: { kind: "other" } });
    s.reply("9", { kind: "permission", allow: true });
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 9, result: { permissions, scope: "turn" } });
    s.onLine(JSON.stringify({ method: "item/permissions/requestApproval", id: 10, params: { turnId: "U", permissions } }));
    s.reply("10", { kind: "permission", allow: false });
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 10, result: { permissions: {}, scope: "turn" } });
  });

  it("MCP elicitations are declined at once; requests asm has no part in are refused", () => {
    const { s, written, events } = inTurn();
    s.onLine(
      JSON.stringify({
        method: "mcpServer/elicitation/request",
        id: 11,
        params: { threadId: T, turnId: "U", serverName: "x", mode: "form", message: "token?" },
      }),
    );
    expect(JSON.parse(written.at(-1)!)).toEqual({ id: 11, result: { action: "decline", content: null, _meta: null } });
    s.onLine(JSON.stringify({ method: "item/tool/call", id: 12, params: {} }));
    expect(JSON.parse(written.at(-1)!)).toMatchObject({ id: 12, error: { code: -32601 } });
    expect(events.filter((e) => e.type === "permission" || e.type === "question")).toEqual([]);
  });

  it("input to a running terminal (kind writeStdin) is not a command line a rule could allow", () => {
    const { s, events } = inTurn();
    s.onLine(JSON.stringify({ method: "item/commandExecution/requestApproval", id: 13, params: { kind: "writeStdin", turnId: "U", command: "y" } }));
    expect(events.find((e) => e.type === "permission")).toMatchObject({ action: { kind: "other" } });
  });

  it("a request resolved without our answer is cancelled; an answer after that writes nothing", () => {
    const { s, written, events } = inTurn();
    s.onLine(JSON.stringify({ method: "item/commandExecution/requestApproval", id: 14, params: { turnId: "U", command: "ls" } }));
    s.onLine(JSON.stringify({ method: "serverRequest/resolved", params: { threadId: T, requestId: 14 } }));
    expect(events.filter((e) => e.type === "request_cancelled")).toEqual([{ type: "request_cancelled", requestId: "14" }]);
    s.reply("14", { kind: "permission", allow: true });
    expect(written).toEqual([]);
  });
});

describe("supervision", () => {
  it("model/rerouted is a model switch", () => {
    const { s, events } = inTurn();
    s.onLine(
      JSON.stringify({
        method: "model/rerouted",
        params: { threadId: T, turnId: "U", fromModel: "gpt-5.5", toModel: "gpt-5.2", reason: "highRiskCyberActivity" },
      }),
    );
    expect(events).toEqual([{ type: "model_switch", from: "gpt-5.5", to: "gpt-5.2", reason: "highRiskCyberActivity" }]);
  });

  it("-32001 Server overloaded on turn/start fails the run as overloaded; other refusals as errors with the method", () => {
    const f = fakeIo();
    const s = new CodexAppServerSession(req(), f.io);
    s.turn("go");
    s.onLine(JSON.stringify({ id: 1, result: {} }));
    s.onLine(JSON.stringify({ id: 2, result: { thread: { id: T } } }));
    s.onLine(JSON.stringify({ id: 3, error: { code: -32001, message: "Server overloaded; retry later." } }));
    expect(f.failures).toEqual([{ reason: "overloaded", message: expect.stringContaining("Server overloaded") }]);
    const g = fakeIo();
    const s2 = new CodexAppServerSession(req(), g.io);
    s2.onLine(JSON.stringify({ id: 1, result: {} }));
    s2.onLine(JSON.stringify({ id: 2, error: { code: -32600, message: "bad cwd" } }));
    expect(g.failures).toEqual([{ reason: "error", message: "codex app-server could not start a thread: bad cwd" }]);
  });

  it("an interrupt before turn/start answered is sent once the turn id is known; during the handshake the turn just ends", () => {
    const f = fakeIo();
    const s = new CodexAppServerSession(req(), f.io);
    s.turn("go");
    s.interrupt();
    expect(f.events).toEqual([expect.objectContaining({ type: "turn_end", interrupted: true })]);
    s.onLine(JSON.stringify({ id: 1, result: {} }));
    s.onLine(JSON.stringify({ id: 2, result: { thread: { id: T } } }));
    expect(f.written.map(shape)).toEqual(["rpc:initialize", "rpc:initialized", "rpc:thread/start"]);
    s.turn("again");
    s.interrupt();
    expect(f.written.map(shape).at(-1)).toBe("rpc:turn/start");
    s.onLine(JSON.stringify({ id: 3, result: { turn: { id: "U2" } } }));
    expect(JSON.parse(f.written.at(-1)!)).toEqual({ method: "turn/interrupt", id: 4, params: { threadId: T, turnId: "U2" } });
  });

  it("a failed turn without an earlier error notification still reports the error, typed", () => {
    const { s, events } = inTurn();
    const error = { message: "Codex ran out of room in the model's context window.", codexErrorInfo: "contextWindowExceeded", additionalDetails: null };
    s.onLine(JSON.stringify({ method: "turn/completed", params: { threadId: T, turn: { id: "U", status: "failed", error, durationMs: 5 } } }));
    expect(events.map((e) => e.type)).toEqual(["error", "turn_end"]);
    expect(events[0]).toMatchObject({ reason: "context_overflow", willRetry: false });
    expect(events[1]).toMatchObject({ isError: true, result: error.message, durationMs: 5 });
  });

  it("never throws on lines it cannot read", () => {
    const { s, events } = inTurn();
    for (const l of ["", "not json", "[1,2]", "{}", '{"id":99,"result":{}}', '{"method":"turn/completed"}']) expect(() => s.onLine(l)).not.toThrow();
    expect(events.some((e) => e.type === "turn_end")).toBe(true);
  });
});

describe("codexErrorInfo → ErrorReason", () => {
  it.each([
    ["contextWindowExceeded", "context_overflow", null],
    ["usageLimitExceeded", "billing", null],
    ["rateLimitExceeded", "rate_limit", null],
    ["serverOverloaded", "overloaded", null],
    ["unauthorized", "auth", null],
    ["badRequest", "invalid_request", null],
    ["internalServerError", "server_error", null],
    [{ httpConnectionFailed: { httpStatusCode: 401 } }, "auth", 401],
    [{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }, "rate_limit", 429],
    [{ responseStreamDisconnected: { httpStatusCode: 503 } }, "overloaded", 503],
    [{ responseStreamConnectionFailed: { httpStatusCode: null } }, null, null],
    ["other", null, null],
    ["sandboxError", null, null],
  ])("%j → %s", (info, reason, status) => {
    expect(codexErrorInfo(info)).toEqual({ reason, status });
  });

  it("without a typed reason the words decide, else plain error", () => {
    expect(turnErrorEvent({ message: "You've hit your usage limit", codexErrorInfo: "other" }, false).reason).toBe("billing");
    expect(turnErrorEvent({ message: "something odd", codexErrorInfo: null }, true)).toEqual({
      type: "error",
      reason: "error",
      message: "something odd",
      status: null,
      willRetry: true,
    });
  });
});
