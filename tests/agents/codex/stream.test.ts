import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { codexDriver } from "../../../src/agents/codex/driver.ts";
import { parseCodexLine, statusInText } from "../../../src/agents/codex/stream.ts";
import type { WorkerEvent } from "../../../src/agents/driver.ts";
import { eventsOf as of } from "../../helpers/events.ts";

const REAL = join(import.meta.dirname, "../../fixtures/real/codex/_stdout");
const parseFile = (name: string): WorkerEvent[] =>
  readFileSync(join(REAL, name), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap(parseCodexLine);

const THREAD = "01a209f7-4642-7fd2-9938-e1c95f5d15ec";

describe("parseCodexLine on the real codex exec --json 0.169.0 streams", () => {
  it("a new thread: init with the thread id, the answer, usage with cached input apart, turn_end", () => {
    const evs = parseFile("codex-exec-s1.jsonl");
    expect(evs[0]).toEqual({ type: "init", sessionId: THREAD, model: null, version: null });
    expect(of(evs, "text")).toEqual([{ type: "text", text: 'Fake reply #4: you said "Hello, summarize this project". Nothing else to do here.' }]);
    expect(of(evs, "usage")).toEqual([{ type: "usage", input: 27531 - 23616, output: 41, cacheRead: 23616, cacheWrite: 0, contextTokens: null }]);
    expect(evs.at(-1)).toEqual({ type: "turn_end", result: null, isError: false, costUsd: null, durationMs: null, numTurns: null, denied: [] });
    expect(of(evs, "error")).toEqual([]);
  });

  it("a resumed turn with a shell command: the same thread id, the tool once with its command, both texts", () => {
    const evs = parseFile("codex-exec-s1-resume.jsonl");
    expect(of(evs, "init").map((e) => e.sessionId)).toEqual([THREAD]);
    expect(of(evs, "tool")).toEqual([{ type: "tool", name: "shell", detail: "/bin/bash -lc 'cat README.md'" }]);
    expect(of(evs, "text").map((e) => e.text)).toEqual(["Let me look at the README first.", "The README says this is a tiny fixture project. Done."]);
    expect(of(evs, "usage")[0]).toMatchObject({ input: 83151 - 71424, cacheRead: 71424, output: 109 });
    expect(of(evs, "turn_end")).toHaveLength(1);
  });

  it("the big-context and after-compaction turns report their usage", () => {
    expect(of(parseFile("codex-exec-s1-big.jsonl"), "usage")[0]).toMatchObject({ input: 261229 - 224512, cacheRead: 224512, output: 154 });
    expect(of(parseFile("codex-exec-s1-after.jsonl"), "usage")[0]).toMatchObject({ input: 315165 - 270784, cacheRead: 270784, output: 241 });
  });

  it("the 429 run: a retry notice (willRetry), then the rate_limit failure and an error turn_end", () => {
    const evs = parseFile("codex-exec-s2-error.jsonl");
    expect(evs[0]).toMatchObject({ type: "init", sessionId: "01a209f7-4b47-7c43-b427-e8663f88e969" });
    const errors = of(evs, "error");
    expect(errors).toHaveLength(3);
    expect(errors[0]).toEqual({
      type: "error",
      reason: "rate_limit",
      message: "Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests)",
      status: 429,
      willRetry: true,
    });
    for (const e of errors.slice(1)) expect(e).toMatchObject({ reason: "rate_limit", status: 429, willRetry: false });
    expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: true, result: "exceeded retry limit, last status: 429 Too Many Requests" });
    expect(of(evs, "usage")).toEqual([]);
  });
});

