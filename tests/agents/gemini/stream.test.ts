import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WorkerEvent } from "../../../src/agents/driver.ts";
import { geminiErrorReason, parseGeminiLine } from "../../../src/agents/gemini/stream.ts";
import { eventsOf as of } from "../../helpers/events.ts";

const REAL = join(import.meta.dirname, "../../fixtures/real/gemini/_stdout");
const parseFile = (name: string): WorkerEvent[] =>
  readFileSync(join(REAL, name), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap(parseGeminiLine);
const joined = (evs: WorkerEvent[]) =>
  of(evs, "text")
    .map((e) => e.text)
    .join("");

describe("parseGeminiLine on the real gemini -o stream-json 0.61.0 streams", () => {
  it("session A (model auto): init, the answer as deltas, usage over two models (no context figure), turn_end", () => {
    const evs = parseFile("gemini-p-s1.jsonl");
    expect(evs[0]).toEqual({ type: "init", sessionId: "fc3544d1-1d84-427d-85ea-4c362933f0ad", model: "auto", version: null });
    expect(evs[1]).toEqual({ type: "other", kind: "message/user" });
    expect(of(evs, "text").every((e) => e.delta === true)).toBe(true);
    expect(joined(evs)).toBe('Fake reply #8: you said "Hello, summarize this project". Nothing else to do here.');
    expect(of(evs, "usage")).toEqual([{ type: "usage", input: 6551, output: 58, cacheRead: 40000, cacheWrite: 0, contextTokens: null }]);
    expect(evs.at(-1)).toEqual({ type: "turn_end", result: null, isError: false, costUsd: null, durationMs: 60, numTurns: null, denied: [] });
  });

  it("the resumed turn with read_file: the tool with its file, the text around it", () => {
    const evs = parseFile("gemini-p-s1-resume.jsonl");
    expect(of(evs, "init")[0]?.sessionId).toBe("fc3544d1-1d84-427d-85ea-4c362933f0ad");
    expect(of(evs, "tool")).toEqual([{ type: "tool", name: "read_file", detail: "/tmp/asmfx/gemini/home/work/demo-app/README.md" }]);
    expect(evs.map((e) => e.type)).toContain("other"); // tool_result
    expect(joined(evs)).toBe("Let me look at the README first.The README says this is a tiny fixture project. Done.");
    expect(of(evs, "usage")[0]).toMatchObject({ input: 10508, cacheRead: 64000, output: 87, contextTokens: null });
  });

  it("session B on gemini-2.5-pro: one call, one model, so the usage is the context size", () => {
    const evs = parseFile("gemini-p-s2.jsonl");
    expect(evs[0]).toMatchObject({ type: "init", sessionId: "7b341d7f-6941-4e05-9db8-8d32c95b26ef", model: "gemini-2.5-pro" });
    expect(of(evs, "usage")).toEqual([{ type: "usage", input: 3663, output: 34, cacheRead: 22144, cacheWrite: 0, contextTokens: 25807 }]);
    expect(of(parseFile("gemini-p-s2-big.jsonl"), "usage")[0]?.contextTokens).toBe(175861);
    expect(of(parseFile("gemini-p-s2-after.jsonl"), "usage")[0]?.contextTokens).toBe(25911);
  });

  it("the 429 runs: a rate_limit error, no usage, an error turn_end", () => {
    for (const [file, id] of [
      ["gemini-p-s2-error.jsonl", "7b341d7f-6941-4e05-9db8-8d32c95b26ef"],
      ["gemini-p-s3-error.jsonl", "2a6d3c92-e935-4cb5-a3d5-c53389b8068c"],
    ] as const) {
      const evs = parseFile(file);
      expect(evs[0]).toMatchObject({ type: "init", sessionId: id });
      const [err] = of(evs, "error");
      expect(err).toMatchObject({ type: "error", reason: "rate_limit", willRetry: false });
      expect(err?.message).toMatch(/^\[API Error: Resource has been exhausted/);
      expect(of(evs, "usage")).toEqual([]);
      expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: true, durationMs: 0 });
      expect(of(evs, "text")).toEqual([]);
    }
  });
});

