import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** One chat file of a Gemini session, as a resume over ACP needs to know it. */
export interface GeminiChatFile {
  path: string;
  /** The UTC minute in its name (`2026-12-05T05-49`): Gemini names a new chat file after the minute it opens it. */
  minute: string;
  /** Whether Gemini would resume it (its `hasResumableContent`); files too big to read count as resumable. */
  resumable: boolean;
}

/** The chat files of a Gemini home, read and (only strays) removed by a session load. */
export interface GeminiChatFiles {
  /** Every top-level chat file, in any project of this Gemini home, whose first line names `sessionId`. */
  list(sessionId: string): GeminiChatFile[];
  /** Deletes one file; false when it could not (gone already, no permission). */
  remove(path: string): boolean;
}

/** A file bigger than this is not read whole: it is a conversation, never a stray (strays are a few KB). */
const READ_LIMIT = 4 * 1024 * 1024;
/** `session-<YYYY-MM-DDTHH-MM>-<first 8 of the id>.jsonl` (`.json` before 0.40), as ChatRecordingService names them. */
const CHAT_FILE = /^session-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2})-([A-Za-z0-9_-]{8})\.jsonl?$/;

/**
 * The `.gemini` folder a Gemini CLI started with this environment uses: `$GEMINI_CLI_HOME` or `$HOME` (its own
 * `homedir()` in 0.61.0), the worker's environment over asm's own.
 */
export function geminiDirFor(env: Readonly<Record<string, string | undefined>>): string {
  const home = env.GEMINI_CLI_HOME || env.HOME || process.env.GEMINI_CLI_HOME || process.env.HOME || homedir();
  return join(home, ".gemini");
}

/** How far into the next minute a resume that had to wait for it goes (the CLI and asm read the same clock). */
export const LOAD_MINUTE_MARGIN_MS = 250;

/**
 * How long to hold a resume of `sessionId` (ms): until the next minute when one of its chat files that holds the
 * conversation is named after this minute (Gemini 0.61.0's load would write its new recording into that very file and
 * hide the history), else 0.
 */
export function resumeWaitMs(files: GeminiChatFiles, sessionId: string, now: number): number {
  const minute = chatFileMinute(now);
  if (!files.list(sessionId).some((f) => f.resumable && f.minute === minute)) return 0;
  return 60_000 - (now % 60_000) + LOAD_MINUTE_MARGIN_MS;
}

/**
 * Deletes the session's chat files Gemini cannot resume (the one a load opens for itself, any an older load or
 * `gemini --resume` left), which Gemini's next start would delete together with the conversation; only while a file
 * that holds the conversation stays. Returns how many went.
 */
export function removeStrayChatFiles(files: GeminiChatFiles, sessionId: string): number {
  const all = files.list(sessionId);
  if (!all.some((f) => f.resumable)) return 0;
  let removed = 0;
  for (const f of all) if (!f.resumable && f.path.endsWith(".jsonl") && files.remove(f.path)) removed++;
  return removed;
}

/** The minute a chat file Gemini opens at `ms` is named after (`toISOString().slice(0, 16)` with dashes). */
export function chatFileMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/:/g, "-");
}

/**
 * Whether Gemini 0.61.0 would resume a JSONL chat file with this text: `loadConversationRecord` in metadata mode
 * (records in order: a message adds itself, `$rewindTo` cuts the history there, a `$set` with `messages` replaces
 * it, a header with `messages` adds them), then `hasResumableConversationContent`: a user message that is not a
 * slash command, `?`, or injected `<session_context>`/`<hook_context>`, or a model message with text, tool calls
 * or thoughts. A file without a header naming its session is read by Gemini's legacy fallback: counted resumable.
 */
export function resumableChatText(text: string): boolean {
  const ids: string[] = [];
  const kinds = new Map<string, boolean>();
  let header = false;
  const add = (m: Record<string, unknown>) => {
    const id = m.id as string;
    ids.push(id);
    kinds.set(id, resumableMessage(m));
  };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // Gemini skips a line it cannot parse too
    }
    if (!isObject(r)) continue;
    if (typeof r.$rewindTo === "string") {
      const i = ids.indexOf(r.$rewindTo);
      for (const gone of ids.splice(i === -1 ? 0 : i)) kinds.delete(gone);
    } else if (typeof r.id === "string") {
      add(r);
    } else if (isObject(r.$set)) {
      if (Array.isArray(r.$set.messages)) {
        ids.length = 0;
        kinds.clear();
        for (const m of r.$set.messages) if (isObject(m) && typeof m.id === "string") add(m);
      }
    } else if (typeof r.sessionId === "string" && typeof r.projectHash === "string") {
      header = true;
      if (Array.isArray(r.messages)) for (const m of r.messages) if (isObject(m) && typeof m.id === "string") add(m);
    }
  }
  if (!header) return true;
  for (const ok of kinds.values()) if (ok) return true;
  return false;
}

/** The files of one Gemini home (`<dir>/tmp/<project>/chats/`), read synchronously: a load looks once or twice. */
export function geminiChatFiles(geminiDir: string): GeminiChatFiles {
  return {
    list(sessionId) {
      const short = sessionId.slice(0, 8);
      const out: GeminiChatFile[] = [];
      for (const project of entries(join(geminiDir, "tmp"))) {
        const chats = join(geminiDir, "tmp", project, "chats");
        for (const name of entries(chats)) {
          const m = CHAT_FILE.exec(name);
          if (!m || m[2] !== short) continue;
          const path = join(chats, name);
          const file = readChatFile(path, sessionId);
          if (file) out.push({ path, minute: m[1] as string, resumable: file.resumable });
        }
      }
      return out;
    },
    remove(path) {
      try {
        unlinkSync(path);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The file's verdict when its first line names `sessionId`; null when it names another session or cannot be read. */
function readChatFile(path: string, sessionId: string): { resumable: boolean } | null {
  try {
    const size = statSync(path).size;
    const text = size <= READ_LIMIT ? readFileSync(path, "utf8") : head(path);
    const first = text.slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n"));
    if (!first.includes(sessionId)) return null;
    const r = JSON.parse(first) as unknown;
    if (!isObject(r) || r.sessionId !== sessionId) return null;
    return { resumable: size > READ_LIMIT || resumableChatText(text) };
  } catch {
    return null;
  }
}

function head(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    return buf.toString("utf8", 0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function resumableMessage(m: Record<string, unknown>): boolean {
  const text = partsText(m.content).trim();
  if (m.type === "user") return !(text === "" || /^(\/|\?|<session_context>|<hook_context>)/.test(text));
  if (m.type === "gemini") return text.length > 0 || nonEmpty(m.toolCalls) || nonEmpty(m.thoughts);
  return false;
}

/** Parts Gemini's verbose `partToString` shows as a placeholder (`[Thought: …]`, `[Function Response: …]`), checked before `text`. */
const PLACEHOLDER_PARTS = ["videoMetadata", "thought", "codeExecutionResult", "executableCode", "fileData", "functionCall", "functionResponse", "inlineData"];

/** Gemini's `partListUnionToString` (verbose): text parts as they are, other parts as a placeholder that is not empty. */
function partsText(v: unknown): string {
  if (!v) return "";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(partsText).join("");
  if (!isObject(v)) return "";
  for (const k of PLACEHOLDER_PARTS) if (v[k] !== undefined) return `[${k}]`;
  return typeof v.text === "string" ? v.text : "";
}

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
