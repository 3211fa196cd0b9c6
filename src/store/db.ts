import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { type BackupPolicy, backupBeforeMigration, checkStore, guardStore, isMarkedDamaged } from "./backup.ts";
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

/**
 * The database, or the folder it lives in, cannot be written by this user. SQLite would open a
 * write-protected file read-only and fail at the first write, so this is checked before opening;
 * the message says what to change.
 */
export class StoreUnwritableError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "StoreUnwritableError";
  }
}

/** A command that only reads was pointed at a database that does not exist: nothing is created (a mistyped ASM_DB). */
export class StoreMissingError extends Error {
  constructor(readonly path: string) {
    super(
      `no database at ${path}: this command only reads one and creates nothing. Check ASM_DB (or store.path) for a typo; "asm run" or "asm scan --once" creates the database.`,
    );
    this.name = "StoreMissingError";
  }
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code ?? String(err);
const fix = "or set ASM_DB to a path this user can write";

/** Creates the database's folder and proves the folder and (if it exists) the file writable. */
function ensureWritable(full: string): void {
  const dir = dirname(full);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreUnwritableError(
      full,
      `cannot create the folder ${dir} for the database ${full} (${codeOf(err)}): create it, writable by this user, ${fix}.`,
    );
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new StoreUnwritableError(
      full,
      `the folder ${dir} of the database is not writable (${codeOf(err)}): SQLite creates ${basename(full)}-wal and -shm beside ${basename(full)}. Make the folder writable by this user, ${fix}.`,
    );
  }
  if (!existsSync(full)) return;
  try {
    accessSync(full, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StoreUnwritableError(
      full,
      `the database ${full} is not writable (${codeOf(err)}; read-only file?): asm records every scan in it. Make it writable by this user (chmod u+rw ${full}), ${fix}. The file was not changed.`,
    );
  }
}

export interface OpenOptions {
  readonly?: boolean;
  /** Refuse (`StoreMissingError`) instead of creating a database that is not there: commands that only read. */
  mustExist?: boolean;
  migrations?: Migration[];
  /** Back up an existing database (if sound) before migrating it: `store.backupDir`, `store.backupKeep`. */
  backup?: BackupPolicy;
  now?: number;
}

/**
 * Opens (creating the folder and file if needed) the asm database: WAL, busy timeout, foreign keys,
 * and every pending migration, each in its own transaction. A database or folder this user cannot
 * write is a `StoreUnwritableError` before anything is opened.
 */
export function openStore(path: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? allMigrations;
  const supported = migrations.at(-1)?.version ?? 0;
  const full = path === ":memory:" ? path : resolve(path);
  if (full !== ":memory:" && options.mustExist && !existsSync(full)) throw new StoreMissingError(full);
  if (full !== ":memory:" && !options.readonly) ensureWritable(full);
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
    // Found damaged before (by asm run's check, maybe in another process): checked again now; still damaged,
    // this connection only reads (commands answer what they can) and nothing is migrated or written.
    if (full !== ":memory:" && !options.readonly && isMarkedDamaged(full) && guardStore(db, full, options.now ?? Date.now())) {
      if (current < supported)
        throw new Error("it is damaged (PRAGMA quick_check failed) and needs a migration; restore a backup (README: If the database is damaged)");
      return db;
    }
    if (options.backup && full !== ":memory:" && current > 0 && current < supported && checkStore(db).length === 0) {
      // The way back if a migration goes wrong; a damaged store is not copied over good backups (the integrity check reports it).
      backupBeforeMigration(db, options.backup, current, supported, options.now ?? Date.now());
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      try {
        // IMMEDIATE, with the version read again under the write lock: two processes opening a new
        // database at the same instant (two `asm run`) apply each migration once, never twice.
        db.transaction(() => {
          if ((db.pragma("user_version", { simple: true }) as number) >= m.version) return;
          db.exec(m.sql);
          db.pragma(`user_version = ${m.version}`);
        }).immediate();
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

/**
 * A SQLite error that says the database cannot be written or read at all (read-only, cannot open,
 * I/O error, disk full) rather than a bug: returned as a sentence saying what to check, else null.
 */
export function isStoreFault(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^SQLITE_(READONLY|CANTOPEN|IOERR|FULL|PERM)/.test(code)) return null;
  return `the database cannot be written (${code}: ${(err as Error).message}): check that ASM_DB (or store.path) is a file this user can write, on a disk with space.`;
}

export const schemaVersion = (db: Db) => db.pragma("user_version", { simple: true }) as number;
export { latestVersion };
