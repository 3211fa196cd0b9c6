import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readOpenclawMessages } from "../../../src/agents/openclaw/messages-reader.ts";

const fx = join(import.meta.dirname, "../../fixtures");

describe("readOpenclawMessages (real OpenClaw stores)", () => {
  it("SQLite transcript_events and the older JSONL read the same way", () => {
    const db = readOpenclawMessages(join(fx, "real/openclaw/.openclaw/agents/main/agent/openclaw-agent.sqlite"), "5fbd7986-1dc1-4da9-b50b-b3302e336325");
    const jsonl = readOpenclawMessages(
      join(fx, "real-old/openclaw-2026.7.1/.openclaw/agents/main/sessions/33ba00ec-52c7-444b-b099-2efe2a239fdd.jsonl"),
      "33ba00ec",
    );
    for (const r of [db, jsonl]) {
      expect(r.entries.map((e) => e.kind)).toEqual([
        "user",
        "assistant",
        "user",
        "assistant",
        "tool-call",
        "tool-result",
        "assistant",
        "user",
        "assistant",
        "compaction",
        "user",
        "assistant",
      ]);
      expect(r.entries[4]).toMatchObject({ name: "read", action: "read" });
      expect(r).toMatchObject({ model: "fake-coder-1", parseErrors: 0 });
    }
  });

  it("an assistant turn that ended in an error is an error entry", () => {
    const r = readOpenclawMessages(
      join(fx, "real-old/openclaw-2026.7.1/.openclaw/agents/main/sessions/97e45528-4b60-4428-a228-60ae23c009ec.jsonl"),
      "97e45528",
    );
    expect(r.entries).toEqual([
      { kind: "user", text: "FAIL429 this request is rate limited", ts: expect.any(Number) },
      { kind: "error", text: "429 Rate limit reached", ts: expect.any(Number) },
    ]);
  });

  it("an unknown session id in the database reads as empty", () => {
    expect(readOpenclawMessages(join(fx, "real/openclaw/.openclaw/agents/main/agent/openclaw-agent.sqlite"), "nope").entries).toEqual([]);
  });
});
