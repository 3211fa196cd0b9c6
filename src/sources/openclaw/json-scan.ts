import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { OpenClawConfig } from "../../agents/openclaw/config.ts";
import { type EntrySummary, summarizeEntry } from "../../agents/openclaw/entry.ts";
import { openclawRecord, type TranscriptProblem } from "../../agents/openclaw/record.ts";
import { applyPiLine, applyToolResult, emptyPiState, type PiTranscriptState, toMs } from "../../agents/openclaw/transcript.ts";
import { isTranscriptName } from "../../agents/openclaw/transcript-names.ts";
import { sessionUid } from "../../agents/session.ts";
import { isGoneError, unreadableReason } from "../../lib/fs-errors.ts";
import { identity, LineError, parseLine } from "../../lib/jsonl-reader.ts";
import type { FileStore } from "../../store/files.ts";
import { KvStore } from "../../store/kv.ts";
import { clearSourceProblem, recordSourceProblem } from "../../store/problems.ts";
import type { FileAdapter, FileJob } from "../file-scan.ts";
import type { ScanContext, SourceScanResult } from "../source.ts";

/** What we remember of a `sessions.json` between cycles: its entries, summarised. */
interface StoreState {
  entries: Record<string, EntrySummary>;
}

/** Per-transcript state kept by the JSONL driver. */
export interface TranscriptFileState {
  tx: PiTranscriptState;
  parseErrors: number;
  lastParseError: string | null;
}

/** One session of the JSON era: its store entry (if any) and where its transcript is. */
interface JsonSession {
  agentId: string;
  sessionId: string;
  key: string | null;
  entry: EntrySummary | null;
  transcript: string | null;
  problem: TranscriptProblem;
  /** The store entry changed this cycle: the row must be rewritten even if the transcript did not grow. */
  entryChanged: boolean;
  /**
   * A transcript the agent's session store no longer names (the key was reset to a new session id,
   * or the entry was cleaned up): OpenClaw will not route to it again, so the session has ended.
   */
  orphan?: boolean;
}

export const storeSource = "openclaw-store";

// A pi transcript line names its type and role in its first bytes; tool output follows.
const HEAD_BYTES = 320;
const CLOSE_BRACE = 0x7d;
const TOOL_RESULT = Buffer.from('"role":"toolResult"');
const TYPE_MESSAGE = Buffer.from('"type":"message"');
export const transcriptSource = "openclaw";

/**
 * The JSON era of one agent (`agents/<id>/sessions/`): reads `sessions.json` when its size or mtime
 * changed (a document caught mid-write keeps the last good entries and is recorded as a source
 * problem until it parses again), resolves each entry's transcript, and lists the transcript files
 * for the shared incremental reader.
 */
export class JsonEra {
  readonly sessions = new Map<string, JsonSession>();
  readonly jobs: FileJob[] = [];
  private readonly byPath = new Map<string, JsonSession>();
  /** Transcripts whose row was written by the reader this cycle. */
  readonly committed = new Set<string>();

  constructor(
    private readonly ctx: ScanContext,
    private readonly files: FileStore,
    private readonly oc: OpenClawConfig | null,
    /** Sessions the agent's SQLite store holds: it is the newer truth for them. */
    private readonly inDb: Set<string>,
  ) {}

  /** Folders that could not be listed this cycle (EACCES, EIO): their sessions keep what we knew. */
  readonly unlisted: string[] = [];

