import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type Database from "better-sqlite3";
import { runThread, threadEntry } from "../lib/threads.ts";

type Db = Database.Database;

/**
 * Integrity and backups of asm's own database. SQLite does not notice damaged pages until a query
 * reads them, so `PRAGMA quick_check` runs at start and daily; a damaged store is marked (a
 * `<db>.damaged` file beside it, readable by `asm health` in another process) and this process's
 * connection is made read-only, so nothing more is written into it. The way back is a backup:
 * SQLite's online backup (`db.backup()`) daily after a passing check, and a `VACUUM INTO` copy
 * before migrations (opening is synchronous). Backups rotate per kind, `keep` of each.
 */

/** What a failed integrity check found, as stored in the marker file. */
export interface StoreDamage {
  /** The database file. */
  path: string;
  /** When it was found (epoch ms). */
  at: number;
  /** quick_check's lines (at most 20), or the error the check itself raised. */
  problems: string[];
}

/** What the main thread hands the check thread (check-thread.ts), structured-cloned. */
export interface StoreCheckInput {
  /** Marks the worker as the store check: importing check-thread.ts anywhere else does nothing. */
  asmStoreCheck: true;
  /** asm's database file, opened read-only there: a check never writes. */
  dbPath: string;
}

/** What the check thread posts, once: quick_check's findings ([] = sound). */
export interface StoreCheckMessage {
  problems: string[];
}

/** Where backups go and how many of each kind to keep (`store.backupDir`, `store.backupKeep`). */
export interface BackupPolicy {
  dir: string;
  keep: number;
}

/** A backup could not be written; carries the target for the log and the self alert. */
export class BackupError extends Error {
  constructor(
    readonly target: string,
    override readonly cause: unknown,
  ) {
    super(`cannot back up the database to ${target}: ${(cause as Error)?.message ?? cause}`);
    this.name = "BackupError";
  }
}

const MAX_PROBLEMS = 20;
const BACKUP_NAME = /^asm-(\d{8}T\d{6}Z)-([a-z0-9-]+)\.db$/;

/** The marker file that says `dbPath` was found damaged. */
export const damageMarkerOf = (dbPath: string): string => `${resolve(dbPath)}.damaged`;

/** The backup folder: `store.backupDir`, else `backups` beside the database. */
export const backupDirOf = (dbPath: string, backupDir: string | null): string => backupDir ?? join(dirname(resolve(dbPath)), "backups");

/**
 * Runs `PRAGMA quick_check` (pages, records, indexes' order; not index contents, so it stays fast) and
 * returns what is wrong: [] for a sound store. A check that itself fails (SQLITE_CORRUPT, NOTADB) is a finding too.
 */
export function checkStore(db: Db): string[] {
  try {
    const rows = db.pragma(`quick_check(${MAX_PROBLEMS})`) as Array<{ quick_check: string }>;
    // One row may hold several problems, one a line, under a "*** in database main ***" heading.
    const lines = rows.flatMap((r) => r.quick_check.split("\n")).filter((l) => l.trim() !== "" && !l.startsWith("***"));
    return lines.length === 1 && lines[0] === "ok" ? [] : lines.slice(0, MAX_PROBLEMS);
  } catch (err) {
    return [`${(err as { code?: string }).code ?? "error"}: ${(err as Error).message}`];
  }
}

/** The damage recorded for `dbPath`, or null (no marker, or an unreadable one: then the next check says). */
export function readStoreDamage(dbPath: string): StoreDamage | null {
  try {
    const v = JSON.parse(readFileSync(damageMarkerOf(dbPath), "utf8")) as StoreDamage;
    return Array.isArray(v.problems) && typeof v.at === "number" ? v : null;
  } catch {
    return null;
  }
}

/** When each connection was last found sound; a check within `recheckAfterMs` of it is not run again. */
const soundAt = new WeakMap<Db, number>();
const recheckAfterMs = 60_000;

