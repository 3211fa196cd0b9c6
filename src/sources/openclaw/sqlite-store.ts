import * as zlib from "node:zlib";
import { decompress } from "fzstd";
import { type EntrySummary, summarizeEntry } from "../../agents/openclaw/entry.ts";
import type { WindowRow } from "../../agents/openclaw/record.ts";
import { AgentDbError, openAgentDb, pickTable, quoteIdent, readSchema, type SchemaMap } from "../../lib/sqlite-readonly.ts";

/** Where the reader stands in one session's transcript rows. */
export interface SeqCursor {
  seq: number;
  /** `transcript_rewrite_watermarks.generation`: a rewrite starts the transcript over. */
  generation: string | null;
}

/** One changed store entry (a `session_nodes` / `session_entries` row). */
export interface StoreEntry {
  key: string;
  sessionId: string;
  entry: EntrySummary | null;
}

/** What one read of an agent's SQLite store found. */
export interface OpenClawDbRead {
  windows: WindowRow[];
  /** Every session key → its current session id. */
  currentByKey: Map<string, string>;
  /** Entries updated at or after the watermark. */
  entries: StoreEntry[];
  /** Sessions whose transcript restarted (rewritten): their state must be rebuilt from seq 0. */
  restarted: Set<string>;
  /** The new cursor of every session whose transcript was read. */
  cursors: Map<string, SeqCursor>;
  watermark: number;
  /** Event rows that were not valid JSON or could not be decompressed. */
  badRows: { sessionId: string; seq: number; reason: string }[];
  bytesRead: number;
}

/** Receives transcript events, already parsed (each one a former JSONL line), in `seq` order. */
export interface EventHandler {
  /** The session's transcript was rewritten: forget what was folded so far, events restart at seq 0. */
  restart(sessionId: string): void;
  event(sessionId: string, event: unknown, seq: number, bytes: number): void;
  /** A `toolResult` message, recognised from its first bytes: its output is never decoded or parsed. */
  toolResult(sessionId: string, ts: number | null, bytes: number): void;
}

// A pi transcript event names its type and role in its first bytes; tool output follows.
const HEAD_CHARS = 320;
const isToolResultHead = (head: string) => head.includes('"role":"toolResult"') && head.includes('"type":"message"');
const headTimestamp = (head: string): number | null => {
  const m = /"timestamp":"([^"]{10,40})"/.exec(head);
  const t = m ? Date.parse(m[1]!) : Number.NaN;
  return Number.isNaN(t) ? null : t;
};

type Row = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null);

type ZstdSync = (b: Uint8Array) => Buffer;
const nodeZstd = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;

/** Decompresses one `event_zstd` blob (each row is ≤ 4 MiB by the store's own CHECK). */
export function unzstd(blob: Uint8Array): string {
  const out = nodeZstd ? nodeZstd(blob) : decompress(blob);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("utf8");
}

const windowCandidates = ["session_windows", "sessions"] as const;
const entryCandidates = [
  { table: "session_nodes", id: "current_session_id" },
  { table: "session_entries", id: "session_id" },
] as const;
const eventCandidates = ["transcript_events"] as const;

/** The tables this build has, chosen by name and columns (they changed between 2026.8 and 2026.9). */
export function openClawTables(schema: SchemaMap) {
  const windows = pickTable(schema, windowCandidates, ["session_id", "session_key"]);
  let entries: { table: string; id: string } | null = null;
  for (const c of entryCandidates) {
    if (pickTable(schema, [c.table], ["session_key", c.id, "entry_json"])) {
      entries = { table: c.table, id: c.id };
      break;
    }
  }
  const events = pickTable(schema, eventCandidates, ["session_id", "seq"]);
  const eventCols = events ? schema.get(events)! : new Set<string>();
  const rewrites = pickTable(schema, ["transcript_rewrite_watermarks"], ["session_id", "generation"]);
  return { windows, entries, events, eventCols, rewrites };
}

/**
 * Reads an agent's `openclaw-agent.sqlite` read-only: all windows (small rows) and the entries
 * updated since `since` in one short transaction, then the transcript rows after each session's
 * known `seq` (a session whose rewrite generation changed is read from the start), one session per
 * read. Events are handed to `onEvent` one by one, so a long transcript is never held in memory.
 */
