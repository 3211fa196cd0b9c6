import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chatFileMinute, geminiChatFiles, geminiDirFor, resumableChatText } from "../../../src/agents/gemini/chat-files.ts";

/**
 * Gemini's chat files as a session load reads them. The fixtures are real Gemini CLI 0.61.0 files
 * (tests/fixtures/generate/gemini-acp-load.sh): a session after its first turn (`original`), the same file after a
 * session/load in the minute it was opened (`overwritten`: Gemini's load appended a header and a `$set` holding only
 * the context), a session loaded in a later minute (`resumed`) and the file that load opened for itself
 * (`load-opened`). Gemini resumes the first and third only; the verdicts here must be Gemini's.
 */

const fixtures = new URL("../../fixtures/streams/gemini/acp-chats/", import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), "utf8");
const sessionOf = (name: string) => (JSON.parse(fixture(name).split("\n")[0] as string) as { sessionId: string }).sessionId;

describe("resumableChatText, as Gemini 0.61.0 decides", () => {
  it("the real files: a conversation is resumable; overwritten by a same-minute load, or only the load's own, it is not", () => {
    expect(resumableChatText(fixture("original.jsonl"))).toBe(true);
    expect(resumableChatText(fixture("overwritten.jsonl"))).toBe(false);
    expect(resumableChatText(fixture("resumed.jsonl"))).toBe(true);
    expect(resumableChatText(fixture("load-opened.jsonl"))).toBe(false);
    expect(sessionOf("overwritten.jsonl")).toBe(sessionOf("original.jsonl"));
    expect(sessionOf("load-opened.jsonl")).toBe(sessionOf("resumed.jsonl"));
  });

  it("rewinds, slash commands, context, tool calls, and files without a header", () => {
    const header = JSON.stringify({ sessionId: "s", projectHash: "h" });
    const user = (id: string, text: string) => JSON.stringify({ id, type: "user", content: [{ text }] });
    expect(resumableChatText([header, user("1", "hello")].join("\n"))).toBe(true);
    expect(resumableChatText([header, user("1", "hello"), JSON.stringify({ $rewindTo: "1" })].join("\n"))).toBe(false);
    expect(resumableChatText([header, user("1", "/help"), user("2", "<session_context>x")].join("\n"))).toBe(false);
    expect(resumableChatText([header, JSON.stringify({ id: "g", type: "gemini", content: "", toolCalls: [{ id: "t" }] })].join("\n"))).toBe(true);
    expect(resumableChatText([header, JSON.stringify({ id: "u", type: "user", content: [{ functionResponse: { name: "x" } }] })].join("\n"))).toBe(true);
    expect(resumableChatText([header, user("1", "hello"), JSON.stringify({ $set: { messages: [] } }), "not json"].join("\n"))).toBe(false);
    expect(resumableChatText(JSON.stringify({ sessionId: "s", messages: [] }))).toBe(true); // legacy: Gemini's fallback decides
  });
});

describe("chatFileMinute and geminiDirFor", () => {
  it("names the UTC minute as Gemini's file names do", () => {
    expect(chatFileMinute(Date.UTC(2026, 11, 5, 5, 49, 59, 999))).toBe("2026-12-05T05-49");
    expect(chatFileMinute(Date.UTC(2026, 11, 5, 5, 50))).toBe("2026-12-05T05-50");
  });

  it("GEMINI_CLI_HOME before HOME, the worker's environment before asm's", () => {
    expect(geminiDirFor({ HOME: "/h", GEMINI_CLI_HOME: "/g" })).toBe("/g/.gemini");
    expect(geminiDirFor({ HOME: "/h" })).toBe("/h/.gemini");
    expect(geminiDirFor({})).toBe(join(process.env.GEMINI_CLI_HOME || process.env.HOME || "", ".gemini"));
  });
});

describe("geminiChatFiles", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "asm-gemini-chats-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lists the session's files in every project by its full id, with their minute and verdict; removes one", () => {
    const id = sessionOf("resumed.jsonl");
    const a = join(dir, "tmp/demo-app/chats");
    const b = join(dir, "tmp/other/chats");
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    copyFileSync(new URL("resumed.jsonl", fixtures), join(a, `session-2026-12-05T05-54-${id.slice(0, 8)}.jsonl`));
    copyFileSync(new URL("load-opened.jsonl", fixtures), join(a, `session-2026-12-05T05-55-${id.slice(0, 8)}.jsonl`));
    // Another session whose id shares the 8 characters, and files that are not chats.
    const other = `${id.slice(0, 8)}-0000-4000-8000-000000000000`;
    writeFileSync(join(b, `session-2026-12-05T05-56-${id.slice(0, 8)}.jsonl`), `${JSON.stringify({ sessionId: other, projectHash: "h" })}\n`);
    writeFileSync(join(a, `logs-${id.slice(0, 8)}.jsonl`), "{}\n");

    const files = geminiChatFiles(join(dir)).list(id);
    expect(files.map((f) => [f.minute, f.resumable]).sort()).toEqual([
      ["2026-12-05T05-54", true],
      ["2026-12-05T05-55", false],
    ]);
    const stray = files.find((f) => !f.resumable)!;
    expect(geminiChatFiles(dir).remove(stray.path)).toBe(true);
    expect(existsSync(stray.path)).toBe(false);
    expect(geminiChatFiles(dir).remove(stray.path)).toBe(false);
    expect(geminiChatFiles(join(dir, "missing")).list(id)).toEqual([]);
  });
});
