/**
 * Where a worker thread's entry module is, for a module that starts one. From the bundle (dist/) every entry is
 * plain JavaScript beside the chunk that starts it (`<name>.js`, see bin/build.mjs); from the TypeScript sources
 * (tests, an edited checkout) it is `<name>.ts` beside the caller, loaded through bin/ts-worker.mjs, which
 * registers tsx because Node 20 does not pass its loader on to worker threads.
 *
 * ```ts
 * const { url, argv } = threadEntry(import.meta.url, "scan-thread");
 * new Worker(url, { workerData, argv });
 * ```
 */
export function threadEntry(callerUrl: string, name: string): { url: URL; argv: string[] } {
  if (!callerUrl.endsWith(".ts")) return { url: new URL(`./${name}.js`, callerUrl), argv: [] };
  return { url: new URL("../../bin/ts-worker.mjs", import.meta.url), argv: [new URL(`./${name}.ts`, callerUrl).href] };
}
