import { hostname } from "node:os";
import type { Db } from "./db.ts";
import type { KvStore } from "./kv.ts";

/** Who holds the database for `asm run`. */
export interface RunOwner {
  pid: number;
  host: string;
  since: number;
  heartbeatAt: number;
}

/** Another `asm run` is using this database: two would both scan, and both poll the same bot token. */
export class AlreadyRunningError extends Error {
  constructor(
    readonly path: string,
    readonly owner: RunOwner,
  ) {
    super(
      `another asm run (pid ${owner.pid} on ${owner.host}, since ${new Date(owner.since).toISOString()}) is using ${path}. ` +
        "Stop it first, or point ASM_DB at another file.",
    );
    this.name = "AlreadyRunningError";
  }
}

const KEY = "run.owner";
/** A holder that has not refreshed its heartbeat for this long is gone (killed, or its machine died). */
export const STALE_AFTER_MS = 90_000;
const HEARTBEAT_MS = 30_000;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Makes `asm run` single-instance per database. The claim is a kv row taken in one IMMEDIATE
 * transaction; it is free when absent, when its heartbeat is stale, or when it names a process on
 * this host that no longer exists (a SIGKILLed run restarted at once takes over). Two runs started
 * at the same instant on a new database both get here (`openStore` applies each migration once, under
 * the write lock), and exactly one wins the claim. Returns a release function that stops the heartbeat
 * and removes our claim.
 */
export function claimRun(db: Db, kv: KvStore, path: string, now: () => number = Date.now): () => void {
  // A store found damaged takes no writes, not even the claim (backup.ts): the bot still starts and answers.
  const readOnly = () => db.pragma("query_only", { simple: true }) === 1;
  if (readOnly()) return () => {};
  const me: RunOwner = { pid: process.pid, host: hostname(), since: now(), heartbeatAt: now() };
  db.transaction(() => {
    const owner = kv.get<RunOwner>(KEY);
    const mine = owner?.pid === me.pid && owner.host === me.host;
    const held = owner && !mine && now() - owner.heartbeatAt < STALE_AFTER_MS && (owner.host !== me.host || alive(owner.pid));
    if (held) throw new AlreadyRunningError(path, owner);
    kv.set(KEY, me);
  }).immediate();
  const timer = setInterval(() => {
    try {
      kv.set(KEY, { ...me, heartbeatAt: now() });
    } catch {
      // A busy or closing database: the next beat retries; a stale claim only lets a later run start.
    }
  }, HEARTBEAT_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (readOnly()) return; // found damaged while running: the claim stays, and goes stale
    db.transaction(() => {
      const owner = kv.get<RunOwner>(KEY);
      if (owner?.pid === me.pid && owner.host === me.host) db.prepare("DELETE FROM kv WHERE key = ?").run(KEY);
    }).immediate();
  };
}
