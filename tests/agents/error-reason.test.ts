import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import type { ClaudeState } from "../../src/agents/claude/transcript.ts";
import type { CodexState } from "../../src/agents/codex/rollout.ts";
import { classifyError, type ErrorReason, errorReasons, isErrorReason, reasonFromStatus } from "../../src/agents/error-reason.ts";
import type { PiTranscriptState } from "../../src/agents/openclaw/transcript.ts";
import type { OpencodeFigures } from "../../src/agents/opencode/messages.ts";
import { realFixtureTrees, realHome } from "../helpers/real-home.ts";
import type { SourceHarness } from "../helpers/source-harness.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
// biome-ignore lint/suspicious/noExplicitAny: the CLIs' stdout is arbitrary JSON, read field by field
type Json = Record<string, any>;
const jsonl = (path: string): Json[] =>
  readFileSync(join(fixtures, path), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Json);
const json = (path: string): Json => JSON.parse(readFileSync(join(fixtures, path), "utf8")) as Json;

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

describe("the ErrorReason vocabulary", () => {
  it("is a set of distinct words, and isErrorReason knows exactly those", () => {
    expect(new Set(errorReasons).size).toBe(errorReasons.length);
    for (const r of errorReasons) expect(isErrorReason(r)).toBe(true);
    // Words the three vocabularies used before they were one: none of them is a reason any more.
    for (const old of ["quota", "http_529", "server", "unknown", "", null, undefined, 429]) expect(isErrorReason(old)).toBe(false);
  });

  it("is the type of every fold's lastErrorReason (checked by tsc)", () => {
    expectTypeOf<ClaudeState["lastErrorReason"]>().toEqualTypeOf<ErrorReason | null>();
    expectTypeOf<CodexState["lastErrorReason"]>().toEqualTypeOf<ErrorReason | null>();
    expectTypeOf<OpencodeFigures["lastErrorReason"]>().toEqualTypeOf<ErrorReason | null>();
    expectTypeOf<PiTranscriptState["lastErrorReason"]>().toEqualTypeOf<ErrorReason | null>();
  });
});

describe("every reason a source writes from the real-CLI fixtures", () => {
  // What each tree's failed runs were (tests/fixtures/real/README.md, real-old/README-*.md): FAIL529 / FAIL429
  // prompts against the fake model server. Trees not named here recorded no error in their session files.
  const expected: Record<string, ErrorReason[]> = {
    "real/claude": ["overloaded"], // apiErrorStatus 529, error "server_error"
    "real/codex": ["rate_limit"], // task_complete.error "… last status: 429 Too Many Requests"
    "real/openclaw": ["server_error"], // errorMessage "500 The server had an error"
    "real/opencode": ["server_error"], // APIError statusCode 500
    "real-old/claude-2.0.76": ["overloaded"], // error "unknown", the 529 only in the "API Error: 529 …" text
    "real-old/openclaw-2026.7.1": ["rate_limit"], // errorMessage "429 Rate limit reached"
    "real-old/opencode-0.5.29": ["rate_limit"], // "Rate limit reached"
  };

  it.each(realFixtureTrees())("%s: each extra.lastErrorReason is null or a member, and they are the expected ones", async (tree) => {
    const { h, scanAll } = realHome(tree, harnesses);
    const results = await scanAll();
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    const sessions = h.sessions.list({ includeGone: true });
    expect(sessions.length).toBeGreaterThan(0);
    const seen: unknown[] = [];
    for (const s of sessions) {
      const reason = s.extra.lastErrorReason ?? null;
      if (reason === null) continue;
      expect(isErrorReason(reason), `${s.uid}: ${String(reason)}`).toBe(true);
      seen.push(reason);
    }
    expect(seen.sort()).toEqual(expected[tree] ?? []);
  });
});

