import { type Dirent, readdirSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";

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
 * no stat (the caller stats what it reads). A missing root yields nothing; an unreadable folder is
 * recorded in `problems` and skipped. Symlinked folders are not followed (no loops); symlinked files are.
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
        } catch {
          // a dangling link is not a session file
        }
      }
    }
  };
  visit(base, 0);
  return out;
}
