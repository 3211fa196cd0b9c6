import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { CoreInbound } from "../src/chat/dispatch.ts";
import { configSchema } from "../src/config/schema.ts";
import { Manager } from "../src/core/manager.ts";
import { ClaudeCodeSource } from "../src/sources/claude.ts";
import { CodexSource } from "../src/sources/codex.ts";
import { runScan } from "../src/sources/scan.ts";
import { openStore } from "../src/store/db.ts";
import { type Runtime, runtimeOver } from "../src/store/runtime.ts";

/**
 * One measurement in a fresh process (so peak RSS is its own): `parse` (bare read + split + JSON.parse of
 * every line), `split` (bare read + split, no parse), `stat` (bare walk + stat), or `scan` (asm's Claude + Codex sources into SQLite). Prints one
 * JSON line: { ms, maxRssMiB, ... }.
 */

function walk(dir: string, out: string[]) {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && (e.name.endsWith(".jsonl") || e.name.endsWith(".jsonl.zst"))) out.push(p);
  }
}

/** Reads every line of every file; `parse` also JSON.parses each (the bare parse), else only finds the line ends
 * (the floor any scanner that reads the bytes pays). */
function bareParse(roots: string[], parse = true) {
  const files: string[] = [];
  for (const r of roots) walk(r, files);
  let buf = Buffer.allocUnsafe(256 * 1024);
  let lines = 0;
  let bytes = 0;
  let sink = 0;
  for (const f of files) {
    const fd = openSync(f, "r");
    let len = 0;
    let pos = 0;
    for (;;) {
      if (len === buf.length) {
        const b = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(b, 0, 0, len);
        buf = b;
      }
      const n = readSync(fd, buf, len, buf.length - len, pos);
      if (n === 0) break;
      pos += n;
      bytes += n;
      const stop = len + n;
      let start = 0;
      let nl = buf.indexOf(10, len);
      while (nl !== -1 && nl < stop) {
        if (parse) {
          const v = JSON.parse(buf.toString("utf8", start, nl));
          sink += v.type ? 1 : 0;
        }
        lines++;
        start = nl + 1;
        nl = buf.indexOf(10, start);
      }
      buf.copy(buf, 0, start, stop);
      len = stop - start;
    }
    closeSync(fd);
  }
  return { files: files.length, lines, bytes, sink };
}

function bareStat(roots: string[]) {
  const files: string[] = [];
  for (const r of roots) walk(r, files);
  let size = 0;
  for (const f of files) size += statSync(f).size;
  return { files: files.length, size };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : 0;
};

/**
 * Chat commands answered while `scanning` runs, through the path a chat message takes (CoreInbound → Manager →
 * SQLite → the view): `/sessions` and `/session <id>` alternately, one every 50 ms, each timed from when it was due
 * to its answer. The store is the one the scan thread is writing.
 */
async function askWhile(rt: Runtime, scanning: Promise<unknown>): Promise<number[]> {
  let done = false;
  void scanning.finally(() => {
    done = true;
  });
  const manager = new Manager(rt);
  const inbound = new CoreInbound(manager);
  const caller = { transport: "telegram", userId: "1", allowed: true, admin: true } as const;
  const times: number[] = [];
  for (let i = 0; !done; i++) {
    // Timed from when the command was due, so an event loop held by the scan counts as the wait it is.
    const due = performance.now() + 50;
    await new Promise((r) => setTimeout(r, 50));
    if (done) break;
    await inbound.command(caller, i % 2 ? "session" : "sessions", i % 2 ? ["0"] : []);
    times.push(performance.now() - due);
  }
  await manager.stop();
  return times;
}

/**
 * `scan-threads <db> <claude> <codex> <threads>`: the scan as `asm run` does it (`sources.threads`, 0 = in this
 * thread), with the event loop's delay sampled meanwhile: how long a command, a button or the outbox would wait.
 */
async function scan(db: string, claudeRoot: string, codexRoot: string, threads?: number) {
  const config = configSchema.parse({
    store: { path: db },
    sources: {
      claude: { root: claudeRoot, extraRoots: [] },
      codex: { root: codexRoot },
      openclaw: { enabled: false },
      opencode: { enabled: false },
      gemini: { enabled: false },
    },
  });
  const rt: Runtime = runtimeOver(openStore(db), config);
  const sources = [new ClaudeCodeSource(config), new CodexSource(config)];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const scanning = threads === undefined ? runScan(rt, sources) : runScan(rt, undefined, Date.now(), { threads });
  const answers = threads === undefined ? [] : await askWhile(rt, scanning);
  const report = await scanning;
  loop.disable();
  const ms = performance.now() - t0;
  const cu = process.cpuUsage(c0);
  const sum = (k: "filesRead" | "bytesRead" | "filesSeen" | "parseErrors" | "sessionsUpdated") => report.results.reduce((n, r) => n + r[k], 0);
  const out = {
    ms,
    cpuMs: (cu.user + cu.system) / 1000,
    filesSeen: sum("filesSeen"),
    filesRead: sum("filesRead"),
    bytesRead: sum("bytesRead"),
    parseErrors: sum("parseErrors"),
    sessions: rt.sessions.count(),
    loopP95Ms: loop.percentile(95) / 1e6,
    loopMaxMs: loop.max / 1e6,
    commands: answers.length,
    commandP95Ms: percentile(answers, 95),
    commandMaxMs: answers.length ? Math.max(...answers) : 0,
    errors: report.results.flatMap((r) => r.errors).slice(0, 3),
  };
  rt.close();
  return out;
}

const [mode, ...args] = process.argv.slice(2);
const t0 = performance.now();
const c0 = process.cpuUsage();
let result: Record<string, unknown>;
if (mode === "parse") result = bareParse(args);
else if (mode === "split") result = bareParse(args, false);
else if (mode === "stat") result = bareStat(args);
else if (mode === "idle") result = {};
else if (mode === "scan") result = await scan(args[0]!, args[1]!, args[2]!);
else if (mode === "scan-threads") result = await scan(args[0]!, args[1]!, args[2]!, Number(args[3]));
else throw new Error(`unknown mode ${mode}`);
const ms = (result.ms as number | undefined) ?? performance.now() - t0;
const cu = process.cpuUsage(c0);
const cpuMs = (result.cpuMs as number | undefined) ?? (cu.user + cu.system) / 1000;
process.stdout.write(`${JSON.stringify({ ...result, ms, cpuMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