describe("HTTP status → reason", () => {
  it.each<[number | null, ErrorReason | null]>([
    [429, "rate_limit"],
    [529, "overloaded"],
    [503, "overloaded"],
    [500, "server_error"],
    [502, "server_error"],
    [504, "timeout"],
    [408, "timeout"],
    [401, "auth"],
    [403, "auth"],
    [402, "billing"],
    [413, "context_overflow"],
    [400, "invalid_request"],
    [404, null],
    [200, null],
    [null, null],
  ])("%s → %s", (status, reason) => {
    expect(reasonFromStatus(status)).toBe(reason);
  });
});

describe("error text → reason (classifyError, used by Gemini, OpenCode, OpenClaw and Codex)", () => {
  const codexExec = jsonl("real/codex/_stdout/codex-exec-s2-error.jsonl");
  const codexExecOld = jsonl("real-old/codex-0.77.0/_stdout/codex-exec-s2-error.jsonl");
  const geminiResult = jsonl("real/gemini/_stdout/gemini-p-s2-error.jsonl").find((l) => l.type === "result")!;
  const geminiResultOld = jsonl("real-old/gemini-0.28.2/_stdout/gemini-p-s2-error.jsonl").find((l) => l.type === "result")!;
  const openclawAgent = json("real/openclaw/_stdout/openclaw-agent-s2-error.json");
  const opencodeEvent = jsonl("real/opencode/_stdout/opencode-run-s2-error.jsonl").find((l) => l.type === "error")!;
  const opencodeOld = readFileSync(join(fixtures, "real-old/opencode-0.5.29/_stdout/opencode-run-s2-error.txt"), "utf8")
    .split("\n")
    .find((l) => l.includes("Error"))!;

  it.each<[string, string, ErrorReason]>([
    // From the real-CLI fixtures.
    ["Codex exec, the retry notice", codexExec.find((l) => l.type === "error")!.message, "rate_limit"],
    ["Codex exec, turn.failed", codexExec.find((l) => l.type === "turn.failed")!.error.message, "rate_limit"],
    ["Codex 0.77 exec, turn.failed", codexExecOld.find((l) => l.type === "turn.failed")!.error.message, "rate_limit"],
    ["Gemini result error (quota words, but a 429: rate limit)", geminiResult.error.message, "rate_limit"],
    ["Gemini 0.28 result error", geminiResultOld.error.message, "rate_limit"],
    ["OpenClaw agent --json error", openclawAgent.error.message, "server_error"],
    [
      "OpenCode run error event",
      `${opencodeEvent.error.name}: ${opencodeEvent.error.data.message} (HTTP ${opencodeEvent.error.data.statusCode})`,
      "server_error",
    ],
    ["OpenCode 0.5 stderr", opencodeOld, "rate_limit"],
    ["OpenClaw transcript errorMessage", "500 The server had an error", "server_error"],
    ["Claude 2.0 result text", 'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "overloaded"],
    ["Claude 2.1 synthetic reply", "API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary.", "overloaded"],
    ["Claude 2.1 429 reply", "API Error: Request rejected (429) · Rate limited", "rate_limit"],
    // The providers' own words for what the fake server cannot produce (RUNNER.md §1, §6).
    [
      "Codex plan usage limit (openai/codex#30599)",
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again at 3:28 PM.",
      "billing",
    ],
    ["Claude usage limit", "Claude AI usage limit reached|1795438800", "billing"],
    ["Anthropic credit balance", "Your credit balance is too low to access the Anthropic API.", "billing"],
    [
      "Codex context overflow (openai/codex#24247)",
      "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
      "context_overflow",
    ],
    ["Anthropic prompt too long", "prompt is too long: 208310 tokens > 200000 maximum", "context_overflow"],
    ["OpenAI context length", "This model's maximum context length is 128000 tokens.", "context_overflow"],
    ["Claude bad key", "Invalid API key · Please run /login", "auth"],
    ["OpenCode aborted turn", "MessageAbortedError: The operation was aborted.", "aborted"],
    ["anything else", "something odd happened", "error"],
  ])("%s", (_name, text, reason) => {
    expect(classifyError(text)).toBe(reason);
  });
});
