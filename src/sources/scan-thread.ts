import { Writable } from "node:stream";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { Platform } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { createLogger } from "../lib/log.ts";
import { openStore } from "../store/db.ts";
import { SessionStore } from "../store/sessions.ts";
import { createSources } from "./index.ts";
import { emptyResult, type SourceScanResult } from "./source.ts";

/** What the main thread hands a scan thread (structured-cloned). */
export interface ScanThreadInput {
  /** Marks the worker as a scan thread: importing this module anywhere else does nothing. */
  asmScanThread: true;
  config: Config;
  /** asm's database file; the thread opens its own connection (WAL lets it write beside the main thread). */
  dbPath: string;
  /** The sources this thread scans, by platform (each thread writes its own platforms' sessions). */
  platforms: Platform[];
  now: number;
}

/** What a scan thread posts: log lines as they come (JSON, for the main thread's logger), then its results, once. */
export type ScanThreadMessage = { log: string } | { results: SourceScanResult[] };

/**
 * The body of one scan thread: the same sources as an in-process scan, over a connection of its own. A source
 * that throws is recorded, as in `runScan`; anything else that throws ends the thread (the main thread reports it).
 */
async function scanInThread(input: ScanThreadInput, port: MessagePort): Promise<{ results: SourceScanResult[] }> {
  const { config, now } = input;
  // Lines go to the main thread, which logs them through asm's logger (its stream, file, levels and redaction).
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      port.postMessage({ log: chunk.toString() } satisfies ScanThreadMessage);
      done();
    },
  });
  const log = createLogger({ level: config.log.level ?? "info", pretty: "never", stream });
  const db = openStore(input.dbPath);
  try {
    const sessions = new SessionStore(db);
    const wanted = new Set(input.platforms);
    const results: SourceScanResult[] = [];
    for (const source of createSources(config).filter((s) => wanted.has(s.platform))) {
      try {
        results.push(await source.scan({ db, sessions, config, log, now }));
      } catch (err) {
        log.error({ err, platform: source.platform }, "source scan failed");
        results.push({ ...emptyResult(source.platform), errors: [String((err as Error)?.message ?? err)] });
      }
    }
    return { results };
  } finally {
    db.close();
  }
}

const input = workerData as ScanThreadInput | null;
if (parentPort && input?.asmScanThread) {
  const port = parentPort;
  port.postMessage((await scanInThread(input, port)) satisfies ScanThreadMessage);
}