export async function readOpenClawDb(
  path: string,
  since: number,
  known: ReadonlyMap<string, SeqCursor>,
  onEvent: EventHandler,
  pause: () => Promise<void> = async () => {},
): Promise<OpenClawDbRead> {
  const db = openAgentDb(path);
  try {
    const t = openClawTables(readSchema(db));
    if (!t.windows && !t.entries) throw new AgentDbError(path, "no session_windows/session_nodes table: not an OpenClaw agent store this asm understands");
    // Windows and entries are read in one snapshot; each session's events then in its own short read,
    // so a long cold read never pins the agent's WAL for the whole scan.
    const out = db.transaction(() => {
      const out: OpenClawDbRead = {
        windows: [],
        currentByKey: new Map(),
        entries: [],
        restarted: new Set(),
        cursors: new Map(),
        watermark: since,
        badRows: [],
        bytesRead: 0,
      };
      if (t.windows) {
        const wcols = new Set(db.prepare("SELECT name FROM pragma_table_info(?)").pluck().all(t.windows) as string[]);
        const c = (n: string) => (wcols.has(n) ? quoteIdent(n) : "NULL");
        const rows = db
          .prepare(
            `SELECT session_id, session_key, ${c("created_at")} AS created_at, ${c("updated_at")} AS updated_at,
                    ${c("ended_at")} AS ended_at, ${c("status")} AS status, ${c("chat_type")} AS chat_type,
                    ${c("channel")} AS channel, ${c("account_id")} AS account_id, ${c("model_provider")} AS model_provider,
                    ${c("model")} AS model, ${c("parent_session_key")} AS parent_session_key
             FROM ${quoteIdent(t.windows)}`,
          )
          .all() as Row[];
        for (const r of rows) {
          const sessionId = str(r.session_id);
          if (!sessionId) continue;
          out.windows.push({
            sessionId,
            sessionKey: str(r.session_key),
            createdAt: num(r.created_at),
            updatedAt: num(r.updated_at),
            endedAt: num(r.ended_at),
            status: str(r.status),
            chatType: str(r.chat_type),
            channel: str(r.channel),
            accountId: str(r.account_id),
            modelProvider: str(r.model_provider),
            model: str(r.model),
            parentSessionKey: str(r.parent_session_key),
          });
          out.watermark = Math.max(out.watermark, num(r.updated_at) ?? 0);
        }
      }
      if (t.entries) {
        const E = quoteIdent(t.entries.table);
        const id = quoteIdent(t.entries.id);
        for (const r of db.prepare(`SELECT session_key, ${id} AS sid FROM ${E}`).all() as Row[]) {
          const key = str(r.session_key);
          const sid = str(r.sid);
          if (key && sid) out.currentByKey.set(key, sid);
        }
        const hasUpdated = new Set(db.prepare("SELECT name FROM pragma_table_info(?)").pluck().all(t.entries.table) as string[]).has("updated_at");
        const changed = db
          .prepare(
            hasUpdated
              ? `SELECT session_key, ${id} AS sid, entry_json, updated_at FROM ${E} WHERE updated_at >= ?`
              : `SELECT session_key, ${id} AS sid, entry_json, NULL AS updated_at FROM ${E} WHERE ? >= 0`,
          )
          .all(since) as Row[];
        for (const r of changed) {
          const key = str(r.session_key);
          const sid = str(r.sid);
          if (!key || !sid) continue;
          let entry: EntrySummary | null = null;
          try {
            entry = summarizeEntry(JSON.parse(String(r.entry_json)));
          } catch {
            entry = null;
          }
          out.entries.push({ key, sessionId: sid, entry });
          out.watermark = Math.max(out.watermark, num(r.updated_at) ?? 0);
        }
      }
      return out;
    })();
    if (t.events) await readEvents(db, t, out, known, onEvent, pause);
    return out;
  } catch (err) {
    if (err instanceof AgentDbError) throw err;
    throw new AgentDbError(path, (err as Error).message);
  } finally {
    db.close();
  }
}

