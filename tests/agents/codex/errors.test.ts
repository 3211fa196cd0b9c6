import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { codexErrorReason } from "../../../src/agents/codex/errors.ts";
import { codexLine, freshCodexState } from "../../../src/agents/codex/rollout.ts";
import type { ErrorReason } from "../../../src/agents/error-reason.ts";

const fixtures = join(import.meta.dirname, "../../fixtures");
const rollouts = join(fixtures, "real/codex/.codex/sessions");

/** The rollout line where Codex 0.x recorded the failed turn (the FAIL429 run of tests/fixtures/real/README.md). */
function failedTurnLine(): string {
  for (const e of readdirSync(rollouts, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(".jsonl")) continue;
    const hit = readFileSync(join(e.parentPath, e.name), "utf8")
      .split("\n")
      .find((l) => l.includes('"type":"task_complete"') && l.includes('"error":{'));
    if (hit) return hit;
  }
  throw new Error("no failed turn in the real Codex rollouts");
}

const USAGE_LIMIT =
  "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again at 3:28 PM.";
const CONTEXT = "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";

describe("codexErrorReason", () => {
  it.each<[string, string, ErrorReason | null]>([
    // `codex exec --json` stdout of the real FAIL429 run (tests/fixtures/real/codex/_stdout/codex-exec-s2-error.jsonl).
    ["exec retry notice", "Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests)", "rate_limit"],
    ["exec turn.failed", "exceeded retry limit, last status: 429 Too Many Requests", "rate_limit"],
    // A plan's usage limit is billing in the shared vocabulary (it was "quota" in Codex's own word list).
    ["usage limit (openai/codex#30599)", USAGE_LIMIT, "billing"],
    ["context window (openai/codex#24247)", CONTEXT, "context_overflow"],
    ["stream disconnected", "stream disconnected before completion: Internal server error", "server_error"],
    ["words we do not know", "Reconnecting... 1/1", null],
  ])("%s", (_name, text, reason) => {
    expect(codexErrorReason(text)).toBe(reason);
  });
});

describe("the rollout fold", () => {
  const fold = (line: string) => {
    const s = freshCodexState();
    codexLine(s, Buffer.from(line), 1, () => {});
    return s;
  };

  it("reads the real failed turn as rate_limit", () => {
    const s = fold(failedTurnLine());
    expect(s.lastErrorReason).toBe("rate_limit");
    expect(s.lastError?.text).toBe("exceeded retry limit, last status: 429 Too Many Requests");
  });

  it.each([
    [USAGE_LIMIT, "billing"],
    [CONTEXT, "context_overflow"],
  ])("the same line failing with %s reads as %s", (text, reason) => {
    const line = failedTurnLine().replace("exceeded retry limit, last status: 429 Too Many Requests", text.replaceAll('"', '\\"'));
    expect(fold(line).lastErrorReason).toBe(reason);
  });
});
