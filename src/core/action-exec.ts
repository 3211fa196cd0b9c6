import { existsSync } from "node:fs";
import { execa } from "execa";
import { keysPresent, removeJsonStoreEntries } from "../agents/openclaw/session-store.ts";
import type { Config } from "../config/schema.ts";
import type { ActionRecord } from "../store/actions.ts";
import type { ActionDetails } from "./actions.ts";
import { kindConfig } from "./actions.ts";
import type { GatewayProbe } from "./gateway-health.ts";
import { waitUntilHealthy } from "./gateway-health.ts";

/** How a run ended, as recorded in the action row. */
export interface ActionResult {
  status: "succeeded" | "failed" | "unverified";
  exitCode: number | null;
  outputTail: string;
  verifyNote: string;
}

export interface RunnerDeps {
  config: Config;
  probe: GatewayProbe;
  /** Verification polling interval (tests shorten it). */
  probeIntervalMs?: number;
  /** Aborted when asm stops: verification ends early (the command itself is left to finish). */
  signal?: AbortSignal;
  /** Starts a managed worker (repair actions); returns its id. */
  spawnWorker?: (w: { agent: import("../agents/session.ts").Platform; cwd: string; prompt: string; requestedBy: string }) => string;
}

const tailChars = 1500;
const tail = (text: string) => (text.length > tailChars ? `…${text.slice(-tailChars)}` : text);

/** Runs a fixed argv without a shell, with the kind's timeout; never throws. */
async function runArgv(argv: string[], timeoutMs: number): Promise<{ ok: boolean; exitCode: number | null; output: string; note: string }> {
  const [file, ...args] = argv;
  const r = await execa(file!, args, { timeout: timeoutMs, reject: false, stdin: "ignore", all: true, shell: false });
  const output = tail((r.all ?? "").trim());
  if (r.timedOut) return { ok: false, exitCode: r.exitCode ?? null, output, note: `timed out after ${timeoutMs / 1000}s` };
  if (r.failed && r.exitCode === undefined) return { ok: false, exitCode: null, output, note: `could not run ${file}: ${r.shortMessage ?? r.message}` };
  return { ok: r.exitCode === 0, exitCode: r.exitCode ?? null, output, note: r.exitCode === 0 ? "exit 0" : `exit ${r.exitCode ?? r.signal}` };
}

/** Edits the JSON stores (backup, then atomic write) and checks the entries are gone and the backups exist. */
function runJsonEdit(stores: { path: string; keys: string[] }[]): ActionResult {
  const lines: string[] = [];
  const problems: string[] = [];
  let removedAny = false;
  for (const st of stores) {
    try {
      const r = removeJsonStoreEntries(st.path, st.keys);
      if (r.removed.length === 0) {
        // Already gone (an earlier cleanup, or the agent itself): the store was left as it was.
        lines.push(`${st.path}: nothing to remove (${r.missing.length} already gone)`);
        continue;
      }
      removedAny = true;
      lines.push(`${st.path}: removed ${r.removed.length}${r.missing.length ? ` (${r.missing.length} already gone)` : ""}; backup ${r.backupPath}`);
      const left = keysPresent(st.path, st.keys);
      if (left === null) problems.push(`${st.path} is not readable after the edit`);
      else if (left.length) problems.push(`${left.length} entr${left.length === 1 ? "y" : "ies"} still in ${st.path}`);
      if (!existsSync(r.backupPath)) problems.push(`backup ${r.backupPath} is missing`);
    } catch (err) {
      return { status: "failed", exitCode: null, outputTail: tail([...lines, (err as Error).message].join("\n")), verifyNote: (err as Error).message };
    }
  }
  if (problems.length) return { status: "unverified", exitCode: null, outputTail: tail(lines.join("\n")), verifyNote: problems.join("; ") };
  const verifyNote = removedAny ? "entries gone, backup present" : "the entries were already gone; nothing was changed";
  return { status: "succeeded", exitCode: null, outputTail: tail(lines.join("\n")), verifyNote };
}

/**
 * Carries out an approved action and verifies it: a restart must leave the gateway probe healthy
 * within `actions.verifyTimeoutSeconds`; a JSON-store edit must leave the entries gone and the
 * backup present. A command that exits 0 but fails verification is `unverified`, not `succeeded`.
 */
export async function executeAction(action: ActionRecord, deps: RunnerDeps): Promise<ActionResult> {
  const details = action.details as unknown as ActionDetails;
  if (details.mode === "json") return runJsonEdit(details.stores);
  if (details.mode === "worker") {
    if (!deps.spawnWorker) return { status: "failed", exitCode: null, outputTail: "", verifyNote: "workers cannot be started from this process" };
    try {
      const id = deps.spawnWorker({ agent: details.agent, cwd: details.cwd, prompt: details.prompt, requestedBy: `action:${action.id}` });
      return { status: "succeeded", exitCode: null, outputTail: "", verifyNote: `started worker ${id}; /worker ${id} follows it` };
    } catch (err) {
      return { status: "failed", exitCode: null, outputTail: "", verifyNote: (err as Error).message };
    }
  }
  const timeoutMs = kindConfig(deps.config, action.kind).timeoutSeconds * 1000;
  const outputs: string[] = [];
  let run = { ok: true, exitCode: null as number | null, output: "", note: "nothing to run" };
  for (const argv of details.argvs) {
    run = await runArgv(argv, timeoutMs);
    if (run.output) outputs.push(run.output);
    if (!run.ok) break;
  }
  run.output = tail(outputs.join("\n"));
  if (!run.ok) return { status: "failed", exitCode: run.exitCode, outputTail: run.output, verifyNote: run.note };
  if (action.kind !== "restart_gateway") {
    return { status: "succeeded", exitCode: run.exitCode, outputTail: run.output, verifyNote: `${run.note}; the next scan shows the result` };
  }
  const health = await waitUntilHealthy(deps.probe, deps.config.actions.verifyTimeoutSeconds * 1000, deps.probeIntervalMs, deps.signal);
  if (!health.ok && deps.signal?.aborted) {
    return { status: "unverified", exitCode: run.exitCode, outputTail: run.output, verifyNote: `asm stopped before the gateway was healthy: ${health.detail}` };
  }
  return health.ok
    ? { status: "succeeded", exitCode: run.exitCode, outputTail: run.output, verifyNote: `gateway healthy: ${health.detail}` }
    : {
        status: "unverified",
        exitCode: run.exitCode,
        outputTail: run.output,
        verifyNote: `gateway not healthy within ${deps.config.actions.verifyTimeoutSeconds}s: ${health.detail}`,
      };
}
