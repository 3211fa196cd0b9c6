import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { resolve, sep } from "node:path";
import { walkFiles } from "../../lib/walk.ts";
import type { Kind } from "./transcript.ts";

/** Where a transcript sits: its kind, its session id, and (for subagents) the parent session id. */
export interface ClaudeFile {
  kind: Kind;
  sessionId: string;
  parentSessionId: string | null;
}

/** A transcript found under a projects root, with where it sits. */
export interface FoundClaudeFile extends ClaudeFile {
  path: string;
}

/**
 * Lists the transcripts under a projects root by their place: `<project>/<id>.jsonl` (a session, or an old
 * `agent-*` sidechain) and `<project>/<session id>/subagents/**\/agent-*.jsonl` (a subagent of that session).
 * Anything else (`tool-results/`, `memory/`, `*.meta.json`) is not read. Unlistable folders land in `errors`
 * and, by path, in `unlisted` (what was read from them before is not gone).
 */
export function discoverClaudeFiles(root: string, errors: string[], unlisted: string[] = []): FoundClaudeFile[] {
  const out: FoundClaudeFile[] = [];
  const list = (dir: string): Dirent[] => {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        errors.push(`cannot list ${dir}: ${code ?? err}`);
        unlisted.push(dir);
      }
      return [];
    }
  };
  const base = resolve(root);
  for (const project of list(base)) {
    if (!project.isDirectory()) continue;
    const dir = base + sep + project.name;
    for (const e of list(dir)) {
      const name = e.name;
      if (e.isDirectory()) {
        // A session's own folder (CLI ≥ 2.1.2): its subagents, at any depth (workflows nest them).
        const problems: { path: string; reason: string }[] = [];
        const subs = walkFiles(dir + sep + name + sep + "subagents", {
          accept: (n) => n.startsWith("agent-") && n.endsWith(".jsonl"),
          maxDepth: 8,
          problems,
        });
        for (const p of problems) {
          errors.push(`cannot list ${p.path}: ${p.reason}`);
          unlisted.push(p.path);
        }
        for (const path of subs) {
          out.push({ path, kind: "subagent", sessionId: path.slice(path.lastIndexOf(sep) + 1, -6), parentSessionId: name });
        }
      } else if (name.endsWith(".jsonl") && (e.isFile() || e.isSymbolicLink())) {
        const id = name.slice(0, -6);
        out.push({ path: dir + sep + name, kind: id.startsWith("agent-") ? "sidechain" : "session", sessionId: id, parentSessionId: null });
      }
    }
  }
  return out;
}

/** The small `agent-<id>.meta.json` the CLI writes beside a subagent transcript (agentType, description). */
export function subagentMeta(path: string): { agentType: string | null; description: string | null } | null {
  try {
    const v = JSON.parse(readFileSync(`${path.slice(0, -".jsonl".length)}.meta.json`, "utf8")) as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === "string" && x ? x.slice(0, 200) : null);
    return { agentType: str(v.agentType), description: str(v.description) };
  } catch {
    return null; // older CLIs write none; a damaged one only costs the title
  }
}
