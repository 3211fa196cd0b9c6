import { type Dirent, readdirSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { errnoOf, isGoneError } from "./fs-errors.ts";

/** Why a folder could not be listed (other than not existing), for the scan's error list. */
export interface WalkProblem {
  path: string;
  reason: string;
}

export interface WalkOptions {
  /** Which files to keep, by name (cheap: no stat). */
  accept: (name: string) => boolean;
  /** Folders not to descend into, by name and depth below the root (root's children are depth 1). */
  skipDir?: (name: string, depth: number) => boolean;
  maxDepth?: number;
  problems?: WalkProblem[];
}

/**
 * Lists the files under `root` whose names pass `accept`, recursively, with one `readdir` per folder and
 * no stat (the caller stats what it reads). A missing root yields nothing; an unreadable folder, and a
 * link that cannot be followed for any reason but pointing nowhere (a loop: ELOOP), is recorded in
 * `problems` and skipped while the rest is listed. Symlinked folders are not followed (no loops);
 * symlinked files are.
 */
export function walkFiles(root: string, opts: WalkOptions): string[] {
  const out: string[] = [];
  const maxDepth = opts.maxDepth ?? 32;
  // Paths are built by concatenation from a resolved root: path.join's normalisation is measurable at 10,000 files.
  const base = resolve(root);
  const visit = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || depth > 0) opts.problems?.push({ path: dir, reason: code ?? String(err) });
      return;
    }
    for (const e of entries) {
      const name = e.name;
      if (e.isDirectory()) {
        if (depth + 1 <= maxDepth && !opts.skipDir?.(name, depth + 1)) visit(dir + sep + name, depth + 1);
      } else if (e.isFile()) {
        if (opts.accept(name)) out.push(dir + sep + name);
      } else if (e.isSymbolicLink() && opts.accept(name)) {
        const p = dir + sep + name;
        try {
          if (statSync(p).isFile()) out.push(p);
        } catch (err) {
          // A dangling link is not a session file; a loop or a refusal is a problem with this entry only.
          if (!isGoneError(err)) opts.problems?.push({ path: p, reason: errnoOf(err) ?? String(err) });
        }
      }
    }
  };
  visit(base, 0);
  return out;
}