describe("parseCodexLine on other shapes (FORMATS §4)", () => {
  it("file changes, MCP calls and web searches are tools; reasoning and unknown types are other", () => {
    expect(
      parseCodexLine(
        JSON.stringify({
          type: "item.completed",
          item: {
            id: "i",
            type: "file_change",
            changes: [
              { path: "src/a.ts", kind: "update" },
              { path: "b.md", kind: "add" },
            ],
            status: "completed",
          },
        }),
      ),
    ).toEqual([{ type: "tool", name: "file_change", detail: "update src/a.ts, add b.md" }]);
    expect(
      parseCodexLine(JSON.stringify({ type: "item.completed", item: { type: "mcp_tool_call", server: "gh", tool: "search", arguments: { query: "x" } } })),
    ).toEqual([{ type: "tool", name: "gh/search", detail: "x" }]);
    expect(parseCodexLine(JSON.stringify({ type: "item.completed", item: { type: "web_search", query: "vitest" } }))).toEqual([
      { type: "tool", name: "web_search", detail: "vitest" },
    ]);
    expect(parseCodexLine(JSON.stringify({ type: "item.started", item: { type: "command_execution", command: "ls" } }))).toEqual([
      { type: "other", kind: "item.started/command_execution" },
    ]);
    expect(parseCodexLine(JSON.stringify({ type: "item.completed", item: { type: "reasoning", text: "hm" } }))).toEqual([
      { type: "other", kind: "item.completed/reasoning" },
    ]);
    expect(parseCodexLine(JSON.stringify({ type: "turn.started" }))).toEqual([{ type: "other", kind: "turn.started" }]);
  });

  it("classifies the context and usage-limit failures", () => {
    const ctx = parseCodexLine(
      JSON.stringify({
        type: "turn.failed",
        error: { message: "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying." },
      }),
    );
    expect(ctx[0]).toMatchObject({ type: "error", reason: "context_overflow", willRetry: false });
    expect(parseCodexLine(JSON.stringify({ type: "error", message: "You've hit your usage limit. Try again at 3pm." }))[0]).toMatchObject({
      reason: "billing",
    });
    expect(parseCodexLine(JSON.stringify({ type: "error", message: "stream disconnected" }))[0]).toMatchObject({ reason: "error", status: null });
  });

  it("reads the HTTP status an error text names", () => {
    expect(statusInText("exceeded retry limit, last status: 429 Too Many Requests")).toBe(429);
    expect(statusInText("unexpected status 401 Unauthorized: ...")).toBe(401);
    expect(statusInText("HTTP 503")).toBe(503);
    expect(statusInText("Reconnecting... 1/2")).toBeNull();
  });

  it("never throws: garbage, empty, non-object and a 5 MB line", () => {
    expect(parseCodexLine("not json {")).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseCodexLine("")).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseCodexLine("[1,2]")).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseCodexLine("null")).toEqual([{ type: "other", kind: "unparsed" }]);
    const big = JSON.stringify({ type: "item.completed", item: { type: "agent_message", text: "x".repeat(5 * 1024 * 1024) } });
    const evs = parseCodexLine(big);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ type: "text" });
    expect(parseCodexLine(big.slice(0, -3))).toEqual([{ type: "other", kind: "unparsed" }]);
  });
});

/** The recorded runner scenarios (tests/fixtures/streams/codex, codex 0.169.0, prompt on stdin via `-`). */
const STREAMS = join(import.meta.dirname, "../../fixtures/streams/codex");
const stream = (name: string): WorkerEvent[] =>
  readFileSync(join(STREAMS, `${name}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap(parseCodexLine);
const meta = (name: string) => JSON.parse(readFileSync(join(STREAMS, `${name}.meta.json`), "utf8")) as { argv: string[]; exitCode: number | null };

/** A recorded scenario that is there and complete (the recorder may be rewriting the folder). */
const has = (...names: string[]) =>
  names.every((s) => existsSync(join(STREAMS, `${s}.meta.json`)) && existsSync(join(STREAMS, `${s}.jsonl`)) && statSync(join(STREAMS, `${s}.jsonl`)).size > 0);

describe("parseCodexLine on the recorded runner scenarios", () => {
  it.skipIf(!has("success", "resume"))("success and resume: init first, one text, usage, a clean turn_end; resume ran with the driver's argv order", () => {
    for (const s of ["success", "resume"]) {
      const evs = stream(s);
      expect(evs[0]).toMatchObject({ type: "init" });
      expect(codexDriver.sessionIdPattern.test((evs[0] as { sessionId: string }).sessionId)).toBe(true);
      expect(of(evs, "text")).toHaveLength(1);
      expect(of(evs, "usage")[0]?.output).toBeGreaterThan(0);
      expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
    }
    const argv = meta("resume").argv;
    const id = (stream("resume")[0] as { sessionId: string }).sessionId;
    expect(argv.slice(1)).toEqual(codexDriver.runSpec({ resumeSessionId: id, model: null, cwd: "/w", permissionMode: null }).args);
  });

  it.skipIf(!has("tool"))("tool: the shell command once", () => {
    expect(of(stream("tool"), "tool")).toEqual([{ type: "tool", name: "shell", detail: "/bin/bash -lc 'cat README.md'" }]);
  });

  it.skipIf(!has("fail429", "auth401"))("fail429 and auth401: classified errors with their status, the retry notice first", () => {
    const rl = of(stream("fail429"), "error");
    expect(rl.map((e) => [e.reason, e.status, e.willRetry])).toEqual([
      ["rate_limit", 429, true],
      ["rate_limit", 429, false],
      ["rate_limit", 429, false],
    ]);
    const auth = stream("auth401");
    expect(of(auth, "error").map((e) => [e.reason, e.status, e.willRetry])).toEqual([
      ["auth", 401, true],
      ["auth", 401, false],
      ["auth", 401, false],
    ]);
    expect(auth.at(-1)).toMatchObject({ type: "turn_end", isError: true });
    expect(meta("auth401").exitCode).toBe(1);
  });

  it.skipIf(!has("sigint"))("sigint: the stream just stops (exit 1), no turn_end and no error", () => {
    const evs = stream("sigint");
    expect(evs[0]).toMatchObject({ type: "init" });
    expect(of(evs, "turn_end")).toEqual([]);
    expect(of(evs, "error")).toEqual([]);
  });
});
