import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, type Stats, statSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { contextPercent, windowFromTable } from "../agents/context-window.ts";
import { applyGeminiRecord, emptyGeminiState, type GeminiChatState, type GeminiTurn, summarizeGemini } from "../agents/gemini/chat-state.ts";
import { blankRecord, type SessionRecord, sessionUid } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { isGoneError, unreadableReason } from "../lib/fs-errors.ts";
import { elements, fields, jsonAt, stringAt, whole } from "../lib/json-fields.ts";
import { identity, LineError, parseLine } from "../lib/jsonl-reader.ts";
import { FileStore } from "../store/files.ts";
import { replaceTurns } from "../store/turns.ts";
import { type FileAdapter, type FileJob, scanFiles } from "./file-scan.ts";
import { emptyResult, type ScanContext, type Source, type SourceScanResult } from "./source.ts";

/** Per-file state kept between cycles (JSON in the `files` table). */
export interface GeminiFileState {
  chat: GeminiChatState;
  parseErrors: number;
  lastParseError: string | null;
}

/** Where a chat file sits: its project folder and, for a subagent, the parent session id. */
interface ChatPlace {
  projectDir: string;
  parentSessionId: string | null;
}

const mainChat = /^session-.*\.jsonl$/;

// Long message lines are mostly tool output and thoughts; only a few small fields count.
const bigLine = 2048;
const messageKeys = ["id", "type", "timestamp", "model", "tokens", "toolCalls", "content", "$set", "$rewindTo", "sessionId"] as const;
const callKeys = ["status"] as const;

/**
 * A message record read from its bytes without decoding its content: id, type, timestamp, model,
 * tokens and the status of each tool call (a person's message keeps its content: it may become the title). Null for anything else (a header, a `$set` checkpoint,
 * a line the byte walk cannot follow): the caller parses those whole, and reports a bad line.
 */
export function lightRecord(line: Buffer): Record<string, unknown> | null {
  const f = fields(line, whole(line), messageKeys);
  if (!f?.id || f.$set || f.$rewindTo || f.sessionId) return null;
  const rec: Record<string, unknown> = {
    id: stringAt(line, f.id),
    type: stringAt(line, f.type),
    timestamp: stringAt(line, f.timestamp),
    model: stringAt(line, f.model),
  };
  if (f.tokens) rec.tokens = jsonAt(line, f.tokens);
  if (f.content && rec.type === "user") rec.content = jsonAt(line, f.content);
  if (f.toolCalls) {
    const calls = elements(line, f.toolCalls);
    if (!calls) return null;
    rec.toolCalls = calls.map((c) => {
      const cf = fields(line, c, callKeys);
      return { status: cf ? stringAt(line, cf.status) : null };
    });
  }
  return rec;
}
const legacyChat = /^session-.*\.json$/;

/** `tmp/<project>/chats/session-*.jsonl` or `tmp/<project>/chats/<parentSessionId>/<sessionId>.jsonl`. */
function placeOf(path: string): ChatPlace {
  const dir = dirname(path);
  if (basename(dir) === "chats") return { projectDir: dirname(dir), parentSessionId: null };
  return { projectDir: dirname(dirname(dir)), parentSessionId: basename(dir) };
}

/** The session id in a chat file's first line (its header); read once, when a file is first seen. */
function headerSessionId(path: string): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = Buffer.alloc(8192);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl < 0) return null;
    const head = JSON.parse(buf.subarray(0, nl).toString("utf8")) as { sessionId?: unknown };
    return typeof head.sessionId === "string" && head.sessionId ? head.sessionId : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Project roots by project folder: `.project_root` markers (0.29+), else `projects.json`
 * ({projects: {"<abs root>": "<slug>"}}). Built once per cycle, lazily.
 */
class ProjectRoots {
  private byDir = new Map<string, string | null>();
  private registry: Record<string, string> | null = null;

  constructor(private readonly geminiRoot: string) {}

  get(projectDir: string): string | null {
    if (this.byDir.has(projectDir)) return this.byDir.get(projectDir)!;
    let root: string | null = null;
    try {
      root = readFileSync(join(projectDir, ".project_root"), "utf8").trim() || null;
    } catch {
      root = this.fromRegistry(basename(projectDir));
    }
    this.byDir.set(projectDir, root);
    return root;
  }

  private fromRegistry(slug: string): string | null {
    if (this.registry === null) {
      this.registry = {};
      try {
        const doc = JSON.parse(readFileSync(join(this.geminiRoot, "projects.json"), "utf8")) as { projects?: unknown };
        if (doc.projects && typeof doc.projects === "object") {
          for (const [root, s] of Object.entries(doc.projects as Record<string, unknown>)) {
            if (typeof s === "string") this.registry[s] = root;
          }
        }
      } catch {
        // No registry (older versions, or none yet): the project stays unknown.
      }
    }
    return this.registry[slug] ?? null;
  }
}

