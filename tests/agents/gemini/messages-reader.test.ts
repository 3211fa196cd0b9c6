import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readGeminiMessages } from "../../../src/agents/gemini/messages-reader.ts";

const fx = join(import.meta.dirname, "../../fixtures");

describe("readGeminiMessages (real Gemini CLI chats)", () => {
  it("JSONL: the setup context and function responses are not user messages; read_file with its result", () => {
    const r = readGeminiMessages(join(fx, "real/gemini/.gemini/tmp/demo-app/chats/session-2026-11-23T19-52-fc3544d1.jsonl"));
    expect(r.entries.map((e) => e.kind)).toEqual(["user", "assistant", "user", "assistant", "tool-call", "tool-result", "assistant"]);
    expect(r.entries[4]).toMatchObject({ name: "read_file", action: "read", files: ["/tmp/asmfx/gemini/home/work/demo-app/README.md"] });
    expect(r.model).toBe("gemini-3.8-flash");
  });

  it("JSONL: a checkpoint that re-lists messages keeps their model and tokens", () => {
    const r = readGeminiMessages(join(fx, "real/gemini/.gemini/tmp/demo-app/chats/session-2026-11-23T19-52-7b341d7f.jsonl"));
    expect(r.model).toBe("gemini-2.5-pro");
    expect(r.contextTokens).toBeGreaterThan(0);
  });

  it("JSON (0.28): the whole document", () => {
    const r = readGeminiMessages(
      join(
        fx,
        "real-old/gemini-0.28.2/.gemini/tmp/463b92afb0eeb90395570a3a0947d4c14c2e2eb9f6129b3d18cb6b60c8b3bb27/chats/session-2026-11-23T22-05-f515f047.json",
      ),
    );
    expect(r.entries.filter((e) => e.kind === "user").map((e) => (e as { text: string }).text)).toEqual([
      "Hello, summarize this project",
      "USE_TOOL: read the README and tell me what it says",
    ]);
    expect(r.parseErrors).toBe(0);
  });
});
