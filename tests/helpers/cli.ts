import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The real CLI entry, run as a child process the way `npx asm` does. */
export const asmBin = fileURLToPath(new URL("../../bin/asm.mjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `asm <args>` in a child process with a controlled environment: HOME and ASM_DB point into
 * `home` unless given, and no chat tokens leak in from the developer's shell.
 */
export function runAsm(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnAsm(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(input ?? "");
  });
}

/** Starts `asm <args>` and leaves it running (for `run`, signals, crash tests). */
export function spawnAsm(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(base)) {
    if (key.startsWith("ASM_") || key.startsWith("TELEGRAM_") || key.startsWith("DISCORD_")) delete base[key];
  }
  return spawn(process.execPath, [asmBin, ...args], {
    env: { ...base, ASM_LOG_LEVEL: "info", ...env } as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Resolves when `text` appears in the stream's output, rejects after `ms`. */
export function waitForOutput(stream: NodeJS.ReadableStream, text: string | RegExp, ms = 40_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${text}; saw:\n${seen}`)), ms);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (typeof text === "string" ? seen.includes(text) : text.test(seen)) {
        clearTimeout(timer);
        stream.off("data", onData);
        resolve(seen);
      }
    };
    stream.on("data", onData);
  });
}

/**
 * Runs `main(args)` in this process with captured streams: the same code path as the binary minus
 * the process start-up (tsx) cost. Use `runAsm` where the process itself matters (exit, signals).
 */
export async function runAsmInProcess(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const { PassThrough } = await import("node:stream");
  const { main } = await import("../../src/main.ts");
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  const code = await main(args, { out, err, env: { PATH: process.env.PATH, ...env } });
  await new Promise((r) => setImmediate(r));
  return { code, stdout, stderr };
}

/** Resolves with how a child process ended. Call it right after spawning so no exit is missed. */
export const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

/** Everything a child writes to stderr so far (logs, for "never contains the token" assertions). */
export function collectStderr(child: ChildProcess): () => string {
  let text = "";
  child.stderr!.on("data", (d) => (text += d));
  return () => text;
}
