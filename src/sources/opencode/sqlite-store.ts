import { type OpencodeMessage, opencodeMessage } from "../../agents/opencode/messages.ts";
import type { OpencodeSessionInfo } from "../../agents/opencode/record.ts";
import { AgentDbError, openAgentDb, pickTable, quoteIdent, readSchema } from "../../lib/sqlite-readonly.ts";

/** One OpenCode session as its SQLite store (1.2+) holds it. */
export interface OpencodeDbSession extends OpencodeSessionInfo {
  /** Session info; `model` is "provider/model" from the session's `model` column (1.18), if recorded. */
  messages: OpencodeMessage[];
  /** Bytes of message and part JSON: what this session occupies in the store. */
  sizeBytes: number;
  /** Messages whose `data` was not valid JSON. */
  badRows: number;
  lastBadRow: string | null;
}

/** What one read of the store found. */
export interface OpencodeDbRead {
  /** Sessions changed at or after the watermark (each handed to the callback, complete). */
  changed: number;
  /** Bytes of message and part JSON of the changed sessions. */
  bytes: number;
  /** Every session id in the store now (to notice deleted ones). */
  allIds: string[];
  /** The new watermark: the largest time_updated seen. */
  watermark: number;
}

/** The store has no `session`/`message` tables we understand (a build we do not know). */
export class OpencodeSchemaError extends Error {
  constructor(
    readonly path: string,
    readonly missing: string,
  ) {
    super(`${path}: no ${missing} table with the expected columns; this OpenCode build's store is not understood`);
    this.name = "OpencodeSchemaError";
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null);

/** The session's `model` column is JSON ({id, providerID}) in 1.18; older builds had none. */
function modelOf(v: unknown): string | null {
  const text = str(v);
  if (!text) return null;
  try {
    const m = JSON.parse(text) as unknown;
    if (isObject(m)) {
      const id = str(m.id) ?? str(m.modelID);
      const p = str(m.providerID);
      return id ? (p ? `${p}/${id}` : id) : null;
    }
  } catch {
    // A plain model id.
  }
  return text;
}

/**
 * Reads the sessions of an `opencode*.db` that changed at or after `since` (epoch ms; 0 = all),
 * read-only, one short read transaction per session, handing each changed session (with all its
 * messages) to `onSession` before loading the next: memory holds one session at a time. `pause` is
 * awaited between sessions (no transaction is open then).
 * Throws AgentDbError / OpencodeSchemaError.
 */
export async function readOpencodeDb(
  path: string,
  since: number,
  onSession: (s: OpencodeDbSession) => void,
  pause: () => Promise<void> = async () => {},
): Promise<OpencodeDbRead> {
  const db = openAgentDb(path);
  try {
    const schema = readSchema(db);
    const sessionTable = pickTable(schema, ["session"], ["id", "time_updated"]);
    if (!sessionTable) throw new OpencodeSchemaError(path, "session");
    const messageTable = pickTable(schema, ["message"], ["id", "session_id", "time_updated", "data"]);
    if (!messageTable) throw new OpencodeSchemaError(path, "message");
    const partTable = pickTable(schema, ["part"], ["session_id", "data"]);
    const cols = schema.get(sessionTable)!;
    const col = (name: string) => (cols.has(name) ? quoteIdent(name) : "NULL");
    const S = quoteIdent(sessionTable);
    const M = quoteIdent(messageTable);

    // The list of changed sessions in one snapshot; each session then in its own short read, so a
    // long cold read never pins the agent's WAL. Rows newer than the watermark are read again next
    // cycle, which is harmless: a session is always recomputed whole.
    const { allIds, watermark, touched } = db.transaction(() => {
      const allIds = (db.prepare(`SELECT id FROM ${S}`).pluck().all() as string[]).filter((x) => typeof x === "string");
      const maxSession = (db.prepare(`SELECT MAX(time_updated) FROM ${S}`).pluck().get() as number | null) ?? 0;
      const maxMessage = (db.prepare(`SELECT MAX(time_updated) FROM ${M}`).pluck().get() as number | null) ?? 0;
      const touched = db
        .prepare(`SELECT id FROM ${S} WHERE time_updated >= @since UNION SELECT DISTINCT session_id FROM ${M} WHERE time_updated >= @since`)
        .pluck()
        .all({ since }) as string[];
      return { allIds, watermark: Math.max(since, maxSession, maxMessage), touched };
    })();
    const sessionStmt = db.prepare(
      `SELECT id, ${col("parent_id")} AS parent, ${col("directory")} AS directory, ${col("title")} AS title,
              ${col("model")} AS model, ${col("time_created")} AS created, time_updated AS updated,
              ${col("time_archived")} AS archived
       FROM ${S} WHERE id = ?`,
    );
    const messagesStmt = db.prepare(`SELECT id, data FROM ${M} WHERE session_id = ?`);
    const partBytesStmt = partTable ? db.prepare(`SELECT COALESCE(SUM(LENGTH(data)), 0) FROM ${quoteIdent(partTable)} WHERE session_id = ?`).pluck() : null;
    let changed = 0;
    let bytes = 0;
    const readSession = db.transaction((id: string): OpencodeDbSession | null => {
      const row = sessionStmt.get(id) as Json | undefined;
      if (!row) return null; // messages of a session row that is gone
      const s: OpencodeDbSession = {
        id,
        parentId: str(row.parent),
        directory: str(row.directory),
        title: str(row.title),
        model: modelOf(row.model),
        created: num(row.created),
        updated: num(row.updated),
        archived: num(row.archived),
        messages: [],
        sizeBytes: 0,
        badRows: 0,
        lastBadRow: null,
      };
      for (const m of messagesStmt.iterate(id) as Iterable<{ id: string; data: string }>) {
        s.sizeBytes += m.data.length;
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch (err) {
          s.badRows++;
          s.lastBadRow = `message ${m.id}: invalid JSON (${(err as Error).message.slice(0, 120)})`;
          continue;
        }
        const msg = opencodeMessage(m.id, data);
        if (msg) s.messages.push(msg);
      }
      s.sizeBytes += partBytesStmt ? (partBytesStmt.get(id) as number) : 0;
      return s;
    });
    for (const id of touched) {
      const s = readSession(id);
      if (!s) continue;
      changed++;
      bytes += s.sizeBytes;
      onSession(s);
      await pause();
    }
    return { changed, bytes, allIds, watermark };
  } catch (err) {
    if (err instanceof OpencodeSchemaError || err instanceof AgentDbError) throw err;
    throw new AgentDbError(path, (err as Error).message);
  } finally {
    db.close();
  }
}