/** Builds the session row from a chat's state (pure apart from the project lookup passed in). */
export function geminiRecord(s: GeminiFileState, path: string, sizeBytes: number, project: string | null, config: Config, now: number): SessionRecord | null {
  const place = placeOf(path);
  const id = s.chat.sessionId ?? (place.parentSessionId ? basename(path, ".jsonl") : null);
  if (!id) return null;
  const sum = summarizeGemini(s.chat);
  const r = blankRecord("gemini", null, id, now);
  const subagent = place.parentSessionId !== null || s.chat.kind === "subagent";
  r.kind = subagent ? "subagent" : "session";
  r.parentUid = place.parentSessionId ? sessionUid("gemini", null, place.parentSessionId) : null;
  r.project = project;
  r.title = s.chat.summary ?? s.chat.firstPrompt ?? null;
  r.model = sum.model;
  r.firstActivity = sum.firstTs;
  r.lastActivity = sum.lastTs;
  r.messageCount = sum.messageCount;
  r.path = path;
  r.sizeBytes = sizeBytes;
  r.contextTokens = sum.contextTokens;
  r.contextWindow = windowFromTable(config, sum.model);
  r.contextPercent = contextPercent(sum.contextTokens, r.contextWindow);
  // Gemini's `cached` is part of `input`; keep the columns disjoint like the other platforms.
  r.inputTokens = Math.max(0, sum.input - sum.cached);
  r.outputTokens = sum.output;
  r.cacheReadTokens = sum.cached;
  r.parseErrors = s.parseErrors;
  r.lastParseError = s.lastParseError;
  r.state = sum.state;
  r.extra = {
    projectDir: basename(place.projectDir),
    ...(s.chat.projectHash ? { projectHash: s.chat.projectHash } : {}),
    ...(s.parseErrors ? { parseErrorLine: Number(/^line (\d+)/.exec(s.lastParseError ?? "")?.[1]) || null } : {}),
  };
  return r;
}

/**
 * Gemini CLI: chat recordings under `<root>/tmp/<project>/chats/` — JSONL (0.39+: header line,
 * messages re-appended with the same id, `$set` patches, `$rewindTo`) read incrementally, and the
 * older whole `.json` documents re-read only when their size or mtime changed (a session present
 * in both is read from the `.jsonl`). Subagent chats (`chats/<parentSessionId>/<id>.jsonl`) are
 * kind "subagent" linked to their parent.
 */
export class GeminiSource implements Source {
  readonly platform = "gemini" as const;

  constructor(private readonly root: string) {}

  static fromConfig(config: Config): GeminiSource {
    return new GeminiSource(config.sources.gemini.root);
  }

  roots(): string[] {
    return [this.root];
  }

  async scan(ctx: ScanContext): Promise<SourceScanResult> {
    const result = emptyResult("gemini");
    // A missing folder is read as an empty one, so the sessions read from it before are marked gone.
    if (!existsSync(this.root)) result.missingRoots.push(this.root);
    const projects = new ProjectRoots(this.root);
    const { jsonl, legacy, unlisted } = this.listChats(result);
    const adapter: FileAdapter<GeminiFileState> = {
      source: "gemini",
      sessionUid: (path) => {
        const place = placeOf(path);
        const id = place.parentSessionId ? basename(path, ".jsonl") : (headerSessionId(path) ?? basename(path, ".jsonl"));
        return sessionUid("gemini", null, id);
      },
      fresh: () => ({ chat: emptyGeminiState(), parseErrors: 0, lastParseError: null }),
      line: (s, line, lineNo, emitTurn) => {
        const rec = (line.length > bigLine ? lightRecord(line) : null) ?? parseLine(line, lineNo);
        if (rec instanceof LineError) {
          s.parseErrors++;
          s.lastParseError = String(rec);
          return;
        }
        for (const t of applyGeminiRecord(s.chat, rec)) emitTurn(toTurn(t));
      },
      commit: ({ state, path, st, uid, now }) => {
        const r = geminiRecord(state, path, st.size, projects.get(placeOf(path).projectDir), ctx.config, now);
        if (r && r.uid === uid) ctx.sessions.upsert(r);
        else if (r) ctx.sessions.upsert({ ...r, uid });
      },
      parseErrors: (s) => ({ count: s.parseErrors, last: s.lastParseError }),
    };
    // A new chat file whose header line is not written yet waits: its session id (the row's key,
    // fixed when the file is first read) is in that header.
    const known = new Set(ctx.db.prepare("SELECT path FROM files WHERE source = 'gemini'").pluck().all() as string[]);
    const ready = jsonl.filter((j) => known.has(j.path) || placeOf(j.path).parentSessionId !== null || headerSessionId(j.path) !== null);
    await scanFiles(ctx, adapter, ready, result, { unlisted });
    this.scanLegacy(ctx, legacy, projects, result, unlisted);
    return result;
  }

