import type { ResourceLimits } from "node:worker_threads";
import type { Platform } from "../agents/session.ts";
import { runThread, threadEntry } from "../lib/threads.ts";
import type { Runtime } from "../store/runtime.ts";
import { createSources } from "./index.ts";
import type { ScanThreadInput, ScanThreadMessage } from "./scan-thread.ts";
import { emptyResult, type Source, type SourceScanResult } from "./source.ts";

export interface ScanReport {
  startedAt: number;
  durationMs: number;
  results: SourceScanResult[];
}

/** What the last scan did, kept in kv `scan.last` for health and /health. */
export interface LastScan {
  at: number;
  durationMs: number;
  filesSeen: number;
  filesRead: number;
  bytesRead: number;
  parseErrors: number;
  errors: string[];
}

/** How a scan runs: in worker threads (the default, `sources.threads`) or on the event loop. */
export interface ScanOptions {
  /** Scan threads; overrides `sources.threads`. 0 = in this thread. */
  threads?: number;
  /** A thread still scanning after this long is stopped and reported (default 10 minutes). */
  threadTimeoutMs?: number;
  /** V8 limits per scan thread: a thread that exceeds them ends, as a reported error, and asm goes on. */
  resourceLimits?: ResourceLimits;
}

/** A scan thread that crashed, hung or exited without a report; its sources' results carry it as an error. */
export class ScanThreadError extends Error {
  constructor(
    readonly platforms: Platform[],
    reason: string,
  ) {
    super(`scan thread for ${platforms.join(", ")} ${reason}; the next cycle starts a fresh one`);
    this.name = "ScanThreadError";
  }
}

const MISSING_KEY = "scan.missingRoots";
const defaultThreadTimeoutMs = 10 * 60_000;

/** Scans in flight, per database: a second caller joins the running scan instead of overlapping it. */
const inFlight = new WeakMap<object, Promise<ScanReport>>();

/**
 * Runs one scan cycle over every enabled source; a source that throws is recorded, not fatal. A missing
 * root is logged once when it goes missing (and once when it appears), not every cycle. Calls that overlap
 * a running scan of the same store share its result.
 */
export function runScan(rt: Runtime, sources?: Source[], now = Date.now(), options: ScanOptions = {}): Promise<ScanReport> {
  const running = inFlight.get(rt.db);
  if (running) return running;
  const threads = sources || rt.db.memory ? 0 : (options.threads ?? scanThreads(rt.config.sources.threads));
  const scan = threads > 0 ? () => scanInThreads(rt, threads, now, options) : () => scanHere(rt, sources ?? createSources(rt.config), now);
  const p = scanOnce(rt, scan, now).finally(() => inFlight.delete(rt.db));
  inFlight.set(rt.db, p);
  return p;
}

/**
 * `sources.threads` as a count. auto = 1: off the event loop is what matters. Two threads measured no faster on
 * the 2-CPU test machine (bench/scan-threads.ts, 1 GiB: 4.24 s vs 4.09 s), though it was busy with other work
 * (two scans in two processes into two separate stores were no faster either, so not proven to be SQLite's write
 * lock); `threads: 2` splits the sources for a machine where bench/scan-threads.ts shows it pays.
 */
export const scanThreads = (setting: "auto" | number): number => (setting === "auto" ? 1 : setting);

/**
 * The platforms split over `n` threads, round-robin in source order (Claude Code and Codex, the usual bulk of a
 * cold scan, land on different threads). Never more groups than platforms, never an empty group.
 */
export function splitPlatforms(platforms: Platform[], n: number): Platform[][] {
  const groups: Platform[][] = Array.from({ length: Math.min(n, platforms.length) }, () => []);
  for (const [i, p] of platforms.entries()) groups[i % groups.length]!.push(p);
  return groups;
}

async function scanHere(rt: Runtime, sources: Source[], now: number): Promise<SourceScanResult[]> {
  const results: SourceScanResult[] = [];
  for (const source of sources) {
    try {
      results.push(await source.scan({ db: rt.db, sessions: rt.sessions, config: rt.config, log: rt.log, now }));
    } catch (err) {
      rt.log.error({ err, platform: source.platform }, "source scan failed");
      results.push({ ...emptyResult(source.platform), errors: [String((err as Error)?.message ?? err)] });
    }
  }
  return results;
}

