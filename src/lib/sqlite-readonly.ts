import Database from "better-sqlite3";

/** Table name → its column names, as an agent's database has them today. */
export type SchemaMap = Map<string, Set<string>>;

/** An agent's SQLite store could not be opened or read; carries the path so the report names it. */
export class AgentDbError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot read SQLite store ${path}: ${reason}`);
    this.name = "AgentDbError";
  }
}

/**
 * Opens another program's SQLite database read-only. The agent keeps writing it (WAL), so we never
 * write, never checkpoint, never touch its `-wal`/`-shm` files, and wait briefly on a lock instead
 * of failing. Keep every read short: one statement or one small transaction, then close.
 */
export function openAgentDb(path: string, busyTimeoutMs = 2000): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new AgentDbError(path, (err as Error).message);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // Read-only at the SQL level too: a bug here can never modify the agent's data.
    db.pragma("query_only = ON");
    return db;
  } catch (err) {
    db.close();
    throw new AgentDbError(path, (err as Error).message);
  }
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
