import { type ResourceLimits, Worker } from "node:worker_threads";

/**
 * Worker threads asm starts for work that must not hold the event loop (the scan, the store's integrity check):
 * where a thread's entry module is, and one answer awaited from it with a deadline.
 */

/**
 * Where a worker thread's entry module is, for a module that starts one. From the bundle (dist/) every entry is
 * plain JavaScript beside the chunk that starts it (`<name>.js`, see bin/build.mjs); from the TypeScript sources
 * (tests, an edited checkout) it is `<name>.ts` beside the caller, loaded through bin/ts-worker.mjs, which
 * registers tsx because Node 20 does not pass its loader on to worker threads.
 */
export function threadEntry(callerUrl: string, name: string): { url: URL; argv: string[] } {
  if (!callerUrl.endsWith(".ts")) return { url: new URL(`./${name}.js`, callerUrl), argv: [] };
  return { url: new URL("../../bin/ts-worker.mjs", import.meta.url), argv: [new URL(`./${name}.ts`, callerUrl).href] };
}

/** How to run one thread until its answer. */
export interface ThreadRun<T> {
  /** The entry, from `threadEntry`. */
  entry: { url: URL; argv: string[] };
  workerData: unknown;
  resourceLimits?: ResourceLimits | undefined;
  /** The thread is stopped and the promise rejected after this long. */
  timeoutMs: number;
  /**
   * Reads each message: the answer (the thread is then stopped, as nothing it still holds may keep it alive), or
   * undefined for a message on the way (a log line).
   */
  answer: (message: unknown) => T | undefined;
  /** The error for a thread that crashed, hung or exited without an answer, from what happened. */
  fail: (detail: string) => Error;
}

/**
 * Starts a thread and resolves with its answer; rejects with `fail(...)` when it crashes, does not answer within
 * `timeoutMs` (it is terminated), or exits first.
 */
export function runThread<T>(run: ThreadRun<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(run.entry.url, {
      workerData: run.workerData,
      argv: run.entry.argv,
      ...(run.resourceLimits ? { resourceLimits: run.resourceLimits } : {}),
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(() => reject(run.fail(`did not finish within ${Math.round(run.timeoutMs / 1000)} s and was stopped`))),
      run.timeoutMs,
    );
    worker.on("message", (m: unknown) => {
      if (settled) return;
      const answer = run.answer(m);
      if (answer !== undefined) settle(() => resolve(answer));
    });
    worker.once("error", (err) => settle(() => reject(run.fail(`crashed: ${err.message}`))));
    worker.once("exit", (code) => settle(() => reject(run.fail(`exited (code ${code}) without an answer`))));
  });
}
