import { closeSync, openSync, type Stats, statSync } from "node:fs";

/**
 * One vocabulary for what a file-system error means to a scan: a path that is **gone** (ENOENT, ENOTDIR:
 * the session ended, the folder was removed) is not the same as a path that is **unreadable** (EACCES,
 * EPERM, EIO, ELOOP, EMFILE...: it is still there, or may be, and we cannot look). What we knew about an
 * unreadable path stays as it was, and the path is reported; only a gone path ends what came from it.
 *
 * ```ts
 * const at = statPath(path);
 * if (at.kind === "gone") markGone(uid);
 * else if (at.kind === "unreadable") result.errors.push(at.reason);   // "cannot read <path>: EACCES"
 * ```
 */

/** The errno code of an error (`ENOENT`, `EACCES`, ...), or undefined when it is not a system error. */
export const errnoOf = (err: unknown): string | undefined => {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** The path is not there: it, or a folder on the way to it, does not exist (or is not a folder). */
export const isGoneError = (err: unknown): boolean => {
  const code = errnoOf(err);
  return code === "ENOENT" || code === "ENOTDIR";
};

/** A system error other than "not there": the path may exist but cannot be read now. */
export const isUnreadableError = (err: unknown): boolean => errnoOf(err) !== undefined && !isGoneError(err);

/** "cannot read <path>: <code>": names the path, never more than the errno code (or message) of what failed. */
export const unreadableReason = (path: string, err: unknown, verb = "read"): string =>
  `cannot ${verb} ${path}: ${errnoOf(err) ?? (err instanceof Error ? err.message : String(err))}`;

/** What `stat` says about a path, in the three cases a scan tells apart. */
export type PathState = { kind: "present"; stats: Stats } | { kind: "gone" } | { kind: "unreadable"; reason: string; code: string };

/** Stats a path (following links) without throwing: present, gone, or unreadable with the reason. */
export function statPath(path: string): PathState {
  try {
    return { kind: "present", stats: statSync(path) };
  } catch (err) {
    if (isGoneError(err)) return { kind: "gone" };
    return { kind: "unreadable", reason: unreadableReason(path, err), code: errnoOf(err) ?? "error" };
  }
}

/** Opens and closes a file to learn whether it can be read now: null when it can, else the error. */
export function openError(path: string): unknown {
  try {
    closeSync(openSync(path, "r"));
    return null;
  } catch (err) {
    return err;
  }
}
