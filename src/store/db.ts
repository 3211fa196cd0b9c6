import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { migrations as allMigrations, latestVersion, type Migration } from "./migrations.ts";

export type Db = Database.Database;

/** The database was written by a newer asm; we refuse to touch it rather than corrupt it. */
export class StoreVersionError extends Error {
  constructor(
    readonly path: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `database ${path} has schema version ${found}, but this asm understands up to ${supported}: ` +
        "it was written by a newer asm. Upgrade asm, or point ASM_DB at another file. The file was not changed.",
    );
    this.name = "StoreVersionError";
  }
}

/** A migration failed; it was rolled back and the database is at `version`. */
export class MigrationError extends Error {
  constructor(
    readonly version: number,
    override readonly cause: unknown,
  ) {
    super(`migration ${version} failed and was rolled back: ${(cause as Error)?.message ?? cause}`);
    this.name = "MigrationError";
  }
}

/** The file exists but cannot be used as a database (not SQLite, unreadable, locked). */
export class StoreOpenError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`cannot open database ${path}: ${(cause as Error)?.message ?? cause}. The file was not changed.`);
    this.name = "StoreOpenError";
  }
}

export interface OpenOptions {
  readonly?: boolean;
  migrations?: Migration[];
}

/**
 * Opens (creating the folder and file if needed) the asm database: WAL, busy timeout, foreign keys,
 * and every pending migration, each in its own transaction.
 */
export function openStore(path: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? allMigrations;
  const supported = migrations.at(-1)?.version ?? 0;
  const full = path === ":memory:" ? path : resolve(path);
  if (full !== ":memory:") mkdirSync(dirname(full), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(full);
  } catch (err) {
    throw new StoreOpenError(full, err);
  }
  try {
    db.pragma("busy_timeout = 5000");
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > supported) throw new StoreVersionError(full, current, supported);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    for (const m of migrations) {
      if (m.version <= current) continue;
      try {
        db.transaction(() => {
          db.exec(m.sql);
          db.pragma(`user_version = ${m.version}`);
        })();
      } catch (err) {
        throw new MigrationError(m.version, err);
      }
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof StoreVersionError || err instanceof MigrationError) throw err;
    throw new StoreOpenError(full, err);
  }
}

export const schemaVersion = (db: Db) => db.pragma("user_version", { simple: true }) as number;
export { latestVersion };
