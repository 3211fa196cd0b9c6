import { closeSync, constants, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Database from "better-sqlite3";

/** Table name → its column names, as an agent's database has them today. */
export type SchemaMap = Map<string, Set<string>>;

/** An agent's SQLite store could not be opened or read; carries the path so the report names it. */
export class AgentDbError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** SQLite's extended result code, when SQLite raised it (`SQLITE_CANTOPEN`, …). */
    readonly code?: string,
  ) {
    super(`cannot read SQLite store ${path}: ${reason}`);
    this.name = "AgentDbError";
  }
}

/**
 * What SQLite says when a WAL-mode database's `-shm` cannot be created: the folder is read-only (a
 * read-only mount) and the agent that writes it is stopped, so no `-shm` is there to share.
 */
const noSharedMemory = new Set([
  "SQLITE_READONLY_DIRECTORY",
  "SQLITE_CANTOPEN",
  "SQLITE_READONLY_CANTINIT",
  "SQLITE_READONLY_RECOVERY",
  "SQLITE_READONLY_CANTLOCK",
]);

/**
 * Opens another program's SQLite database read-only. The agent keeps writing it (WAL), so we never
 * write, never checkpoint, never touch its `-wal`/`-shm` files, and wait briefly on a lock instead
 * of failing. Keep every read short: one statement or one small transaction, then close.
 *
 * A WAL-mode store in a folder we cannot write whose agent is stopped (no `-shm`) cannot be opened in
 * place: SQLite must create the `-shm` even to read. Its immutable mode would do (`?immutable=1`), but
 * better-sqlite3 is built without URI filenames, so such a store is read from a private copy instead
 * (see `snapshotOf`): taken again whenever the store or its `-wal` changes, so every call, each cycle,
 * sees the agent's latest committed data.
 */
export function openAgentDb(path: string, busyTimeoutMs = 2000): Database.Database {
  try {
    return openReadOnly(path, busyTimeoutMs);
  } catch (err) {
    if (!(err instanceof AgentDbError) || !noSharedMemory.has(err.code ?? "") || !isWalMode(path)) throw err;
    let copy: string;
    try {
      copy = snapshotOf(path);
    } catch (copyErr) {
      throw new AgentDbError(path, `${err.reason}; a private copy failed too: ${(copyErr as Error).message}`);
    }
    return openReadOnly(copy, busyTimeoutMs, path);
  }
}

/** Opens read-only and reads the schema once, so a WAL store that cannot be read fails here, not in the caller. */
function openReadOnly(file: string, busyTimeoutMs: number, reportAs = file): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw agentDbError(reportAs, err);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // Read-only at the SQL level too: a bug here can never modify the agent's data.
    db.pragma("query_only = ON");
    db.prepare("SELECT count(*) FROM sqlite_master").pluck().get();
    return db;
  } catch (err) {
    db.close();
    throw agentDbError(reportAs, err);
  }
}

const agentDbError = (path: string, err: unknown) => new AgentDbError(path, (err as Error).message, (err as { code?: string }).code);

/** Is the file an SQLite database in WAL mode (header bytes 18 and 19 are 2)? */
function isWalMode(path: string): boolean {
  const header = Buffer.alloc(20);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** One private copy per store: where it is and what the store looked like when it was taken. */
const snapshots = new Map<string, { signature: string; file: string }>();
let snapshotRoot: string | null = null;
let snapshotCount = 0;

const signatureOf = (path: string): string => {
  const st = statSync(path);
  const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
  return [st.ino, st.size, st.mtimeMs, wal?.size ?? "-", wal?.mtimeMs ?? "-"].join(":");
};

/**
 * A private copy of a store (and its `-wal`) in a temp folder we own, where SQLite may create its
 * `-shm`. Reused while the store and its `-wal` are unchanged (a stopped agent's store does not change:
 * one copy per process); a changed store gets a new file, so a connection still reading the old copy
 * keeps a consistent view. Copies are removed when the process exits.
 */
function snapshotOf(path: string): string {
  const signature = signatureOf(path);
  const known = snapshots.get(path);
  if (known?.signature === signature && existsSync(known.file)) return known.file;
  if (!snapshotRoot) {
    const root = mkdtempSync(join(tmpdir(), "asm-agent-db-"));
    snapshotRoot = root;
    process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  }
  const file = join(snapshotRoot, `${++snapshotCount}-${basename(path)}`);
  copyFileSync(path, file, constants.COPYFILE_FICLONE);
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${file}-wal`, constants.COPYFILE_FICLONE);
  // Unlinking keeps an open connection on the old copy working (it holds the files open).
  if (known) for (const suffix of ["", "-wal", "-shm"]) rmSync(`${known.file}${suffix}`, { force: true });
  snapshots.set(path, { signature, file });
  return file;
}

/** The tables and columns present, from sqlite_master; names change between agent builds. */
export function readSchema(db: Database.Database): SchemaMap {
  const out: SchemaMap = new Map();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").all() as {
    name: string;
  }[];
  for (const { name } of tables) {
    if (name.startsWith("sqlite_")) continue;
    const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as { name: string }[];
    out.set(name, new Set(cols.map((c) => c.name)));
  }
  return out;
}

/** The first of `candidates` that exists and has every column in `required`. */
export function pickTable(schema: SchemaMap, candidates: readonly string[], required: readonly string[]): string | null {
  for (const name of candidates) {
    const cols = schema.get(name);
    if (cols && required.every((c) => cols.has(c))) return name;
  }
  return null;
}

/** Quotes an identifier taken from sqlite_master so it can go into SQL text. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
