import type { FileIdentity, PreviousRead } from "../lib/jsonl-reader.ts";
import type { Db } from "./db.ts";

/**
 * What asm remembers about one agent file between scan cycles (a row of the `files` table): identity
 * (dev + inode), the size and mtime it last saw, how far it has read (byte offset, line count), a
 * fingerprint of the bytes before the offset, the adapter's own parser state, and the session it feeds.
 *
 * Usage in a source (see jsonl-reader.ts for the read itself):
 * ```ts
 * const files = new FileStore(ctx.db);
 * const known = files.bySource("claude");           // one query per cycle: Map<path, FileCursor>
 * ... for each file on disk: planRead(path, st, known.get(path)) ... readLines(...)
 * files.put({ path, source: "claude", ...identity(st), offset, lineNo, tail, sessionUid, state: JSON.stringify(s), seenAt: now });
 * ... for each path in `known` not seen on disk: sessions.markGone(cursor.sessionUid); files.delete(path);
 * ```
 * `state` stays a JSON string until the adapter parses it: a no-change cycle never decodes it.
 */
export interface FileCursor extends PreviousRead {
  path: string;
  /** The platform (or a sub-kind such as "openclaw-store") that owns this file. */
  source: string;
  sessionUid: string | null;
  /** The adapter's parser state as JSON text (parse only when the file changed). */
  state: string;
  seenAt: number;
}

interface Row {
  path: string;
  source: string;
  dev: number;
  ino: number;
  size: number;
  mtime_ms: number;
  offset: number;
  line_no: number;
  session_uid: string | null;
  state: string;
  seen_at: number;
}

/**
 * The tail fingerprint lives inside the stored state text as `{"t":"<base64>","s":<adapter state>}`. Base64
 * has no quotes, so both parts are cut out with string slices: loading 10,000 cursors parses no JSON.
 */
const ENVELOPE = '{"t":"';
const STATE_KEY = '","s":';

const fromRow = (r: Row): FileCursor => {
  let tail = "";
  let state = r.state;
  if (r.state.startsWith(ENVELOPE)) {
    const sep = r.state.indexOf(STATE_KEY, ENVELOPE.length);
    if (sep !== -1) {
      tail = r.state.slice(ENVELOPE.length, sep);
      state = r.state.slice(sep + STATE_KEY.length, -1);
    }
  }
  return {
    path: r.path,
    source: r.source,
    dev: r.dev,
    ino: r.ino,
    size: r.size,
    mtimeMs: r.mtime_ms,
    offset: r.offset,
    lineNo: r.line_no,
    tail,
    sessionUid: r.session_uid,
    state,
    seenAt: r.seen_at,
  };
};

/** Reads and writes the `files` table (file cursors). */
export class FileStore {
  private readonly putStmt;
  private readonly delStmt;
  private readonly getStmt;
  private readonly bySourceStmt;
  private readonly indexStmt;
  private readonly stateStmt;

  constructor(private readonly db: Db) {
    this.putStmt = db.prepare(
      `INSERT INTO files (path, source, dev, ino, size, mtime_ms, offset, line_no, session_uid, state, seen_at)
       VALUES (@path, @source, @dev, @ino, @size, @mtimeMs, @offset, @lineNo, @sessionUid, @state, @seenAt)
       ON CONFLICT(path) DO UPDATE SET source = excluded.source, dev = excluded.dev, ino = excluded.ino,
         size = excluded.size, mtime_ms = excluded.mtime_ms, offset = excluded.offset, line_no = excluded.line_no,
         session_uid = excluded.session_uid, state = excluded.state, seen_at = excluded.seen_at`,
    );
    this.delStmt = db.prepare("DELETE FROM files WHERE path = ?");
    this.getStmt = db.prepare("SELECT * FROM files WHERE path = ?");
    this.bySourceStmt = db.prepare("SELECT * FROM files WHERE source = ?");
    // Answered from the files_cursor index alone (migration 4): the rows, with their parser states, are read
    // only for files that changed (`stateOf`).
    this.indexStmt = db
      .prepare("SELECT path, dev, ino, size, mtime_ms, offset, line_no, session_uid FROM files INDEXED BY files_cursor WHERE source = ?")
      .raw();
    this.stateStmt = db.prepare("SELECT state FROM files WHERE path = ?").pluck();
  }

  get(path: string): FileCursor | undefined {
    const row = this.getStmt.get(path) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Every cursor of one source, keyed by path: load once per cycle, then compare with stat results. */
  bySource(source: string): Map<string, FileCursor> {
    const out = new Map<string, FileCursor>();
    for (const row of this.bySourceStmt.iterate(source) as Iterable<Row>) out.set(row.path, fromRow(row));
    return out;
  }

  /**
   * Like `bySource` but without the parser states and tails (`state` and `tail` are "", `seenAt` 0): what a
   * cycle needs to decide which files changed. Fetch them for a changed file with `detailsOf`/`stateOf`. This keeps a no-change cycle over 10,000 files
   * from loading megabytes of state text.
   */
  index(source: string): Map<string, FileCursor> {
    const out = new Map<string, FileCursor>();
    for (const r of this.indexStmt.all(source) as [string, number, number, number, number, number, number, string | null][]) {
      out.set(r[0], {
        path: r[0],
        source,
        dev: r[1],
        ino: r[2],
        size: r[3],
        mtimeMs: r[4],
        offset: r[5],
        lineNo: r[6],
        tail: "",
        sessionUid: r[7],
        state: "",
        seenAt: 0,
      });
    }
    return out;
  }

  /** The tail fingerprint and parser state (JSON text) of one file, or undefined when it has no cursor. */
  detailsOf(path: string): { tail: string; state: string } | undefined {
    const raw = this.stateStmt.get(path) as string | undefined;
    if (raw === undefined) return undefined;
    const c = fromRow({ state: raw } as Row);
    return { tail: c.tail, state: c.state };
  }

  /** The parser state (JSON text) of one file, or undefined when it has no cursor. */
  stateOf(path: string): string | undefined {
    const raw = this.stateStmt.get(path) as string | undefined;
    return raw === undefined ? undefined : fromRow({ state: raw } as Row).state;
  }

  /** Inserts or replaces a cursor. `state` must be JSON text. */
  put(c: FileCursor): void {
    const envelope = `${ENVELOPE}${c.tail}${STATE_KEY}${c.state || "{}"}}`;
    this.putStmt.run({
      path: c.path,
      source: c.source,
      dev: c.dev,
      ino: c.ino,
      size: c.size,
      mtimeMs: Math.trunc(c.mtimeMs),
      offset: c.offset,
      lineNo: c.lineNo,
      sessionUid: c.sessionUid,
      state: envelope,
      seenAt: c.seenAt,
    });
  }

  /**
   * Remembers a document or store that is read whole, not by offset (sessions.json, a Gemini `.json` chat,
   * an agent's SQLite store): its identity and our parsed `state`. `retry` forgets the size, so the next
   * cycle reads it again even if it does not change (a document caught mid-write).
   */
  putWhole(path: string, source: string, st: FileIdentity, state: unknown, opts: { now: number; sessionUid?: string | null; retry?: boolean }): void {
    this.put({
      path,
      source,
      ...st,
      ...(opts.retry ? { size: -1 } : {}),
      offset: 0,
      lineNo: 0,
      tail: "",
      sessionUid: opts.sessionUid ?? null,
      state: JSON.stringify(state),
      seenAt: opts.now,
    });
  }

  delete(path: string): void {
    this.delStmt.run(path);
  }

  /** Runs `fn` in one transaction (a cycle's writes batched: far fewer fsyncs). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
