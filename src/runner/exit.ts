import type { Config } from "../config/schema.ts";
import type { WorkerStatus } from "../store/workers.ts";
import type { Run } from "./context.ts";

/** How a CLI process ended, as the process layer reports it. */
export interface RunExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the program could not be started at all. */
  spawnError: string | null;
}

/** The final status of a run, and why when it failed. */
export interface ExitOutcome {
  status: WorkerStatus;
  errorClass: string | null;
  errorMessage: string | null;
}

/**
 * What a run's end means, read from what we intended (our interrupt, kill, stall or shutdown comes first: some CLIs
 * exit 0 on SIGINT), then the exit itself and the last error and turn the CLI reported. Pure.
 */
export function exitOutcome(
  run: Pick<Run, "intent" | "lastError" | "lastTurnOk" | "sawInit">,
  exit: RunExit,
  cfg: Pick<Config["runner"], "stallSeconds" | "fallback">,
): ExitOutcome {
  const failed = (errorClass: string, errorMessage: string): ExitOutcome => ({ status: "failed", errorClass, errorMessage });
  if (run.intent === "kill") return { status: "killed", errorClass: null, errorMessage: null };
  if (run.intent === "interrupt" || run.intent === "shutdown") return { status: "interrupted", errorClass: null, errorMessage: null };
  if (run.intent === "stall") return failed("timeout", `no event for ${cfg.stallSeconds}s; the turn was stopped`);
  if (run.intent === "protocol") return failed(run.lastError?.reason ?? "error", run.lastError?.message ?? "the protocol session failed");
  if (run.intent === "no-init") return failed("timeout", `no sign of life (no init event) within ${cfg.fallback.timeoutSeconds}s`);
  if (exit.spawnError) return failed("spawn", exit.spawnError);
  // A protocol CLI let go after its last turn may end by our signal: the work itself succeeded.
  if ((exit.exitCode === 0 || (run.intent === "close" && exit.signal !== null)) && run.lastTurnOk !== false && !run.lastError) {
    return { status: "completed", errorClass: null, errorMessage: null };
  }
  const how = exit.signal ?? `code ${exit.exitCode}`;
  return failed(
    run.lastError?.reason ?? (run.sawInit ? "crash" : "spawn"),
    run.lastError?.message ?? (run.sawInit ? `exited with ${how}` : `exited with ${how} before starting a session`),
  );
}
