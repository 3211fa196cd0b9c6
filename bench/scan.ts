import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildSync } from "esbuild";
import { appendTurn, corpusFlags, corpusOf, ensureBigTranscript } from "./corpus.ts";
import { findCcusage, measurePeer, type PeerMeasure } from "./peer.ts";

/**
 * `npm run bench` → the scan benchmark (issue 4). Flags:
 *   --files N        transcripts in the corpus (default 10000)
 *   --size-mb N      corpus size (default 1024)
 *   --huge N         files carrying one 1 MB line (default 20)
 *   --big-mb N       size of the single-transcript RSS test (default 500; 0 skips it)
 *   --append N       files grown in the append cycle (default 1000)
 *   --dir PATH       where corpora live (default <tmpdir>/asm-bench), generated once and reused
 * Every figure is measured in the same run, each in a fresh child process, beside its bare baseline.
 */

interface Measure {
  ms: number;
  /** user + system CPU time of the measured part: steadier than wall time on a shared machine. */
  cpuMs: number;
  maxRssMiB: number;
  /** spawn to exit of the child, seen from outside: the same clock the peer (ccusage) is measured with. */
  wallMs: number;
  [k: string]: unknown;
}

/**
 * The child is bundled with esbuild and run by plain node, as `asm` runs its own dist/ bundle after `npm ci`:
 * the figures are asm's, not the TypeScript loader's (running from source under tsx adds about 40 MiB of RSS; the
 * "idle process" line prints both baselines).
 */
const childSource = join(import.meta.dirname, "child.ts");
const childBundle = join(import.meta.dirname, "../node_modules/.cache/asm-bench/child.mjs");

function bundleChild(): void {
  buildSync({
    entryPoints: [childSource],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: childBundle,
    packages: "external",
    logLevel: "error",
  });
}

/** The node flags `asm` runs with: those on bin/asm.mjs's shebang line (`#!/usr/bin/env -S node <flags>`). */
export const asmNodeFlags: string[] = readFileSync(join(import.meta.dirname, "../bin/asm.mjs"), "utf8")
  .split("\n", 1)[0]!
  .split(/\s+/)
  .filter((w) => w.startsWith("--"));

function measure(args: string[]): Measure {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...asmNodeFlags, childBundle, ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`bench child ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { ...(JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Measure), wallMs };
}

const best = (runs: Measure[]) => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
const bestBy = <T>(runs: T[], key: (r: T) => number) => runs.reduce((a, b) => (key(b) < key(a) ? b : a));
const bestCpu = (runs: Measure[]) => Math.min(...runs.map((r) => r.cpuMs));
export const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/**
 * asm against ccusage, best of each side's runs. Wall time is compared spawn to exit on both sides (the peer can
 * only be timed from outside); asm's in-process scan time is shown beside it. Peak RSS: asm's own getrusage maxRSS,
 * the peer's VmHWM sampled from /proc.
 */
function comparePeer(say: (s: string) => void, asmRuns: Measure[], peerRuns: PeerMeasure[], asmReads: string, floorRuns: Measure[]): void {
  const a = bestBy(asmRuns, (r) => r.wallMs);
  const scanOnly = best(asmRuns);
  const p = bestBy(peerRuns, (r) => r.wallMs);
  const asmPeak = Math.max(...asmRuns.map((r) => r.maxRssMiB));
  const peerPeak = Math.max(...peerRuns.map((r) => r.maxRssMiB));
  const read = Object.entries(p.sessions)
    .map(([agent, n]) => `${n} ${agent}`)
    .join(" + ");
  const verdict = (asmMs: number) => (asmMs <= 0.5 * p.wallMs && asmPeak < 100 ? "met" : "not met");
  // ccusage lists only sessions with token usage: a Codex rollout holding just its session_meta is read but not listed.
  say(`    reads: ccusage ${read} sessions (those with token usage); ${asmReads}`);
  say(`    ccusage: ${fmt(p.wallMs)} wall, peak RSS ${peerPeak.toFixed(0)} MiB`);
  say(`    asm:     ${fmt(a.wallMs)} wall (the scan alone ${fmt(scanOnly.ms)}), peak RSS ${asmPeak.toFixed(0)} MiB`);
  // What no scanner in this runtime can beat: a node process that only reads the files and finds the line ends.
  const floor = bestBy(floorRuns, (r) => r.wallMs);
  say(
    `    floor:   ${fmt(floor.wallMs)} wall (read + find line ends, no parse, no SQLite, in one node process) = ${ratio(floor.wallMs, p.wallMs)} ccusage's time`,
  );
  say(
    `    asm/ccusage: ${ratio(a.wallMs, p.wallMs)} time (scan alone ${ratio(scanOnly.ms, p.wallMs)}), ${ratio(asmPeak, peerPeak)} memory (target ≤ 0.50× time, peak RSS < 100 MiB: ${verdict(a.wallMs)} by the whole process, ${verdict(scanOnly.ms)} by the scan alone)`,
  );
}