/** The time a backup's stamp (`20261205T043402Z`) names, in epoch ms. */
export function stampTime(s: string): number {
  return Date.parse(s.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
}

/**
 * Checks the store behind `db` (file `dbPath`). Damaged: the marker is written, the connection is switched to
 * `query_only` (every write is refused by SQLite; reads go on as far as the pages allow) and the damage is
 * returned. Sound: a marker left from before (the file was restored) is removed, and null is returned.
 */
export function guardStore(db: Db, dbPath: string, now: number): StoreDamage | null {
  // `asm run` checks before its first write and its integrity job again as it starts: one read of every page is enough.
  if (checkedRecently(db, now)) return null;
  return settleCheck(db, dbPath, now, checkStore(db));
}

/**
 * `guardStore` with the reading done in a worker thread over a read-only connection of its own, so a large store's
 * daily check (every page read: about 140 ms for 40 MB here) never holds the event loop. A store in memory, or a
 * thread that cannot run, is checked here instead.
 */
export async function guardStoreOffThread(db: Db, dbPath: string, now: number, timeoutMs = 10 * 60_000): Promise<StoreDamage | null> {
  if (checkedRecently(db, now)) return null;
  let problems: string[];
  try {
    problems = db.memory ? checkStore(db) : await checkInThread(db.name, timeoutMs);
  } catch {
    problems = checkStore(db);
  }
  return settleCheck(db, dbPath, now, problems);
}

/** Thrown when the check thread crashes, hangs or exits without an answer (the caller then checks in-process). */
export class StoreCheckThreadError extends Error {
  constructor(
    readonly dbPath: string,
    detail: string,
  ) {
    super(`store check thread for ${dbPath} ${detail}`);
    this.name = "StoreCheckThreadError";
  }
}

/** `checkStore` of the file at `dbPath`, run in a worker thread over a read-only connection. */
export function checkInThread(dbPath: string, timeoutMs = 10 * 60_000): Promise<string[]> {
  const input: StoreCheckInput = { asmStoreCheck: true, dbPath };
  return runThread({
    entry: threadEntry(import.meta.url, "check-thread"),
    workerData: input,
    timeoutMs,
    answer: (m) => (m as StoreCheckMessage).problems,
    fail: (detail) => new StoreCheckThreadError(dbPath, detail),
  });
}

const checkedRecently = (db: Db, now: number): boolean => {
  const sound = soundAt.get(db);
  return sound !== undefined && now >= sound && now - sound < recheckAfterMs;
};

/** Marks or clears the damage `problems` say, and turns the connection read-only or writable to match. */
function settleCheck(db: Db, dbPath: string, now: number, problems: string[]): StoreDamage | null {
  const marker = damageMarkerOf(dbPath);
  if (problems.length === 0) {
    rmSync(marker, { force: true });
    db.pragma("query_only = OFF");
    soundAt.set(db, now);
    return null;
  }
  soundAt.delete(db);
  db.pragma("query_only = ON");
  const damage: StoreDamage = { path: resolve(dbPath), at: readStoreDamage(dbPath)?.at ?? now, problems };
  writeFileSync(marker, `${JSON.stringify(damage, null, 2)}\n`);
  return damage;
}

const stamp = (now: number) =>
  new Date(now)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");

/** Backups in `dir`, newest first, with their kind ("daily", "pre-migration-v12", …). */
export function listBackups(dir: string): Array<{ path: string; kind: string; stamp: string }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const m = BACKUP_NAME.exec(name);
      return m ? [{ path: join(dir, name), stamp: m[1]!, kind: m[2]!.replace(/(-v\d+)+$/, "") }] : [];
    })
    .sort((a, b) => b.stamp.localeCompare(a.stamp) || b.path.localeCompare(a.path));
}

/** Deletes all but the newest `keep` backups of `kind`. */
function prune(dir: string, kind: string, keep: number): void {
  for (const old of listBackups(dir)
    .filter((b) => b.kind === kind)
    .slice(keep))
    rmSync(old.path, { force: true });
}

/** Written under a temporary name and renamed: a half-written backup never looks like one. */
function target(policy: BackupPolicy, label: string, now: number): { tmp: string; final: string } {
  mkdirSync(policy.dir, { recursive: true });
  const final = join(policy.dir, `asm-${stamp(now)}-${label}.db`);
  return { tmp: `${final}.partial`, final };
}

/**
 * SQLite's online backup of the open database into the backup folder (pages copied in steps, writers not
 * blocked), then rotation to `keep` daily backups. Returns the file. Throws BackupError.
 */
export async function backupStore(db: Db, policy: BackupPolicy, now: number, label = "daily"): Promise<string> {
  const { tmp, final } = target(policy, label, now);
  try {
    await db.backup(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(final, err);
  }
  prune(policy.dir, label, policy.keep);
  return final;
}

/**
 * A copy taken before migrating from `from` to `to` (synchronous, as opening is: `VACUUM INTO`, a consistent
 * snapshot by SQLite itself). Kept `keep` deep like the daily ones. Returns the file. Throws BackupError.
 */
export function backupBeforeMigration(db: Db, policy: BackupPolicy, from: number, to: number, now: number): string {
  const { tmp, final } = target(policy, `pre-migration-v${from}-v${to}`, now);
  try {
    rmSync(tmp, { force: true });
    db.prepare("VACUUM INTO ?").run(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(final, err);
  }
  prune(policy.dir, "pre-migration", policy.keep);
  return final;
}

/** True when `path` holds a damage marker (cheap; for views that must not query a damaged store). */
export const isMarkedDamaged = (dbPath: string): boolean => existsSync(damageMarkerOf(dbPath));
