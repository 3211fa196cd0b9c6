import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { PermissionAction } from "../agents/driver.ts";

/** One rule of `runner.drivers.<agent>.autoRespond.rules`. */
export interface AutoRule {
  allow: "read" | "edit" | "command";
  commands: string[];
}

/**
 * Which rule allows this request without a person, as a person reads it ("read inside the workspace",
 * "command npm test"), or null when none does and a person must decide.
 *
 * Rules never widen beyond the workspace: every path must resolve (symlinks followed) inside `cwd`, and a command
 * matches only when it is plain words — no shell operator, substitution or redirection that could run or write
 * something the listed prefix does not name. Anything the agent did not describe (`other`, or no action) asks.
 */
export function autoResponse(action: PermissionAction | undefined, cwd: string, rules: readonly AutoRule[]): string | null {
  if (!action || action.kind === "other") return null;
  for (const rule of rules) {
    if (action.kind === "command" && rule.allow === "command") {
      const prefix = rule.commands.find((p) => commandMatches(action.command, p));
      if (prefix) return `command ${prefix}`;
    }
    if ((action.kind === "read" || action.kind === "edit") && rule.allow === action.kind) {
      if (action.paths.length && action.paths.every((p) => insideWorkspace(p, cwd))) return `${action.kind} inside the workspace`;
    }
  }
  return null;
}

/** Characters that make a command line more than plain words: chaining, pipes, substitution, redirection, globbing of names. */
const SHELL_SYNTAX = /[;&|`$<>(){}\n\r\\*?[\]!~#]/;

/** Shells whose `-c`/`-lc <script>` wrapper is looked through (agents often run `bash -lc "<command>"`). */
const SHELLS = new Set(["bash", "sh", "zsh", "dash"]);

/**
 * True when `command`, read as plain words, starts with the words of `prefix` ("npm test" matches "npm test" and
 * "npm test -- --run x", not "npm testing" nor "npm test; rm -rf ~").
 */
export function commandMatches(command: string, prefix: string): boolean {
  const words = plainWords(command);
  const want = plainWords(prefix);
  if (!words || !want || want.length === 0 || words.length < want.length) return false;
  return want.every((w, i) => words[i] === w);
}

/** The words of a command with no shell syntax, with simple quotes removed, a `bash -c '<cmd>'` wrapper opened; else null. */
function plainWords(command: string, depth = 0): string[] | null {
  if (/[\n\r\0]/.test(command)) return null; // a second line is a second command
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(command.trim()); m; m = re.exec(command.trim())) {
    const word = m[1] ?? m[2] ?? m[3] ?? "";
    // A quote inside a bare word (a'b) or syntax anywhere, even quoted: not plain words.
    if (SHELL_SYNTAX.test(word) || (m[3] !== undefined && /['"]/.test(word))) return null;
    words.push(word);
  }
  const shell = words[0] ? basename(words[0]) : "";
  if (depth === 0 && SHELLS.has(shell) && words.length === 3 && (words[1] === "-c" || words[1] === "-lc")) {
    const inner = /^(?:\S+)\s+-l?c\s+(?:'([^']*)'|"([^"]*)")\s*$/.exec(command.trim());
    return inner ? plainWords(inner[1] ?? inner[2] ?? "", 1) : null;
  }
  return words;
}

/** True when `path` (absolute, or relative to `cwd`) stays inside `cwd` once symlinks are followed. */
export function insideWorkspace(path: string, cwd: string): boolean {
  if (!path || path.includes("\0")) return false;
  const root = real(cwd);
  const target = real(isAbsolute(path) ? path : resolve(cwd, path));
  const rel = relative(root, target);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The real path of `p`: its deepest existing ancestor with symlinks resolved, plus the part not created yet. */
function real(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) break;
    tail.unshift(basename(head));
    head = up;
  }
  try {
    return join(realpathSync(head), ...tail);
  } catch {
    return resolve(p);
  }
}
