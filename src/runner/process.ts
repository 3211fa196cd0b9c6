import { readFileSync } from "node:fs";
import { execa, type ResultPromise } from "execa";

/** The marker every worker process carries in its environment, so a restart can tell ours from a reused pid. */
export const WORKER_ENV = "ASM_WORKER_ID";

/** A started CLI process in its own process group. */
export interface ChildHandle {
  pid: number;
  /** `/proc/<pid>/stat` start time (clock ticks since boot), or null where there is no /proc. */
  startTime: string | null;
  stdin: NodeJS.WritableStream | null;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Settles when the process has exited. */
  exited: Promise<{ exitCode: number | null; signal: string | null; spawnError: string | null }>;
}

/** A program that could not be started (not found, not executable). */
export class SpawnError extends Error {
  constructor(
    readonly program: string,
    readonly reason: string,
  ) {
    super(`cannot start ${program}: ${reason}`);
    this.name = "SpawnError";
  }
}

/** The start time of a process as the kernel records it, to tell a live process from a reused pid. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime), counted after the ")" that closes the command name (which may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True when `pid` runs, started at `startTime`, and carries our marker for `workerId`. */
export function isOurProcess(pid: number, startTime: string | null, workerId: string): boolean {
  if (!alive(pid)) return false;
  if (startTime !== null && processStartTime(pid) !== startTime) return false;
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return env.includes(`${WORKER_ENV}=${workerId}`);
  } catch {
    // No /proc (or not readable): the start time matched or could not be read; without the marker we do not claim it.
    return false;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Signals the whole process group of a worker (its CLI and every tool it started). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Starts `argv` in `cwd` as the leader of a new process group, with pipes for all three streams and no
 * shell. The environment is ours plus `env` plus the worker marker.
 */
export function startChild(argv: readonly string[], cwd: string, env: Record<string, string>, workerId: string): ChildHandle {
  const [file, ...args] = argv;
  if (!file) throw new SpawnError("(empty)", "no command configured");
  let sub: ResultPromise;
  try {
    sub = execa(file, args, {
      cwd,
      env: { ...env, [WORKER_ENV]: workerId },
      extendEnv: true,
      detached: true,
      cleanup: false,
      buffer: false,
      reject: false,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      encoding: "buffer",
    });
  } catch (err) {
    throw new SpawnError(file, (err as Error).message);
  }
  const exited = sub.then(
    (r) => ({
      exitCode: r.exitCode ?? null,
      signal: r.signal ?? null,
      spawnError:
        r.failed && r.exitCode === undefined && !r.signal ? (r.cause instanceof Error ? r.cause.message : (r.shortMessage ?? "failed to start")) : null,
    }),
    (err: Error) => ({ exitCode: null, signal: null, spawnError: err.message }),
  );
  const pid = sub.pid ?? -1;
  return {
    pid,
    startTime: pid > 0 ? processStartTime(pid) : null,
    stdin: sub.stdin,
    stdout: sub.stdout!,
    stderr: sub.stderr!,
    exited,
  };
}

/** True when the asm process recorded as a worker's owner (`<pid>:<start time>`) still runs. */
export function ownerAlive(owner: string): boolean {
  const [pid, start] = owner.split(":");
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || !alive(n)) return false;
  return start === "?" || processStartTime(n) === start;
}
