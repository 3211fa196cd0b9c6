import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WorkerEvent } from "../../../src/agents/driver.ts";
import { opencodeErrorReason, parseOpencodeLine, parseOpencodeOutput } from "../../../src/agents/opencode/stream.ts";
import { eventsOf as of } from "../../helpers/events.ts";

const REAL = join(import.meta.dirname, "../../fixtures/real/opencode/_stdout");
const STREAMS = join(import.meta.dirname, "../../fixtures/streams/opencode");
/** What the runner sees: every line through parseLine, then the whole stdout through parseOutput at exit. */
const run = (path: string): WorkerEvent[] => {
  const whole = readFileSync(path, "utf8");
  const lines = whole.split("\n").filter((l) => l.trim());
  return [...lines.flatMap(parseOpencodeLine), ...parseOpencodeOutput(lines.join("\n"))];
};

const S1 = "ses_df6085013ffe1cAA3mVhJxkYin";

describe("opencode run --format json 1.18.33, the real recorded runs", () => {
  it("session S: init with the ses_ id, the text, per-step usage with the context, one turn_end at exit", () => {
    const evs = run(join(REAL, "opencode-run-s1.jsonl"));
    expect(evs[0]).toEqual({ type: "init", sessionId: S1, model: null, version: null });
    expect(of(evs, "text")).toEqual([{ type: "text", text: 'Fake reply #13: you said ""Hello, summarize this project"". Nothing else to do here.' }]);
    const usage = of(evs, "usage");
    expect(usage[0]).toEqual({ type: "usage", input: 3611, output: 33, cacheRead: 22080, cacheWrite: 0, contextTokens: 25691 });
    expect(usage.at(-1)).toEqual({ type: "usage", input: 3611, output: 33, cacheRead: 22080, cacheWrite: 0, contextTokens: null });
    expect(of(evs, "turn_end")).toEqual([
      {
        type: "turn_end",
        result: 'Fake reply #13: you said ""Hello, summarize this project"". Nothing else to do here.',
        isError: false,
        costUsd: 0,
        durationMs: null,
        numTurns: 1,
        denied: [],
      },
    ]);
    expect(evs.at(-1)?.type).toBe("turn_end");
  });

  it("the resumed turn with read: the tool with its file, two steps summed at exit", () => {
    const evs = run(join(REAL, "opencode-run-s1-resume.jsonl"));
    expect(new Set(of(evs, "init").map((e) => e.sessionId))).toEqual(new Set([S1]));
    expect(of(evs, "tool")).toEqual([{ type: "tool", name: "read", detail: "/tmp/asmfx/opencode/home/work/demo-app/README.md" }]);
    expect(of(evs, "usage").map((u) => u.contextTokens)).toEqual([3663 + 22080, 3671 + 22208, null]);
    expect(of(evs, "usage").at(-1)).toMatchObject({ input: 3663 + 3671, output: 36 + 26, cacheRead: 22080 + 22208 });
    expect(of(evs, "turn_end")).toEqual([
      expect.objectContaining({ result: "The README says this is a tiny fixture project. Done.", numTurns: 2, isError: false }),
    ]);
  });

  it("the BIGCONTEXT turn that compacted: the synthetic continue prompt is not the model's text", () => {
    const evs = run(join(REAL, "opencode-run-s1-big.jsonl"));
    expect(of(evs, "text")).toHaveLength(3);
    expect(evs).toContainEqual({ type: "other", kind: "text/synthetic" });
    expect(of(evs, "usage").map((u) => u.contextTokens)).toEqual([24688 + 151232, 23668 + 145088, 3614 + 22144, null]);
    expect(of(evs, "turn_end")).toHaveLength(1);
    expect(of(evs, "turn_end")[0]?.result).toMatch(/^Fake reply #16/);
  });

  it("the after-compaction turn", () => {
    expect(of(run(join(REAL, "opencode-run-s1-after.jsonl")), "usage")[0]).toMatchObject({ input: 3665, output: 32, cacheRead: 22144, contextTokens: 25809 });
  });

  it("the HTTP 500 run: the new session's id, a server_error with its status, an error turn_end", () => {
    const evs = run(join(REAL, "opencode-run-s2-error.jsonl"));
    expect(evs[0]).toEqual({ type: "init", sessionId: "ses_df6081143ffezQpLp1jEFXIPCm", model: null, version: null });
    expect(of(evs, "error")).toEqual([{ type: "error", reason: "server_error", message: "The server had an error", status: 500, willRetry: false }]);
    expect(of(evs, "usage")).toEqual([]);
    expect(evs.at(-1)).toEqual({
      type: "turn_end",
      result: "The server had an error",
      isError: true,
      costUsd: null,
      durationMs: null,
      numTurns: null,
      denied: [],
    });
  });
});

/** A recorded scenario that is there and complete (the recorder may be rewriting the folder). */
const has = (s: string) =>
  existsSync(join(STREAMS, `${s}.meta.json`)) && existsSync(join(STREAMS, `${s}.jsonl`)) && statSync(join(STREAMS, `${s}.jsonl`)).size > 0;

describe("opencode, the recorded runner scenarios (tests/fixtures/streams/opencode)", () => {
  it.skipIf(!has("success") || !has("resume"))("success (prompt on stdin) and resume keep one session", () => {
    const a = run(join(STREAMS, "success.jsonl"));
    const b = run(join(STREAMS, "resume.jsonl"));
    expect(of(a, "init")[0]?.sessionId).toMatch(/^ses_/);
    expect(of(b, "init")[0]?.sessionId).toBe(of(a, "init")[0]?.sessionId);
    // With the prompt on stdin the model sees it without the quotes a message argument gets.
    expect(of(a, "text")[0]?.text).toMatch(/you said "Hello, summarize this project"\./);
    for (const evs of [a, b]) expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
  });

  it.skipIf(!has("tool-rejected"))("tool-rejected: the bash call shows, the run ends on a tool-calls step, the refusal lands in denied", () => {
    const evs = run(join(STREAMS, "tool-rejected.jsonl"));
    expect(of(evs, "tool")).toEqual([{ type: "tool", name: "bash", detail: "echo tool-ran > tool-ran.txt && cat README.md" }]);
    expect(of(evs, "turn_end")).toEqual([expect.objectContaining({ isError: false, denied: ["bash"], result: "Let me run a command first." })]);
  });

  it.skipIf(!has("fail429"))("fail429: rate_limit with status 429", () => {
    expect(of(run(join(STREAMS, "fail429.jsonl")), "error")).toEqual([expect.objectContaining({ reason: "rate_limit", status: 429, willRetry: false })]);
  });

  it.skipIf(!has("auth401"))("auth401: auth with status 401", () => {
    expect(of(run(join(STREAMS, "auth401.jsonl")), "error")).toEqual([expect.objectContaining({ reason: "auth", status: 401 })]);
  });
});

describe("opencode, other shapes", () => {
  it("maps OpenCode's error names", () => {
    expect(opencodeErrorReason("ProviderAuthError", null, "x")).toBe("auth");
    expect(opencodeErrorReason("ContextOverflowError", null, "x")).toBe("context_overflow");
    expect(opencodeErrorReason("MessageAbortedError", null, "x")).toBe("aborted");
    expect(opencodeErrorReason("APIError", 502, "x")).toBe("server_error");
    expect(opencodeErrorReason("APIError", null, "overloaded")).toBe("overloaded");
    expect(opencodeErrorReason("UnknownError", null, "boom")).toBe("error");
  });

  it("newer builds' done{rejected} is read at exit, never a second turn_end", () => {
    const lines = [
      JSON.stringify({ type: "step_start", sessionID: "ses_abcdefghijklmnopqrstuvwxyz", part: {} }),
      JSON.stringify({
        type: "step_finish",
        sessionID: "ses_abcdefghijklmnopqrstuvwxyz",
        part: { reason: "stop", tokens: { input: 1, output: 2, reasoning: 3, cache: { read: 4, write: 5 } }, cost: 0.01 },
      }),
      JSON.stringify({ type: "done", reason: "idle", rejected: ["edit", "bash"] }),
    ];
    expect(lines.flatMap(parseOpencodeLine).map((e) => e.type)).toEqual(["init", "usage", "other"]);
    expect(parseOpencodeLine(lines[1] as string)[0]).toEqual({ type: "usage", input: 1, output: 5, cacheRead: 4, cacheWrite: 5, contextTokens: 10 });
    expect(parseOpencodeOutput(lines.join("\n")).at(-1)).toEqual({
      type: "turn_end",
      result: null,
      isError: false,
      costUsd: 0.01,
      durationMs: null,
      numTurns: 1,
      denied: ["edit", "bash"],
    });
  });

  it("never throws: garbage, empty, non-object and a 5 MB line; empty output gives nothing", () => {
    for (const l of ["}{", "", "true", "[{}]"]) expect(parseOpencodeLine(l)).toEqual([{ type: "other", kind: "unparsed" }]);
    const big = JSON.stringify({
      type: "tool_use",
      sessionID: "ses_x",
      part: { tool: "read", state: { status: "completed", input: { filePath: "/a" }, output: "z".repeat(5 * 1024 * 1024) } },
    });
    expect(parseOpencodeLine(big)).toEqual([{ type: "tool", name: "read", detail: "/a" }]);
    expect(parseOpencodeLine(big.slice(0, 1000))).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseOpencodeOutput("")).toEqual([]);
    expect(parseOpencodeOutput(`garbage\n\n${big}`).at(-1)).toMatchObject({ type: "turn_end", isError: false });
  });
});
