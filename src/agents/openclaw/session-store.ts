import { constants, copyFileSync, existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { SessionRecord } from "../session.ts";

/** Editing an OpenClaw `sessions.json` failed; nothing was changed unless `backupPath` says a backup exists. */
export class SessionStoreEditError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly backupPath: string | null = null,
  ) {
    super(`cannot edit ${path}: ${reason}`);
    this.name = "SessionStoreEditError";
  }
}

export interface RemovedEntries {
  path: string;
  backupPath: string;
  /** Keys removed now. */
  removed: string[];
  /** Keys that were already gone. */
  missing: string[];
}

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/**
 * The `sessions.json` that holds an OpenClaw session of the file era, or null when none is found: the
 * store the scan recorded, the one beside its transcript, or `<root>/agents/<agentId>/sessions/sessions.json`.
 */
export function jsonStorePath(root: string, s: Pick<SessionRecord, "extra" | "path" | "agentId">): string | null {
  const candidates = [
    str(s.extra.storePath),
    s.path ? join(dirname(s.path), "sessions.json") : null,
    join(root, "agents", s.agentId ?? "main", "sessions", "sessions.json"),
  ];
  return candidates.find((p): p is string => p !== null && existsSync(p)) ?? null;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `sessions.json.bak-YYYYmmdd-HHMMSS` in local time, beside the store; `-2`, `-3`… if taken. */
export function backupPathFor(path: string, now: Date): string {
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const first = join(dirname(path), `${basename(path)}.bak-${stamp}`);
  let candidate = first;
  for (let i = 2; existsSync(candidate); i++) candidate = `${first}-${i}`;
  return candidate;
}

/**
 * Removes entries (by session key) from an OpenClaw JSON session store, the way an approved reset or
 * cleanup does it on older OpenClaw versions that have no CLI for it: copy the file to a timestamped
 * backup first, then write the new content to a temp file beside it and rename it over the original,
 * so a crash leaves either the old or the new store, never half of one. Transcripts are left alone.
 */
export function removeJsonStoreEntries(path: string, keys: string[], now = new Date()): RemovedEntries {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SessionStoreEditError(path, `not readable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let store: unknown;
  try {
    store = JSON.parse(text);
  } catch (err) {
    throw new SessionStoreEditError(path, `not valid JSON (${(err as Error).message}); left as it is`);
  }
  if (typeof store !== "object" || store === null || Array.isArray(store)) {
    throw new SessionStoreEditError(path, "not a JSON object keyed by session key; left as it is");
  }
  const entries = store as Record<string, unknown>;
  const removed = keys.filter((k) => Object.hasOwn(entries, k));
  const missing = keys.filter((k) => !Object.hasOwn(entries, k));
  const backupPath = backupPathFor(path, now);
  try {
    copyFileSync(path, backupPath, constants.COPYFILE_EXCL);
  } catch (err) {
    throw new SessionStoreEditError(path, `backup to ${backupPath} failed (${(err as Error).message}); nothing changed`);
  }
  if (removed.length === 0) return { path, backupPath, removed, missing };
  for (const k of removed) delete entries[k];
  const temp = join(dirname(path), `.${basename(path)}.asm-${process.pid}-${Date.now()}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(entries, null, 2)}\n`, { mode: statSync(path).mode & 0o777, flag: "wx" });
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // The temp file was never created.
    }
    throw new SessionStoreEditError(path, `write failed (${(err as Error).message}); the original is unchanged`, backupPath);
  }
  return { path, backupPath, removed, missing };
}

/** Which of `keys` are still in the store (verification after a reset); null when it cannot be read. */
export function keysPresent(path: string, keys: string[]): string[] | null {
  try {
    const store = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    return keys.filter((k) => Object.hasOwn(store, k));
  } catch {
    return null;
  }
}
