import { readClaudeMessages } from "./claude/messages-reader.ts";
import { readCodexMessages } from "./codex/messages-reader.ts";
import { readGeminiMessages } from "./gemini/messages-reader.ts";
import { readOpenclawMessages } from "./openclaw/messages-reader.ts";
import { readOpencodeMessages } from "./opencode/messages-reader.ts";
import type { SessionRecord } from "./session.ts";
import { emptyRead, type TranscriptRead } from "./transcript-entry.ts";

/**
 * A session's whole transcript as neutral entries, by platform, from where the scan found it (`path`: the
 * transcript file, or the agent's database for OpenCode 1.2+ and OpenClaw's SQLite store). The session's
 * project stands in for the cwd when the transcript names none (Gemini).
 */
export function readSessionMessages(s: Pick<SessionRecord, "platform" | "sessionId" | "path" | "project">): TranscriptRead {
  if (!s.path) return emptyRead();
  let read: TranscriptRead;
  switch (s.platform) {
    case "claude":
      read = readClaudeMessages(s.path);
      break;
    case "codex":
      read = readCodexMessages(s.path);
      break;
    case "gemini":
      read = readGeminiMessages(s.path);
      break;
    case "opencode":
      read = readOpencodeMessages(s.path, s.sessionId);
      break;
    case "openclaw":
      read = readOpenclawMessages(s.path, s.sessionId);
      break;
  }
  if (!read.cwd && s.project?.startsWith("/")) read.cwd = s.project;
  return read;
}
