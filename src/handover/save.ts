import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { readSessionMessages } from "../agents/messages-reader.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { TranscriptRead } from "../agents/transcript-entry.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Db } from "../store/db.ts";
import { MemoryStore } from "../store/memories.ts";
import { buildMemory, cutMiddle, estimateTokens, type Memory, type MemoryInput, memoryJson, renderMemory } from "./memory.ts";

/** What saving a memory needs: the store, the config, a log. */
export interface MemoryDeps {
  db: Db;
  config: Config;
  log?: Logger;
}

export interface SavedMemory {
  id: number;
  memory: Memory;
  markdown: string;
  /** The JSON file written under `handover.memoryDir`, null when it could not be written. */
  filePath: string | null;
}

export type MemorySession = Pick<SessionRecord, "uid" | "platform" | "sessionId" | "path" | "project" | "title" | "contextTokens" | "contextWindow">;

/** `<platform>-<session_id>.json`, the name the operators' tools read; unsafe characters become `_`. */
export const memoryFileName = (platform: string, sessionId: string) => `${platform}-${sessionId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;

/** The memory of a session from its transcript (pure apart from reading the transcript). */
export function memoryOf(
  session: MemorySession,
  config: Config,
  extra: Partial<Pick<MemoryInput, "handoverCount" | "title">> = {},
  read: TranscriptRead = readSessionMessages(session),
): Memory {
  return buildMemory(read, {
    platform: session.platform,
    sessionId: session.sessionId,
    title: extra.title ?? null,
    tokensAtHandover: session.contextTokens ?? read.contextTokens,
    contextWindow: session.contextWindow,
    handoverCount: extra.handoverCount ?? 0,
    memoryTokens: config.handover.memoryTokens,
  });
}

/**
 * Runs the configured summarizer on a memory: its Markdown on stdin, its stdout as the summary. On failure,
 * timeout or empty output the extractive memory stands (and says so: kind stays "extractive"). The summary is
 * cut so the whole stays within the bound.
 */
export async function summarize(memory: Memory, config: Config, log?: Logger): Promise<Memory> {
  const s = config.handover.summarizer;
  if (!s.argv) return memory;
  const [cmd, ...args] = s.argv;
  try {
    const r = await execa(cmd!, args, { input: renderMemory(memory), timeout: s.timeoutSeconds * 1000, reject: false, stripFinalNewline: true });
    const text = typeof r.stdout === "string" ? r.stdout.trim() : "";
    if (r.exitCode !== 0 || r.timedOut || !text) {
      log?.warn({ exitCode: r.exitCode, timedOut: r.timedOut }, "handover summarizer failed; the extractive memory is used");
      return memory;
    }
    const room = Math.max(200, (config.handover.memoryTokens - memory.tokens) * 4);
    const out: Memory = { ...memory, kind: "summarized", summary: cutMiddle(text, room) };
    out.tokens = estimateTokens(renderMemory(out));
    return out;
  } catch (err) {
    log?.warn({ err }, "handover summarizer could not run; the extractive memory is used");
    return memory;
  }
}

/** Writes the memory's JSON under `dir` (atomically: a temp file renamed); null when the folder is not writable. */
export function writeMemoryFile(dir: string, memory: Memory, log?: Logger): string | null {
  const path = join(dir, memoryFileName(memory.platform, memory.sessionId));
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, memoryJson(memory), { mode: 0o600 });
    renameSync(tmp, path);
    return path;
  } catch (err) {
    log?.warn({ err, path }, "cannot write the memory file");
    return null;
  }
}

/** Builds, (optionally) summarizes, stores and writes a session's memory. */
export async function saveMemory(
  deps: MemoryDeps,
  session: MemorySession,
  extra: Partial<Pick<MemoryInput, "handoverCount" | "title">> = {},
  now = Date.now(),
): Promise<SavedMemory> {
  let memory = memoryOf(session, deps.config, extra);
  memory = await summarize(memory, deps.config, deps.log);
  const filePath = writeMemoryFile(deps.config.handover.memoryDir, memory, deps.log);
  const id = new MemoryStore(deps.db).insert({
    sessionUid: session.uid,
    platform: session.platform,
    sessionId: session.sessionId,
    kind: memory.kind,
    tokens: memory.tokens,
    handoverCount: memory.handoverCount,
    filePath,
    memoryJson: JSON.stringify(memory),
    createdAt: now,
  });
  return { id, memory, markdown: renderMemory(memory), filePath };
}

/** The newest stored memory of a session, or a new one built and saved now. */
export async function latestMemory(deps: MemoryDeps, session: MemorySession, now = Date.now()): Promise<SavedMemory & { built: boolean }> {
  const row = new MemoryStore(deps.db).latest(session.uid);
  if (row) {
    try {
      const memory = JSON.parse(row.memoryJson) as Memory;
      return { id: row.id, memory, markdown: renderMemory(memory), filePath: row.filePath, built: false };
    } catch {
      // a damaged row: build a fresh one
    }
  }
  return { ...(await saveMemory(deps, session, {}, now)), built: true };
}