  private listChats(result: SourceScanResult): { jsonl: FileJob[]; legacy: string[]; unlisted: string[] } {
    const jsonl: FileJob[] = [];
    const legacy: string[] = [];
    const unlisted: string[] = [];
    const tmp = join(this.root, "tmp");
    // A folder that is gone has nothing to read; one we may not read (EACCES, EIO) is reported, and what
    // was read from it before stays as it was.
    const list = <T>(dir: string, read: () => T[]): T[] => {
      try {
        return read();
      } catch (err) {
        if (!isGoneError(err)) {
          result.errors.push(unreadableReason(dir, err, "list"));
          unlisted.push(dir);
        }
        return [];
      }
    };
    for (const p of list(tmp, () => readdirSync(tmp))) {
      const chats = join(tmp, p, "chats");
      for (const e of list(chats, () => readdirSync(chats, { withFileTypes: true }))) {
        if (e.isFile() && mainChat.test(e.name)) jsonl.push({ path: join(chats, e.name) });
        else if (e.isFile() && legacyChat.test(e.name)) legacy.push(join(chats, e.name));
        else if (e.isDirectory()) {
          const sub = join(chats, e.name);
          for (const n of list(sub, () => readdirSync(sub))) if (n.endsWith(".jsonl")) jsonl.push({ path: join(sub, n) });
        }
      }
    }
    return { jsonl, legacy, unlisted };
  }

  /** Legacy whole-document chats: read when changed; a document caught mid-write keeps its last good state. */
  private scanLegacy(ctx: ScanContext, paths: string[], projects: ProjectRoots, result: SourceScanResult, unlisted: string[]): void {
    const files = new FileStore(ctx.db);
    const known = files.bySource("gemini-json");
    if (paths.length === 0 && known.size === 0) return;
    const fromJsonl = new Set<string>();
    for (const c of files.bySource("gemini").values()) if (c.sessionUid) fromJsonl.add(c.sessionUid);
    const seen = new Set<string>();
    files.transaction(() => {
      for (const path of paths) {
        seen.add(path);
        result.filesSeen++;
        const prev = known.get(path);
        let st: Stats;
        try {
          st = statSync(path);
        } catch {
          continue;
        }
        if (prev && prev.ino === st.ino && prev.size === st.size && prev.mtimeMs === Math.trunc(st.mtimeMs)) continue;
        const old: GeminiFileState | null = prev ? (JSON.parse(prev.state || "null") as GeminiFileState | null) : null;
        let next: GeminiFileState;
        let turns: GeminiTurn[] = [];
        let retry = false;
        try {
          const text = readFileSync(path, "utf8");
          result.bytesRead += st.size;
          result.filesRead++;
          next = { chat: emptyGeminiState(), parseErrors: 0, lastParseError: null };
          turns = applyGeminiRecord(next.chat, JSON.parse(text));
        } catch (err) {
          result.parseErrors++;
          retry = true;
          next = old ?? { chat: emptyGeminiState(), parseErrors: 0, lastParseError: null };
          next = { ...next, parseErrors: 1, lastParseError: `invalid JSON (${(err as Error).message.slice(0, 120)})` };
        }
        const r = geminiRecord(next, path, st.size, projects.get(placeOf(path).projectDir), ctx.config, ctx.now);
        // The same session resumed by a newer Gemini CLI lives on in its .jsonl: that one wins.
        if (r && !fromJsonl.has(r.uid)) {
          ctx.sessions.upsert(r);
          if (!retry) replaceTurns(ctx.db, r.uid, turns.map(toTurn));
          result.sessionsUpdated++;
        }
        files.putWhole(path, "gemini-json", identity(st), next, { now: ctx.now, sessionUid: r?.uid ?? null, retry });
      }
      for (const [path, cursor] of known) {
        if (seen.has(path) || unlisted.some((d) => path.startsWith(d + sep))) continue;
        if (cursor.sessionUid && !fromJsonl.has(cursor.sessionUid)) ctx.sessions.markGone(cursor.sessionUid, ctx.now);
        files.delete(path);
      }
    });
  }
}

const toTurn = (t: GeminiTurn) => ({
  ts: t.ts,
  model: t.model,
  input: t.input,
  output: t.output,
  cacheRead: t.cacheRead,
  cacheWrite: 0,
  contextTokens: t.contextTokens,
});
