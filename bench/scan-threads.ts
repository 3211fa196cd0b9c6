import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildSync } from "esbuild";
import { corpusFlags, corpusOf } from "./corpus.ts";
import { asmNodeFlags, fmt } from "./scan.ts";

/**
 * `npm run bench` → the cold scan in worker threads against the same scan in the main thread (issue 19 item 6),
 * on the scan benchmark's corpus (same flags: --files, --size-mb, --huge, --dir), each in a fresh bundled child,
 * alternated, best of 3. Also the event loop's delay while each runs: what a command, a button or the outbox waits.
 */

interface ThreadMeasure {
  ms: number;
  cpuMs: number;
  maxRssMiB: number;
  sessions: number;
  loopP95Ms: number;
  loopMaxMs: number;
  /** `/sessions` and `/session` asked during the scan (none when it runs in the main thread: nothing could ask). */
  commands: number;
  commandP95Ms: number;
  commandMaxMs: number;
}

/** The child and the scan thread's entry, bundled side by side as in dist/ (scan.ts looks for scan-thread.js beside it). */
const outdir = join(import.meta.dirname, "../node_modules/.cache/asm-bench-threads");

function bundle(): void {
  buildSync({
    entryPoints: { child: join(import.meta.dirname, "child.ts"), "scan-thread": join(import.meta.dirname, "../src/sources/scan-thread.ts") },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
}

function measure(db: string, roots: string[], threads: number): ThreadMeasure {
  for (const s of ["", "-wal", "-shm"]) rmSync(db + s, { force: true });
  const r = spawnSync(process.execPath, [...asmNodeFlags, join(outdir, "child.js"), "scan-threads", db, ...roots, String(threads)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child (threads ${threads}) failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as ThreadMeasure;
}

export async function benchScanThreads(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: corpusFlags,
    allowPositionals: true,
    strict: false,
  });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const { corpus, base } = corpusOf(values, say);
  const roots = [corpus.claudeRoot, corpus.codexRoot];
  bundle();
  const db = join(base, "threads.db");
  const threads = Math.min(2, availableParallelism());
  measure(db, roots, 0); // the page cache, warm for both sides
  const runs: Record<"here" | "one" | "split", ThreadMeasure[]> = { here: [], one: [], split: [] };
  for (let i = 0; i < 3; i++) {
    runs.here.push(measure(db, roots, 0));
    runs.one.push(measure(db, roots, 1));
    if (threads > 1) runs.split.push(measure(db, roots, threads));
  }
  for (const s of ["", "-wal", "-shm"]) rmSync(db + s, { force: true });
  const best = (m: ThreadMeasure[]) => m.reduce((a, b) => (b.ms < a.ms ? b : a));
  const worst = (m: ThreadMeasure[], k: "loopP95Ms" | "loopMaxMs") => Math.max(...m.map((r) => r[k]));
  const line = (name: string, m: ThreadMeasure[]) =>
    `  ${name.padEnd(24)} ${fmt(best(m).ms).padStart(9)} wall, ${fmt(Math.min(...m.map((r) => r.cpuMs))).padStart(9)} CPU, peak RSS ${best(m).maxRssMiB.toFixed(0)} MiB; event loop delay p95 ${fmt(worst(m, "loopP95Ms"))}, max ${fmt(worst(m, "loopMaxMs"))}`;
  const here = best(runs.here);
  say("");
  say(
    `cold scan in threads vs in the main thread (${corpus.files.length} files, ${(corpus.bytes / 2 ** 20).toFixed(0)} MiB, ${availableParallelism()} CPUs, best of 3):`,
  );
  say(line("main thread (threads 0)", runs.here));
  say(line("1 thread", runs.one));
  if (threads > 1) say(line(`${threads} threads (sources split)`, runs.split));
  const one = best(runs.one);
  say(`  ratio 1 thread (auto)/main thread: ${(one.ms / here.ms).toFixed(2)}× wall (${one.sessions} vs ${here.sessions} sessions)`);
  if (threads > 1) say(`  ratio ${threads} threads/1 thread: ${(best(runs.split).ms / one.ms).toFixed(2)}× wall (auto stays 1 unless this is well under 1)`);
  const p95 = worst(runs.one, "loopP95Ms");
  say(`  event loop delay p95 while a cold scan runs in its thread: ${fmt(p95)} (worst run)`);
  const asked = runs.one.reduce((n, r) => n + r.commands, 0);
  const answerP95 = Math.max(...runs.one.map((r) => r.commandP95Ms));
  say(
    `  commands answered meanwhile: ${asked} (/sessions, /session, one per 50 ms, timed from when due), p95 ${fmt(answerP95)} (worst run), max ${fmt(Math.max(...runs.one.map((r) => r.commandMaxMs)))} (target p95 ≤ 200 ms): ${asked > 0 && answerP95 <= 200 ? "met" : "not met"}`,
  );
}

if (process.argv[1] === import.meta.filename) await benchScanThreads();
