import type { Runtime } from "../runtime.ts";
import { createSources } from "./index.ts";
import type { Source, SourceScanResult } from "./source.ts";

export interface ScanReport {
  startedAt: number;
  durationMs: number;
  results: SourceScanResult[];
}

/** Runs one scan cycle over every enabled source; a source that throws is recorded, not fatal. */
export async function runScan(rt: Runtime, sources: Source[] = createSources(rt.config), now = Date.now()): Promise<ScanReport> {
  const started = performance.now();
  const results: SourceScanResult[] = [];
  for (const source of sources) {
    try {
      results.push(await source.scan({ db: rt.db, sessions: rt.sessions, config: rt.config, log: rt.log, now }));
    } catch (err) {
      rt.log.error({ err, platform: source.platform }, "source scan failed");
      results.push({
        platform: source.platform,
        sessionsUpdated: 0,
        filesSeen: 0,
        filesRead: 0,
        bytesRead: 0,
        parseErrors: 0,
        missingRoots: [],
        errors: [String((err as Error)?.message ?? err)],
      });
    }
  }
  const report = { startedAt: now, durationMs: performance.now() - started, results };
  rt.kv.set("scan.last", { at: now, durationMs: report.durationMs, errors: results.flatMap((r) => r.errors) }, now);
  return report;
}