/** The sources scanned in worker threads, in source order; a thread that fails becomes an error on each of its sources. */
async function scanInThreads(rt: Runtime, n: number, now: number, options: ScanOptions): Promise<SourceScanResult[]> {
  const platforms = createSources(rt.config).map((s) => s.platform);
  const groups = splitPlatforms(platforms, n);
  const done = await Promise.all(
    groups.map((group) =>
      scanThread(rt, group, now, options).catch((err: unknown) => {
        const error = err instanceof ScanThreadError ? err : new ScanThreadError(group, `failed: ${String((err as Error)?.message ?? err)}`);
        rt.log.error({ err: error, platforms: group }, "scan thread failed");
        return group.map((p) => ({ ...emptyResult(p), errors: [error.message] }));
      }),
    ),
  );
  const byPlatform = new Map(done.flat().map((r) => [r.platform, r]));
  return platforms.flatMap((p) => byPlatform.get(p) ?? []);
}

/**
 * One thread scanning `platforms`: resolves with its report, rejects (ScanThreadError) when it crashes, hangs or exits
 * early. A fresh thread per scan, not a resident one: it costs about 100 ms and 20 MiB while a scan runs (a no-change
 * cycle over 10,000 files: 480 ms instead of 380), gives that memory back between cycles, and a thread that failed
 * leaves nothing behind for the next cycle.
 */
function scanThread(rt: Runtime, platforms: Platform[], now: number, options: ScanOptions): Promise<SourceScanResult[]> {
  const input: ScanThreadInput = { asmScanThread: true, config: rt.config, dbPath: rt.db.name, platforms, now };
  const timeoutMs = options.threadTimeoutMs ?? defaultThreadTimeoutMs;
  return runThread({
    entry: threadEntry(import.meta.url, "scan-thread"),
    workerData: input,
    resourceLimits: options.resourceLimits,
    timeoutMs,
    answer: (m) => {
      const message = m as ScanThreadMessage;
      if ("log" in message) return void relayLog(rt, message.log);
      return message.results;
    },
    fail: (detail) => new ScanThreadError(platforms, detail),
  });
}

/** A scan thread's log line, logged again by asm's logger at its level (which filters, redacts and writes it). */
function relayLog(rt: Runtime, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return void rt.log.warn({ line: line.slice(0, 500) }, "unreadable log line from a scan thread");
  }
  const { level, time: _time, msg, ...fields } = record;
  const name = typeof level === "number" ? rt.log.levels.labels[level] : undefined;
  const method = name === "fatal" || name === "error" || name === "warn" || name === "debug" || name === "trace" ? name : "info";
  rt.log[method]({ ...fields, thread: "scan" }, typeof msg === "string" ? msg : "");
}

async function scanOnce(rt: Runtime, scan: () => Promise<SourceScanResult[]>, now: number): Promise<ScanReport> {
  const started = performance.now();
  const results = await scan();
  reportMissingRoots(rt, results, now);
  const report = { startedAt: now, durationMs: performance.now() - started, results };
  const sum = (k: "filesSeen" | "filesRead" | "bytesRead" | "parseErrors") => results.reduce((n, r) => n + r[k], 0);
  const last: LastScan = {
    at: now,
    durationMs: report.durationMs,
    filesSeen: sum("filesSeen"),
    filesRead: sum("filesRead"),
    bytesRead: sum("bytesRead"),
    parseErrors: sum("parseErrors"),
    errors: results.flatMap((r) => r.errors),
  };
  rt.kv.set("scan.last", last, now);
  return report;
}

/** Logs roots that went missing or came back since the last cycle (state in kv, so once across restarts). */
function reportMissingRoots(rt: Runtime, results: SourceScanResult[], now: number): void {
  const before = new Set(rt.kv.get<string[]>(MISSING_KEY) ?? []);
  const current = new Set<string>();
  for (const r of results) {
    for (const root of r.missingRoots) {
      current.add(root);
      if (!before.has(root)) rt.log.info({ platform: r.platform, root }, "agent folder not found; watching for it");
    }
  }
  for (const root of before) if (!current.has(root)) rt.log.info({ root }, "agent folder no longer missing");
  if (current.size !== before.size || [...current].some((r) => !before.has(r))) rt.kv.set(MISSING_KEY, [...current].sort(), now);
}
