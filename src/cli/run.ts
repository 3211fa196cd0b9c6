import { writeAbovePrompt } from "../lib/prompt-guard.ts";
import { version } from "../lib/version.ts";
import { startService } from "../monitor/service.ts";
import { watchedLocations } from "../sources/locations.ts";
import { guardStore } from "../store/backup.ts";
import { claimRun } from "../store/run-lock.ts";
import type { Runtime } from "../store/runtime.ts";
import type { CliIo } from "./io.ts";

export interface RunOptions {
  /** Resolves when the process should stop (tests); default: the first SIGINT/SIGTERM. */
  until?: Promise<unknown>;
  consoleIn?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** Resolves on the first SIGINT/SIGTERM; a second signal exits at once. */
function firstSignal(rt: Runtime): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (signal: string) => {
      if (seen) {
        rt.log.warn({ signal }, "second signal: exiting now");
        process.exit(130);
      }
      seen = true;
      rt.log.info({ signal }, "stopping: finishing the current cycle (press Ctrl-C again to exit now)");
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Where the log goes, when a terminal shows only part of it (log.level unset). */
function logLine(rt: Runtime, io: CliIo): string[] {
  if (rt.config.log.level !== null || !(io.err as { isTTY?: boolean }).isTTY) return [];
  const full = rt.config.log.file ? `everything in ${rt.config.log.file}` : "ASM_LOG_LEVEL=info shows everything";
  return [`  log:        warnings and errors on this terminal; ${full}`];
}

/** `asm run`: the banner, the service, and a clean stop on the first signal. */
export async function runBot(rt: Runtime, io: CliIo, options: RunOptions = {}): Promise<number> {
  // Listen before anything is announced: a signal that follows the banner at once must still stop
  // us cleanly (without a listener the default action kills the process mid-write).
  const stopRequested = options.until ?? firstSignal(rt);
  // Checked before the claim, the first write: a damaged store gets nothing more written into it (the integrity job
  // then raises the alert once the service runs).
  guardStore(rt.db, rt.config.store.path, Date.now());
  const release = claimRun(rt.db, rt.kv, rt.config.store.path);
  const service = await startService(rt, { consoleIn: options.consoleIn, consoleOut: io.out });
  const locations = watchedLocations(rt.config);
  // The console's prompt may already be showing: the banner goes above it.
  writeAbovePrompt(
    io.out,
    `${[
      `asm ${version} running`,
      `  database:   ${rt.config.store.path}`,
      `  transports: ${service.transports.map((t) => t.name).join(", ")}`,
      ...logLine(rt, io),
      "  watching:",
      ...locations.map((l) => `    ${l.platform.padEnd(9)} ${l.path}${l.exists ? "" : "  (not present)"}`),
    ].join("\n")}\n`,
  );
  // Missing locations: the banner marks them "(not present)" and each source logs its own once.
  // Nothing else may hold the event loop open (no TTY, no chat token): keep the process up until told to stop.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await stopRequested;
  clearInterval(keepAlive);
  await service.stop();
  release();
  rt.log.info("stopped");
  // A request a hung chat API never answers would keep the process alive until its timeout: everything
  // that matters is stopped and saved, so a real run exits within seconds whatever is still open.
  if (!options.until) setTimeout(() => process.exit(process.exitCode ?? 0), 3_000).unref();
  return 0;
}
