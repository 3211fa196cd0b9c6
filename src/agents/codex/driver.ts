import { checkedArg, type Driver, type RunRequest, type RunSpec, SAFE_MODEL, UnsafeArgumentError } from "../driver.ts";
import { parseCodexLine } from "./stream.ts";

/** A Codex thread id (a UUID): the only form that goes into argv after `resume`. */
export const THREAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The sandbox values `codex exec --sandbox` takes, and the one mode that drops sandbox and approvals. */
const SANDBOXES = ["read-only", "workspace-write", "danger-full-access"] as const;
const BYPASS = ["bypass", "yolo", "dangerously-bypass-approvals-and-sandbox"] as const;

/** The argv for a permission mode from config: a sandbox policy (exec never asks, RUNNER.md §1.2). */
export function codexPermissionArgs(mode: string | null): string[] {
  if (mode === null) return [];
  if ((SANDBOXES as readonly string[]).includes(mode)) return [`--sandbox=${mode}`];
  if ((BYPASS as readonly string[]).includes(mode)) return ["--dangerously-bypass-approvals-and-sandbox"];
  throw new UnsafeArgumentError("permission mode", mode, `Codex takes ${[...SANDBOXES, "yolo"].join(", ")}`);
}

/**
 * Codex as a managed worker: one `codex exec --json` process per turn, the prompt on stdin (`-`), the next
 * turn a new process with `resume <thread id>` (FORMATS.md §4; the argv order is the one the fixtures were
 * recorded with: parent flags, then `resume <id>`, then the prompt). Exec answers every approval request
 * with a rejection on its own, so nothing is ever asked at run time; the sandbox comes from config.
 */
export const codexDriver: Driver = {
  platform: "codex",
  defaultCommand: ["codex"],
  multiTurn: false,
  canAsk: false,
  sessionIdPattern: THREAD_ID,
  runSpec(req: RunRequest): RunSpec {
    const args = ["exec", "--json", "--skip-git-repo-check"];
    if (req.model) args.push(`--model=${checkedArg("model", req.model, SAFE_MODEL)}`);
    args.push(...codexPermissionArgs(req.permissionMode));
    if (req.resumeSessionId) args.push("resume", checkedArg("session id", req.resumeSessionId, THREAD_ID));
    args.push("-");
    // PWD = the workspace: the CLI inherits asm's environment, and a PWD naming asm's own folder
    // makes OpenCode 1.18.33 run the session there (see opencode/driver.ts); no CLI gets a stale one.
    return { args, prompt: "stdin", env: { PWD: req.cwd } };
  },
  parseLine: parseCodexLine,
};
