import type { Runtime } from "../store/runtime.ts";
import { createSources } from "./index.ts";
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

const MISSING_KEY = "scan.missingRoots";

/** Scans in flight, per database: a second caller joins the running scan instead of overlapping it. */
const inFlight = new WeakMap<object, Promise<ScanReport>>();

/**
 * Runs one scan cycle over every enabled source; a source that throws is recorded, not fatal. A missing
 * root is logged once when it goes missing (and once when it appears), not every cycle. Calls that overlap
 * a running scan of the same store share its result.
 */
export function runScan(rt: Runtime, sources?: Source[], now = Date.now()): Promise<ScanReport> {
  const running = inFlight.get(rt.db);
  if (running) return running;
  const p = scanOnce(rt, sources ?? createSources(rt.config), now).finally(() => inFlight.delete(rt.db));
  inFlight.set(rt.db, p);
  return p;
}

async function scanOnce(rt: Runtime, sources: Source[], now: number): Promise<ScanReport> {
  const started = performance.now();
  const results: SourceScanResult[] = [];
  for (const source of sources) {
    try {
      results.push(await source.scan({ db: rt.db, sessions: rt.sessions, config: rt.config, log: rt.log, now }));
    } catch (err) {
      rt.log.error({ err, platform: source.platform }, "source scan failed");
      results.push({ ...emptyResult(source.platform), errors: [String((err as Error)?.message ?? err)] });
    }
  }
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