async function readEvents(
  db: ReturnType<typeof openAgentDb>,
  t: ReturnType<typeof openClawTables>,
  out: OpenClawDbRead,
  known: ReadonlyMap<string, SeqCursor>,
  onEvent: EventHandler,
  pause: () => Promise<void>,
): Promise<void> {
  const T = quoteIdent(t.events!);
  const hasJson = t.eventCols.has("event_json");
  const hasZstd = t.eventCols.has("event_zstd");
  // Tool results are most of a store's bytes: SQLite cuts them to their head before they reach JS.
  const toolHead = `instr(substr(event_json, 1, ${HEAD_CHARS}), '"role":"toolResult"') > 0 AND instr(substr(event_json, 1, ${HEAD_CHARS}), '"type":"message"') > 0`;
  const payload = hasJson
    ? `CASE WHEN ${toolHead} THEN substr(event_json, 1, ${HEAD_CHARS}) ELSE event_json END AS j, CASE WHEN ${toolHead} THEN 1 ELSE 0 END AS head, length(event_json) AS n`
    : "NULL AS j, 0 AS head, 0 AS n";
  const payloadAll = `${payload}, ${hasZstd ? "event_zstd" : "NULL"} AS z`;
  const maxSeq = db.prepare(`SELECT MAX(seq) FROM ${T} WHERE session_id = ?`).pluck();
  const rowsAfter = db.prepare(`SELECT seq, ${payloadAll} FROM ${T} WHERE session_id = ? AND seq > ? ORDER BY seq`);
  const generation = t.rewrites ? db.prepare(`SELECT generation FROM ${quoteIdent(t.rewrites)} WHERE session_id = ?`).pluck() : null;
  const ids = new Set(out.windows.map((w) => w.sessionId));
  for (const sid of out.currentByKey.values()) ids.add(sid);
  for (const sid of ids) {
    const top = maxSeq.get(sid) as number | null;
    if (top === null || top === undefined) continue;
    const gen = (generation?.get(sid) as string | undefined) ?? null;
    const prev = known.get(sid);
    let from = prev?.seq ?? -1;
    if (prev && (prev.generation !== gen || top < prev.seq)) {
      out.restarted.add(sid);
      onEvent.restart(sid);
      from = -1;
    }
    if (top <= from) continue;
    let last = from;
    type EventRow = { seq: number; j: string | null; head: number; n: number; z: Uint8Array | null };
    for (const r of rowsAfter.iterate(sid, from) as Iterable<EventRow>) {
      last = r.seq;
      if (r.j !== null && r.head === 1) {
        out.bytesRead += r.n;
        onEvent.toolResult(sid, headTimestamp(r.j), r.n);
        continue;
      }
      let text: string;
      try {
        if (r.j !== null) text = r.j;
        else if (r.z) {
          out.bytesRead += r.z.byteLength;
          text = unzstd(r.z);
        } else continue;
      } catch (err) {
        out.badRows.push({ sessionId: sid, seq: r.seq, reason: `cannot decompress event_zstd (${(err as Error).message.slice(0, 80)})` });
        continue;
      }
      const bytes = r.j !== null ? r.n : (r.z?.byteLength ?? 0);
      if (r.j !== null) out.bytesRead += bytes;
      else if (isToolResultHead(text.slice(0, HEAD_CHARS))) {
        onEvent.toolResult(sid, headTimestamp(text.slice(0, HEAD_CHARS)), bytes);
        continue;
      }
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch (err) {
        out.badRows.push({ sessionId: sid, seq: r.seq, reason: `invalid JSON (${(err as Error).message.slice(0, 80)})` });
        continue;
      }
      onEvent.event(sid, event, r.seq, bytes);
    }
    out.cursors.set(sid, { seq: last, generation: gen });
    await pause();
  }
}

/** One row of the global store's `agent_databases`: where an agent's own store lives. */
export interface AgentDatabase {
  agentId: string;
  path: string;
}

/**
 * The per-agent stores the global `state/openclaw.sqlite` lists (`agent_databases(agent_id, path)`),
 * paths as written (absolute, or relative to the state root). Empty when the table is absent.
 */
export function readAgentDatabases(path: string): AgentDatabase[] {
  const db = openAgentDb(path);
  try {
    if (!pickTable(readSchema(db), ["agent_databases"], ["agent_id", "path"])) return [];
    const rows = db.prepare("SELECT agent_id, path FROM agent_databases").all() as Row[];
    return rows.flatMap((r) => {
      const agentId = str(r.agent_id);
      const p = str(r.path);
      return agentId && p ? [{ agentId, path: p }] : [];
    });
  } catch (err) {
    if (err instanceof AgentDbError) throw err;
    throw new AgentDbError(path, (err as Error).message);
  } finally {
    db.close();
  }
}
