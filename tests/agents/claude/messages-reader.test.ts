import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readClaudeMessages } from "../../../src/agents/claude/messages-reader.ts";

const dir = join(import.meta.dirname, "../../fixtures/real/claude/.claude/projects/-tmp-asmfx-claude-home-work-demo-app");

describe("readClaudeMessages (real Claude Code 2.1 transcript)", () => {
  it("reads prompts, text, the Read call and its result, /compact and the compaction, in order", () => {
    const r = readClaudeMessages(join(dir, "163916ff-775e-4222-8a81-8acc7c4cfe27.jsonl"));
    expect(r.entries.map((e) => e.kind)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "tool-call",
      "tool-result",
      "assistant",
      "compaction",
      "user",
      "user",
      "assistant",
    ]);
    expect(r.entries[4]).toMatchObject({ name: "Read", action: "read", files: ["/tmp/asmfx/claude/home/work/demo-app/README.md"] });
    expect(r.entries[5]).toMatchObject({ kind: "tool-result", isError: false, exitCode: null });
    expect(r).toMatchObject({ model: "claude-opus-5-5", cwd: "/tmp/asmfx/claude/home/work/demo-app", parseErrors: 0 });
    expect(r.contextTokens).toBeGreaterThan(0);
  });

  it("turns an API error message into an error entry, not assistant text", () => {
    const r = readClaudeMessages(join(dir, "525da2bd-d82b-4fc2-8e03-a00c7c58a818.jsonl"));
    expect(r.entries.filter((e) => e.kind === "error")).toHaveLength(1);
    expect(r.entries.filter((e) => e.kind === "assistant").map((e) => (e as { text: string }).text)).toEqual([
      'Fake reply #3: you said "BIGCONTEXT pretend this is a long conversation". Nothing else to do here.',
    ]);
  });
});