export async function benchScan(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...corpusFlags, "big-mb": { type: "string", default: "500" }, append: { type: "string", default: "1000" } },
    allowPositionals: true,
    strict: true,
  });
  const files = Number(values.files);
  const sizeMb = Number(values["size-mb"]);
  const bigMb = Number(values["big-mb"]);
  const appendN = Number(values.append);
  const say = (s: string) => process.stdout.write(`${s}\n`);

  say(`# asm scan benchmark — ${files} files, ${sizeMb} MiB (node ${process.version} ${asmNodeFlags.join(" ")}, as asm runs; baselines too)`);
  bundleChild();
  const idleNode = measure(["idle"]);
  const idleTsx = spawnSync(process.execPath, [...asmNodeFlags, "--import", "tsx", childSource, "idle"], { encoding: "utf8" });
  say(
    `idle process RSS: ${idleNode.maxRssMiB.toFixed(0)} MiB bundled (the bench children), ${JSON.parse(idleTsx.stdout).maxRssMiB.toFixed(0)} MiB under tsx (asm run from an edited checkout)`,
  );
  const { corpus, home, base } = corpusOf(values, say);
  const roots = [corpus.claudeRoot, corpus.codexRoot];
  const mib = corpus.bytes / 2 ** 20;
  say(`corpus: ${corpus.files.length} files, ${mib.toFixed(0)} MiB (Claude Code 70%, Codex 30%)`);

  // Warm the page cache so neither side pays for the disk.
  measure(["parse", ...roots]);

  const db = join(base, "bench.db");
  const fresh = () => {
    for (const s of ["", "-wal", "-shm"]) rmSync(db + s, { force: true });
  };

  // 1. Cold scan vs bare read + split + JSON.parse, and vs ccusage on the same HOME (best of 3 each, alternated).
  const peer = findCcusage();
  const peerArgs = ["session", "--json", "--offline"];
  const parseRuns: Measure[] = [];
  const coldRuns: Measure[] = [];
  const peerRuns: PeerMeasure[] = [];
  const splitRuns: Measure[] = [];
  for (let i = 0; i < 3; i++) {
    parseRuns.push(measure(["parse", ...roots]));
    splitRuns.push(measure(["split", ...roots]));
    fresh();
    coldRuns.push(measure(["scan", db, ...roots]));
    if (peer.found) peerRuns.push(await measurePeer(peer.bin, peerArgs, home));
  }
  const bare = best(parseRuns);
  const cold = best(coldRuns);
  say("");
  say(
    `cold scan (everything into SQLite): ${fmt(cold.ms)} = ${(cold.ms / 1000 / (mib / 1024)).toFixed(2)} s/GiB, ${cold.sessions} sessions, ${cold.parseErrors} parse errors`,
  );
  say(`  bare read+split+JSON.parse:       ${fmt(bare.ms)} = ${(bare.ms / 1000 / (mib / 1024)).toFixed(2)} s/GiB`);
  say(
    `  ratio: ${ratio(cold.ms, bare.ms)} wall, ${ratio(bestCpu(coldRuns), bestCpu(parseRuns))} CPU (${fmt(bestCpu(coldRuns))} vs ${fmt(bestCpu(parseRuns))}) (target ≤ 1.0×)`,
  );
  say(`  peak RSS: cold scan ${cold.maxRssMiB.toFixed(0)} MiB, bare parse ${bare.maxRssMiB.toFixed(0)} MiB`);
  if (!peer.found) say(`  vs ccusage: SKIPPED, no figures — ${peer.why}`);
  else {
    say(`  vs ${peer.version} (its native binary, found via ${peer.via}: ${peer.bin}), \`ccusage ${peerArgs.join(" ")}\` with HOME = the corpus:`);
    comparePeer(say, coldRuns, peerRuns, `asm's Claude + Codex sources (${cold.sessions} sessions)`, splitRuns);
    // The Claude part alone (issue 19 quotes its figure on a Claude corpus): asm with the Codex source pointed at
    // nothing, ccusage's Claude-only report. Both still list every file under .claude/projects.
    const claudeArgs = ["claude", "session", "--json", "--offline"];
    const claudeDb = join(base, "bench-claude.db");
    const asmClaude: Measure[] = [];
    const peerClaude: PeerMeasure[] = [];
    const splitClaude: Measure[] = [];
    for (let i = 0; i < 3; i++) {
      splitClaude.push(measure(["split", corpus.claudeRoot]));
      for (const s of ["", "-wal", "-shm"]) rmSync(claudeDb + s, { force: true });
      asmClaude.push(measure(["scan", claudeDb, corpus.claudeRoot, join(base, "no-codex")]));
      peerClaude.push(await measurePeer(peer.bin, claudeArgs, home));
    }
    for (const s of ["", "-wal", "-shm"]) rmSync(claudeDb + s, { force: true });
    say(`  Claude part only, \`ccusage ${claudeArgs.join(" ")}\` vs asm with no Codex root:`);
    comparePeer(say, asmClaude, peerClaude, `asm's Claude source (${best(asmClaude).sessions} sessions)`, splitClaude);
  }

  // 2. No-change cycle vs bare walk + stat (best of 5 each).
  const statRuns: Measure[] = [];
  const idleRuns: Measure[] = [];
  for (let i = 0; i < 5; i++) {
    statRuns.push(measure(["stat", ...roots]));
    idleRuns.push(measure(["scan", db, ...roots]));
  }
  const stat = best(statRuns);
  const idle = best(idleRuns);
  say("");
  say(`no-change cycle over ${idle.filesSeen} files: ${fmt(idle.ms)}, ${idle.bytesRead} bytes read`);
  say(`  bare walk+stat: ${fmt(stat.ms)}`);
  say(
    `  ratio: ${ratio(idle.ms, stat.ms)} wall, ${ratio(bestCpu(idleRuns), bestCpu(statRuns))} CPU (${fmt(bestCpu(idleRuns))} vs ${fmt(bestCpu(statRuns))}) (target ≤ 1.5×)`,
  );

  // 3. Append cycle: N files grow by a turn's worth of lines.
  const step = Math.max(1, Math.floor(corpus.files.length / appendN));
  const grown = corpus.files.filter((_, i) => i % step === 0).slice(0, appendN);
  const sizes = grown.map((f) => statSync(f).size);
  let appended = 0;
  grown.forEach((f, i) => {
    const text = appendTurn(f, i + 1);
    appendFileSync(f, text);
    appended += Buffer.byteLength(text);
  });
  const app = measure(["scan", db, ...roots]);
  for (const [i, f] of grown.entries()) truncateSync(f, sizes[i]!); // the corpus stays as generated
  measure(["scan", db, ...roots]); // and the db follows it back
  say("");
  say(`append cycle (${grown.length} files grew by ${(appended / 1024).toFixed(0)} KiB): ${fmt(app.ms)}, ${app.filesRead} files read, ${app.bytesRead} bytes`);
  say(
    `  ${((app.ms * 1e6) / appended).toFixed(0)} ns per appended byte (whole cycle incl. stat of all ${app.filesSeen} files); ${(((app.ms - idle.ms) * 1e6) / appended).toFixed(0)} ns/byte above the no-change cycle`,
  );

  // 4. One big transcript with 1 MB lines: peak RSS must stay flat.
  if (bigMb > 0) {
    const big = ensureBigTranscript(join(base, `big-${bigMb}`), bigMb * 2 ** 20, say);
    const bigDb = join(base, "big.db");
    for (const s of ["", "-wal", "-shm"]) rmSync(bigDb + s, { force: true });
    measure(["parse", big.root]); // into the page cache first: this machine's disk is far slower than the code
    const oneRuns: Measure[] = [];
    const bareRuns: Measure[] = [];
    for (let i = 0; i < 2; i++) {
      for (const s of ["", "-wal", "-shm"]) rmSync(bigDb + s, { force: true });
      oneRuns.push(measure(["scan", bigDb, big.root, join(base, "no-codex")]));
      bareRuns.push(measure(["parse", big.root]));
    }
    const one = best(oneRuns);
    const bareOne = best(bareRuns);
    const peak = Math.max(...oneRuns.map((r) => r.maxRssMiB));
    say("");
    say(
      `single ${(big.bytes / 2 ** 20).toFixed(0)} MiB transcript with 1 MB lines: ${fmt(one.ms)} (${fmt(bestCpu(oneRuns))} CPU), peak RSS ${peak.toFixed(0)} MiB (target < 100 MiB)`,
    );
    say(
      `  bare read+split+JSON.parse: ${fmt(bareOne.ms)} (${fmt(bestCpu(bareRuns))} CPU), peak RSS ${Math.max(...bareRuns.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
    );
    for (const s of ["", "-wal", "-shm"]) rmSync(bigDb + s, { force: true });
    const tsx = spawnSync(process.execPath, [...asmNodeFlags, "--import", "tsx", childSource, "scan", bigDb, big.root, join(base, "no-codex")], {
      encoding: "utf8",
    });
    if (tsx.status === 0) {
      const m = JSON.parse(tsx.stdout.trim().split("\n").at(-1)!) as Measure;
      say(
        `  the same scan run from source under tsx (an edited checkout): peak RSS ${m.maxRssMiB.toFixed(0)} MiB, of which the idle tsx process is ${JSON.parse(idleTsx.stdout).maxRssMiB.toFixed(0)} MiB`,
      );
    }
  }
}
