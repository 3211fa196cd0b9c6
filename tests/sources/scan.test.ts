import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { type LastScan, runScan } from "../../src/sources/scan.ts";
import { emptyResult, type ScanContext, type Source } from "../../src/sources/source.ts";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import type { Runtime } from "../../src/store/runtime.ts";
import { SessionStore } from "../../src/store/sessions.ts";

let dir: string;
let rt: Runtime;
let logLines: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-scan-"));
  logLines = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const db = openStore(join(dir, "asm.db"));
  rt = {
    config: configSchema.parse({}),
    secrets: {},
    log: createLogger({ level: "info", pretty: "never", stream }),
    db,
    kv: new KvStore(db),
    sessions: new SessionStore(db),
    configFiles: [],
    close: () => db.close(),
  } as unknown as Runtime;
});
afterEach(() => {
  rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A source whose roots and behaviour the test controls. */
function fakeSource(platform: Source["platform"], root: string, calls: ScanContext[], fail = false): Source {
  return {
    platform,
    roots: () => [root],
    async scan(ctx) {
      calls.push(ctx);
      await new Promise((r) => setImmediate(r));
      if (fail) throw new Error("disk on fire");
      const r = emptyResult(platform);
      if (!existsSync(root)) r.missingRoots.push(root);
      r.filesSeen = 3;
      r.bytesRead = 10;
      return r;
    },
  };
}

describe("runScan", () => {
  it("records a source that throws and still runs the others, with totals in scan.last", async () => {
    const calls: ScanContext[] = [];
    const report = await runScan(rt, [fakeSource("claude", join(dir, "a/b/missing"), calls, true), fakeSource("codex", dir, calls)], 1000);
    expect(calls).toHaveLength(2);
    expect(report.results[0]).toMatchObject({ platform: "claude", errors: ["disk on fire"] });
    expect(rt.kv.get<LastScan>("scan.last")).toMatchObject({ at: 1000, filesSeen: 3, bytesRead: 10, errors: ["disk on fire"] });
  });

  it("joins a scan already running instead of overlapping it", async () => {
    const calls: ScanContext[] = [];
    const sources = [fakeSource("codex", dir, calls)];
    const [a, b] = await Promise.all([runScan(rt, sources), runScan(rt, sources)]);
    expect(a).toBe(b);
    expect(calls).toHaveLength(1);
    await runScan(rt, sources);
    expect(calls).toHaveLength(2);
  });

  it("logs a missing root once, and once again when it appears", async () => {
    const calls: ScanContext[] = [];
    const root = join(dir, "x/.codex");
    const sources = [fakeSource("codex", root, calls)];
    await runScan(rt, sources);
    await runScan(rt, sources);
    expect(logLines.filter((l) => l.includes("agent folder not found"))).toHaveLength(1);
    mkdirSync(root, { recursive: true });
    await runScan(rt, sources);
    await runScan(rt, sources);
    expect(logLines.filter((l) => l.includes("no longer missing"))).toHaveLength(1);
  });
});
