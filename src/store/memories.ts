import type { Db } from "./db.ts";

/** One stored memory of a session (the `session_memories` table); `memoryJson` is the document itself. */
export interface MemoryRow {
  id: number;
  sessionUid: string;
  platform: string;
  sessionId: string;
  kind: string;
  tokens: number;
  handoverCount: number;
  filePath: string | null;
  memoryJson: string;
  createdAt: number;
}

const select = `SELECT id, session_uid AS sessionUid, platform, session_id AS sessionId, kind, tokens, handover_count AS handoverCount,
  file_path AS filePath, memory_json AS memoryJson, created_at AS createdAt FROM session_memories`;

/** Reads and writes the `session_memories` table. Building memories lives in `src/handover/`. */
export class MemoryStore {
  constructor(private readonly db: Db) {}

  insert(row: Omit<MemoryRow, "id">): number {
    const r = this.db
      .prepare(
        `INSERT INTO session_memories (session_uid, platform, session_id, kind, tokens, handover_count, file_path, memory_json, created_at)
         VALUES (@sessionUid, @platform, @sessionId, @kind, @tokens, @handoverCount, @filePath, @memoryJson, @createdAt)`,
      )
      .run(row);
    return Number(r.lastInsertRowid);
  }

  /** The newest memory of a session. */
  latest(sessionUid: string): MemoryRow | undefined {
    return this.db.prepare(`${select} WHERE session_uid = ? ORDER BY id DESC LIMIT 1`).get(sessionUid) as MemoryRow | undefined;
  }

  forSession(sessionUid: string): MemoryRow[] {
    return this.db.prepare(`${select} WHERE session_uid = ? ORDER BY id`).all(sessionUid) as MemoryRow[];
  }
}
