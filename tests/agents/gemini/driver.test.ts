import { describe, expect, it } from "vitest";
import { type RunRequest, UnsafeArgumentError } from "../../../src/agents/driver.ts";
import { type GeminiChatFile, type GeminiChatFiles, LOAD_MINUTE_MARGIN_MS } from "../../../src/agents/gemini/chat-files.ts";
import { geminiDriver, geminiDriverWith } from "../../../src/agents/gemini/driver.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });
const ID = "7b341d7f-6941-4e05-9db8-8d32c95b26ef";

describe("geminiDriver.runSpec", () => {
  it("a new run: headless stream-json, prompt on stdin with an empty -p", () => {
    expect(geminiDriver.runSpec(req())).toEqual({ args: ["--output-format", "stream-json", "--skip-trust", "-p", ""], prompt: "stdin", env: { PWD: "/w" } });
  });

  it("a new run with a pre-assigned id, model and approval mode", () => {
    expect(geminiDriver.runSpec(req({ newSessionId: ID, model: "gemini-2.5-pro", permissionMode: "auto_edit" })).args).toEqual([
      "--output-format",
      "stream-json",
      "--skip-trust",
      "-p",
      "",
      "--model=gemini-2.5-pro",
      "--approval-mode=auto_edit",
      `--session-id=${ID}`,
    ]);
  });

  it("a resume uses --resume and ignores a new id", () => {
    const args = geminiDriver.runSpec(req({ resumeSessionId: ID, newSessionId: "11111111-2222-4333-8444-555555555555" })).args;
    expect(args).toContain(`--resume=${ID}`);
    expect(args.some((a) => a.startsWith("--session-id"))).toBe(false);
  });

  it("never places anything but a validated id, model or mode in argv", () => {
    for (const bad of ["latest", "5", "-x", "--yolo", `${ID} x`])
      expect(() => geminiDriver.runSpec(req({ resumeSessionId: bad }))).toThrow(UnsafeArgumentError);
    expect(() => geminiDriver.runSpec(req({ newSessionId: "-1" }))).toThrow(UnsafeArgumentError);
    for (const bad of ["-m", "--yolo", "a b"]) expect(() => geminiDriver.runSpec(req({ model: bad }))).toThrow(UnsafeArgumentError);
    expect(() => geminiDriver.runSpec(req({ permissionMode: "bypassPermissions" }))).toThrow(/Gemini takes default, auto_edit, yolo, plan/);
  });

  it("is one process per turn that never asks", () => {
    expect(geminiDriver.multiTurn).toBe(false);
    expect(geminiDriver.canAsk).toBe(false);
  });
});

describe("geminiDriverWith: Gemini 0.61.0's resume faults, before the headless CLI starts", () => {
  /** Chat files held in memory: what `list` shows and what `remove` took. */
  const files = (list: GeminiChatFile[]) => {
    const removed: string[] = [];
    const chats: GeminiChatFiles = {
      list: (id) => (id === ID ? list.filter((f) => !removed.includes(f.path)) : []),
      remove: (path) => {
        removed.push(path);
        return true;
      },
    };
    return { chats, removed };
  };
  const at = Date.UTC(2026, 11, 5, 6, 30, 20);
  const conversation: GeminiChatFile = { path: "/h/.gemini/tmp/p/chats/session-2026-12-05T06-30-7b341d7f.jsonl", minute: "2026-12-05T06-30", resumable: true };
  const stray: GeminiChatFile = { path: "/h/.gemini/tmp/p/chats/session-2026-12-05T06-10-7b341d7f.jsonl", minute: "2026-12-05T06-10", resumable: false };

  it("a resume in the minute the conversation's file was opened waits for the next minute; other runs start now", () => {
    const d = geminiDriverWith(files([conversation]).chats);
    expect(d.startDelayMs!(req({ resumeSessionId: ID }), at)).toBe(40_000 + LOAD_MINUTE_MARGIN_MS);
    expect(d.startDelayMs!(req({ resumeSessionId: ID }), at + 60_000)).toBe(0);
    expect(d.startDelayMs!(req(), at)).toBe(0);
  });

  it("removes the session's files that hold no conversation just before the start, only while one that does remains", () => {
    const kept = files([conversation, stray]);
    expect(geminiDriverWith(kept.chats).beforeStart!(req({ resumeSessionId: ID }))).toEqual([{ type: "other", kind: "empty-chat-files-removed:1" }]);
    expect(kept.removed).toEqual([stray.path]);
    const alone = files([stray]);
    expect(geminiDriverWith(alone.chats).beforeStart!(req({ resumeSessionId: ID }))).toEqual([]);
    expect(alone.removed).toEqual([]);
    expect(geminiDriverWith(kept.chats).beforeStart!(req())).toEqual([]);
  });
});
