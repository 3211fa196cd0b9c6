import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claudeErrorReason } from "../../../src/agents/claude/errors.ts";
import { claudeLine, freshClaudeState } from "../../../src/agents/claude/transcript.ts";
import type { ErrorReason } from "../../../src/agents/error-reason.ts";

const fixtures = join(import.meta.dirname, "../../fixtures");

/** The lines of every transcript under a real Claude Code projects folder that the CLI marked as API errors. */
function apiErrorLines(projects: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(fixtures, projects), { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(".jsonl")) continue;
    for (const l of readFileSync(join(e.parentPath, e.name), "utf8").split("\n")) if (l.includes('"isApiErrorMessage":true')) out.push(l);
  }
  return out;
}

describe("claudeErrorReason", () => {
  // (apiErrorStatus | api_error_status | error_status, the SDK's error word, the "API Error: …" text).
  it.each<[string, number | null, string | null, string | null, ErrorReason | null]>([
    // Lines the real CLIs wrote (tests/fixtures/real/claude, real-old/claude-2.0.76, the stream-json runs).
    [
      "2.1 transcript: 529 that the CLI calls server_error",
      529,
      "server_error",
      "API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary.",
      "overloaded",
    ],
    ["2.1 system/api_retry on 529", 529, "overloaded", null, "overloaded"],
    [
      "2.0 transcript: no status, the 529 in the text",
      null,
      "unknown",
      'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
      "overloaded",
    ],
    ["stream-json 429 result", 429, "rate_limit", "API Error: Request rejected (429) · Rate limited", "rate_limit"],
    ["system/api_retry on 429", 429, "rate_limit", null, "rate_limit"],
    // The SDK's other words (RUNNER.md §1.1), with and without a status.
    ["401 with authentication_failed", 401, "authentication_failed", "Invalid API key · Please run /login", "auth"],
    ["authentication_failed alone", null, "authentication_failed", null, "auth"],
    ["403", 403, null, null, "auth"],
    ["billing_error", null, "billing_error", "Your credit balance is too low to access the Anthropic API.", "billing"],
    ["server_error without status", null, "server_error", null, "server_error"],
    ["500", 500, "server_error", null, "server_error"],
    // A hard overflow is a 400 invalid_request whose text says so: a context overflow, not a bad request.
    [
      "400 prompt too long",
      400,
      "invalid_request",
      'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}',
      "context_overflow",
    ],
    ["400 other", 400, "invalid_request", "API Error: 400 messages: text content blocks must be non-empty", "invalid_request"],
    ["unknown word, no status, plain text", null, "unknown", "something odd", "error"],
    ["nothing at all", null, null, null, null],
  ])("%s", (_name, status, error, text, reason) => {
    expect(claudeErrorReason(status, error, text)).toBe(reason);
  });
});

describe("the transcript fold on the real CLIs' API error lines", () => {
  it.each([
    ["Claude Code 2.1.330", "real/claude/.claude/projects"],
    ["Claude Code 2.0.76", "real-old/claude-2.0.76/.claude/projects"],
  ])("%s: the 529 reads as overloaded", (_name, projects) => {
    const lines = apiErrorLines(projects);
    expect(lines).toHaveLength(1);
    const s = freshClaudeState("session");
    claudeLine(s, Buffer.from(lines[0]!), 1, () => {});
    expect(s.apiErrors).toBe(1);
    expect(s.lastErrorReason).toBe("overloaded");
  });
});