  /** Reads one agent's sessions folder (store + transcript list). */
  addAgent(agentId: string, dir: string, result: SourceScanResult): void {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter(isTranscriptName);
    } catch (err) {
      if (!isGoneError(err)) {
        // Unreadable is not "the sessions ended": nothing of this agent's JSON era is touched this cycle.
        result.errors.push(unreadableReason(dir, err, "list"));
        this.unlisted.push(dir);
        return;
      }
      // No sessions folder: nothing of the JSON era here.
    }
    const storePath = join(dir, "sessions.json");
    const { entries, changed, removed } = this.readStore(storePath, result);
    const mine: string[] = [];
    for (const e of removed) {
      // An entry dropped from the store whose transcript is gone too: nothing keeps the session alive.
      const t = e.sessionFile ? sessionFilePath(dir, e.sessionFile) : join(dir, `${e.sessionId}.jsonl`);
      if (!existsSync(t)) this.ctx.sessions.markGone(sessionUid("openclaw", agentId, e.sessionId), this.ctx.now);
    }
    for (const [key, entry] of Object.entries(entries)) {
      let transcript: string | null = null;
      let problem: TranscriptProblem = null;
      if (entry.sessionFile) {
        transcript = sessionFilePath(dir, entry.sessionFile);
        if (!existsSync(transcript)) problem = "missing-file";
      } else if (entry.hasSessionFile) {
        problem = "null-path";
      } else {
        transcript = join(dir, `${entry.sessionId}.jsonl`);
        if (!existsSync(transcript)) problem = "missing-file";
      }
      const s: JsonSession = {
        agentId,
        sessionId: entry.sessionId,
        key,
        entry,
        transcript: problem ? null : transcript,
        problem,
        entryChanged: changed,
      };
      this.sessions.set(sessionUid("openclaw", agentId, entry.sessionId), s);
      if (s.transcript) {
        this.byPath.set(s.transcript, s);
        mine.push(s.transcript);
      }
    }
    const listed = new Set<string>();
    for (const n of names) {
      const path = join(dir, n);
      listed.add(path);
      if (!this.byPath.has(path)) {
        // A transcript no entry names (an older generation, a topic file): still a session.
        const s: JsonSession = {
          agentId,
          sessionId: basename(n, ".jsonl"),
          key: null,
          entry: null,
          transcript: path,
          problem: null,
          entryChanged: changed,
          orphan: Object.keys(entries).length > 0,
        };
        const uid = sessionUid("openclaw", agentId, s.sessionId);
        if (!this.sessions.has(uid)) this.sessions.set(uid, s);
        this.byPath.set(path, s);
      }
      this.jobs.push({ path });
    }
    for (const path of mine) if (!listed.has(path)) this.jobs.push({ path });
  }

  private readStore(path: string, result: SourceScanResult): { entries: Record<string, EntrySummary>; changed: boolean; removed: EntrySummary[] } {
    const prev = this.files.get(path);
    const old: StoreState = prev ? ((JSON.parse(prev.state || "null") as StoreState | null) ?? { entries: {} }) : { entries: {} };
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch (err) {
      if (!isGoneError(err)) {
        // Refused (EACCES, EIO): the last entries we read stand; the path is reported.
        result.errors.push(unreadableReason(path, err));
        return { entries: old.entries, changed: false, removed: [] };
      }
      if (prev) this.files.delete(path);
      return { entries: {}, changed: prev !== undefined, removed: Object.values(old.entries) };
    }
    result.filesSeen++;
    if (prev && prev.ino === st.ino && prev.size === st.size && prev.mtimeMs === Math.trunc(st.mtimeMs)) {
      return { entries: old.entries, changed: false, removed: [] };
    }
    const kv = new KvStore(this.ctx.db);
    let next = old;
    try {
      const text = readFileSync(path, "utf8");
      result.filesRead++;
      result.bytesRead += st.size;
      const doc = JSON.parse(text) as unknown;
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not a JSON object");
      const entries: Record<string, EntrySummary> = {};
      for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
        const e = summarizeEntry(raw);
        if (e) entries[key] = e;
      }
      next = { entries };
      clearSourceProblem(kv, path, this.ctx.now);
    } catch (err) {
      // Caught mid-write (or broken): keep the last good entries; the next change is read again.
      result.parseErrors++;
      recordSourceProblem(kv, {
        platform: "openclaw",
        path,
        problem: `sessions.json is not valid JSON: ${(err as Error).message.slice(0, 160)}`,
        since: this.ctx.now,
      });
      this.ctx.log.warn({ path, err: (err as Error).message }, "OpenClaw session store unreadable; keeping the last good state");
    }
    this.files.putWhole(path, storeSource, identity(st), next, { now: this.ctx.now });
    const removed = Object.entries(old.entries)
      .filter(([k]) => !(k in next.entries))
      .map(([, e]) => e);
    return { entries: next.entries, changed: next !== old, removed };
  }

  /** The adapter the shared JSONL driver runs over the transcripts. */
  adapter(): FileAdapter<TranscriptFileState> {
    return {
      source: transcriptSource,
      sessionUid: (path) => {
        const s = this.byPath.get(path);
        return sessionUid("openclaw", s?.agentId ?? agentOf(path), s?.sessionId ?? basename(path, ".jsonl"));
      },
      fresh: () => ({ tx: emptyPiState(), parseErrors: 0, lastParseError: null }),
      line: (state, line, lineNo, emitTurn) => {
        if (line[line.length - 1] === CLOSE_BRACE) {
          const head = line.subarray(0, HEAD_BYTES);
          if (head.indexOf(TOOL_RESULT) !== -1 && head.indexOf(TYPE_MESSAGE) !== -1) {
            const ts = /"timestamp":"([^"]{10,40})"/.exec(head.toString("latin1"));
            applyToolResult(state.tx, ts ? toMs(ts[1]) : null);
            return;
          }
        }
        const v = parseLine(line, lineNo);
        if (v instanceof LineError) {
          state.parseErrors++;
          state.lastParseError = String(v);
          return;
        }
        const turn = applyPiLine(state.tx, v);
        if (turn) emitTurn(turn);
      },
      commit: ({ state, path, st, uid }) => {
        this.committed.add(path);
        if (this.inDb.has(uid)) return;
        this.write(uid, this.byPath.get(path) ?? null, state, path, st.size);
      },
      parseErrors: (s) => ({ count: s.parseErrors, last: s.lastParseError }),
    };
  }

  /** Rows whose store entry changed while their transcript did not (or that have no transcript). */
  finish(): void {
    for (const [uid, s] of this.sessions) {
      if (this.inDb.has(uid)) continue;
      if (s.transcript && this.committed.has(s.transcript)) continue;
      if (!s.entryChanged && !s.problem) continue;
      let state: TranscriptFileState | null = null;
      let size = 0;
      if (s.transcript) {
        const c = this.files.get(s.transcript);
        if (!c) continue; // not read yet (unreadable): the reader reported it
        state = JSON.parse(c.state) as TranscriptFileState;
        size = c.size;
      }
      this.write(uid, s, state, s.transcript, size);
    }
  }

  private write(uid: string, s: JsonSession | null, state: TranscriptFileState | null, path: string | null, size: number): void {
    const agentId = s?.agentId ?? (path ? agentOf(path) : "main");
    const record = openclawRecord(
      {
        agentId,
        sessionId: s?.sessionId ?? uid.split(":").slice(2).join(":"),
        key: s?.key ?? null,
        entry: s?.entry ?? null,
        window: null,
        tx: state?.tx ?? null,
        storage: "json",
        path,
        sizeBytes: size,
        transcriptProblem: s?.problem ?? null,
        parseErrors: state?.parseErrors ?? 0,
        lastParseError: state?.lastParseError ?? null,
        current: !s?.orphan,
        resolveKey: (key) => {
          for (const x of this.sessions.values()) if (x.key === key && x.agentId === agentId) return x.sessionId;
          return null;
        },
      },
      this.oc,
      this.ctx.config,
      this.ctx.now,
    );
    this.ctx.sessions.upsert(record);
  }
}

/**
 * Where an entry's `sessionFile` is on this machine. Builds up to at least 2026.7.1 store it as an
 * absolute path under the state dir that wrote it. After that dir was copied, restored from a backup
 * or mounted elsewhere (a container, OPENCLAW_STATE_DIR), the path names the old place while the
 * transcript written with this store sits beside it under the same name: that copy is the one read.
 */
function sessionFilePath(dir: string, sessionFile: string): string {
  if (!isAbsolute(sessionFile)) return resolve(dir, sessionFile);
  const here = join(dir, basename(sessionFile));
  return here !== sessionFile && existsSync(here) ? here : sessionFile;
}

/** `.../agents/<agentId>/sessions/<file>.jsonl` → agentId. */
function agentOf(path: string): string {
  const parts = path.split(/[\\/]/);
  const i = parts.lastIndexOf("agents");
  return i >= 0 && parts[i + 1] ? parts[i + 1]! : "main";
}