describe("parseGeminiLine on other shapes (RUNNER §1.3)", () => {
  it("a whole (non-delta) message, warnings and errors", () => {
    expect(parseGeminiLine(JSON.stringify({ type: "message", role: "assistant", content: "Hi" }))).toEqual([{ type: "text", text: "Hi" }]);
    expect(parseGeminiLine(JSON.stringify({ type: "error", severity: "warning", message: "Loop detected" }))[0]).toMatchObject({
      type: "error",
      willRetry: true,
    });
    expect(parseGeminiLine(JSON.stringify({ type: "error", severity: "error", message: "Maximum session turns exceeded" }))[0]).toMatchObject({
      type: "error",
      reason: "error",
      willRetry: false,
    });
    expect(parseGeminiLine(JSON.stringify({ type: "tool_result", tool_id: "x", status: "error" }))).toEqual([{ type: "other", kind: "tool_result" }]);
  });

  it("maps the CLI's error types", () => {
    expect(geminiErrorReason("FatalAuthenticationError", "x")).toBe("auth");
    expect(geminiErrorReason("TerminalQuotaError", "You have exhausted your daily quota")).toBe("billing");
    expect(geminiErrorReason("unknown", "got status: 503 Service Unavailable")).toBe("overloaded");
    expect(geminiErrorReason("FatalCancellationError", "x")).toBe("aborted");
  });

  it("never throws: garbage, empty, non-object and a 5 MB line", () => {
    for (const l of ["{oops", "", "42", "[]"]) expect(parseGeminiLine(l)).toEqual([{ type: "other", kind: "unparsed" }]);
    const big = JSON.stringify({ type: "message", role: "assistant", content: "y".repeat(5 * 1024 * 1024), delta: true });
    expect(parseGeminiLine(big)[0]).toMatchObject({ type: "text", delta: true });
    expect(parseGeminiLine(big.slice(0, 4 * 1024 * 1024))).toEqual([{ type: "other", kind: "unparsed" }]);
  });
});

/** The recorded runner scenarios (tests/fixtures/streams/gemini, gemini 0.61.0). */
const STREAMS = join(import.meta.dirname, "../../fixtures/streams/gemini");
/** A recorded scenario that is there and complete (the recorder may be rewriting the folder). */
const has = (name: string) =>
  existsSync(join(STREAMS, `${name}.meta.json`)) && existsSync(join(STREAMS, `${name}.jsonl`)) && statSync(join(STREAMS, `${name}.jsonl`)).size > 0;
const stream = (name: string): WorkerEvent[] =>
  readFileSync(join(STREAMS, `${name}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap(parseGeminiLine);

describe("parseGeminiLine on the recorded runner scenarios", () => {
  it.skipIf(!has("success") || !has("resume"))("success and resume: the same session id, text deltas, a clean turn_end", () => {
    const a = stream("success");
    const b = stream("resume");
    expect(a[0]).toMatchObject({ type: "init", model: "auto" });
    expect(of(b, "init")[0]?.sessionId).toBe(of(a, "init")[0]?.sessionId);
    expect(joined(a)).toMatch(/you said "Hello, summarize this project"/);
    for (const evs of [a, b]) expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
  });

  it.skipIf(!has("auth401"))("auth401: an auth error with status 401 and an error turn_end", () => {
    const evs = stream("auth401");
    expect(of(evs, "error")).toEqual([expect.objectContaining({ reason: "auth", status: 401, willRetry: false })]);
    expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: true });
  });

  it.skipIf(!has("fail429"))("fail429: rate_limit", () => {
    expect(of(stream("fail429"), "error")).toEqual([expect.objectContaining({ reason: "rate_limit", willRetry: false })]);
  });

  it.skipIf(!has("tool-denied"))("tool-denied (approval mode default, headless): the model answered without a tool call", () => {
    const evs = stream("tool-denied");
    expect(of(evs, "tool")).toEqual([]);
    expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
  });

  it.skipIf(!has("tool") || !has("tool-unregistered"))(
    "tool and tool-unregistered: each tool call once with its argument; the unknown tool does not fail the turn",
    () => {
      expect(of(stream("tool"), "tool")).toEqual([expect.objectContaining({ name: "read_file" })]);
      const evs = stream("tool-unregistered");
      expect(of(evs, "tool")).toEqual([{ type: "tool", name: "run_shell_command", detail: "echo tool-ran > tool-ran.txt && cat README.md" }]);
      expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
    },
  );

  it.skipIf(!has("sigint"))("sigint: the stream stops mid-answer, with no turn_end", () => {
    const evs = stream("sigint");
    expect(evs[0]).toMatchObject({ type: "init" });
    expect(of(evs, "turn_end")).toEqual([]);
  });
});
