import { appendFileSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expandLogGlobs, judgeLine, type LogRules, tailLog } from "../../src/observe/log-tail.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { HOUR, MIN, NOW } from "../helpers/checks.ts";
import { tempDir } from "../helpers/tmp.ts";

const rules: LogRules = {
  errorPatterns: [/\bERROR\b/i, /\bFATAL\b/i],
  durationPattern: /(?:duration|took|elapsed)["=: ]+(\d+(?:\.\d+)?)\s*(ms|s)\b/i,
  slowMs: 2000,
};

describe("judgeLine", () => {
  const cases: [string, boolean, number | null][] = [
    ['{"level":30,"msg":"ok"}', false, null],
    ['{"level":50,"msg":"boom"}', true, null],
    ['{"level":60,"msg":"dead"}', true, null],
    ['{"level":"error","msg":"x"}', true, null],
    ['{"_meta":{"logLevelName":"ERROR"},"0":"tslog line"}', true, null],
    ['{"level":30,"msg":"contains ERROR in text"}', false, null],
    ['{"level":30,"responseTime":2500}', false, 2500],
    ["2026-11-23 12:00:00 ERROR provider failed", true, null],
    ["12:00 INFO request took 3.5s", false, 3500],
    ["12:00 INFO duration=120ms", false, 120],
    ["{not json ERROR", true, null],
    ["plain line", false, null],
  ];
  for (const [line, error, ms] of cases) {
    it(line, () => expect(judgeLine(line, rules)).toEqual({ error, durationMs: ms }));
  }
});

describe("tailLog", () => {
  let dir: string;
  let db: Db;
  let path: string;
  beforeEach(() => {
    dir = tempDir();
    db = openStore(join(dir, "asm.db"));
    path = join(dir, "gateway.log");
  });
  afterEach(() => db.close());

  it("returns null for a missing file", () => {
    expect(tailLog(db, path, rules, NOW)).toBeNull();
  });

  it("reads a small new file whole, then only what was appended", () => {
    writeFileSync(path, '{"level":30,"msg":"a"}\n{"level":50,"msg":"b"}\nINFO took 3s\n');
    const first = tailLog(db, path, rules, NOW)!;
    expect(first).toMatchObject({ firstSight: true, lines: 3, errorLines: 1, slowLines: 1, maxDurationMs: 3000, previousAt: null });
    expect(first.sizeBefore).toBe(first.size);

    appendFileSync(path, "ERROR one\nINFO two\n");
    const second = tailLog(db, path, rules, NOW + MIN)!;
    expect(second).toMatchObject({ firstSight: false, lines: 2, errorLines: 1, slowLines: 0, previousAt: NOW, sizeBefore: first.size });
    expect(second.bytesRead).toBe("ERROR one\nINFO two\n".length);

    const third = tailLog(db, path, rules, NOW + 2 * MIN)!;
    expect(third).toMatchObject({ lines: 0, bytesRead: 0 });
    const row = db.prepare("SELECT source, offset, line_no FROM files WHERE path = ?").get(path);
    expect(row).toEqual({ source: "log", offset: third.size, line_no: 5 });
  });

  it("a half-written last line waits for the next pass", () => {
    writeFileSync(path, "INFO a\nERR");
    expect(tailLog(db, path, rules, NOW)).toMatchObject({ lines: 1, errorLines: 0 });
    appendFileSync(path, "OR finished\n");
    expect(tailLog(db, path, rules, NOW + MIN)).toMatchObject({ lines: 1, errorLines: 1 });
  });

  it("starts over when the file is truncated", () => {
    writeFileSync(path, "INFO a\nINFO b\nINFO c\n");
    tailLog(db, path, rules, NOW);
    writeFileSync(path, "ERROR x\n");
    const o = tailLog(db, path, rules, NOW + MIN)!;
    expect(o).toMatchObject({ truncated: true, rotated: false, sizeBefore: 0, lines: 1, errorLines: 1 });
  });

  it("starts over when the file was truncated and regrew past our offset (copytruncate)", () => {
    writeFileSync(path, "INFO a\nINFO b\n");
    tailLog(db, path, rules, NOW);
    writeFileSync(path, "ERROR after rotation, a longer first line\nINFO next\n");
    const o = tailLog(db, path, rules, NOW + MIN)!;
    expect(o).toMatchObject({ truncated: true, sizeBefore: 0, lines: 2, errorLines: 1 });
  });

  it("an untouched file costs a stat and moves the interval on", () => {
    writeFileSync(path, "INFO a\n");
    tailLog(db, path, rules, NOW);
    expect(tailLog(db, path, rules, NOW + MIN)).toMatchObject({ lines: 0, bytesRead: 0, previousAt: NOW });
    expect(tailLog(db, path, rules, NOW + 2 * MIN)).toMatchObject({ previousAt: NOW + MIN });
  });

  it("starts over on a rotated file (new inode), even when it is larger", () => {
    writeFileSync(path, "INFO a\n");
    tailLog(db, path, rules, NOW);
    renameSync(path, `${path}.1`);
    writeFileSync(path, "ERROR 1\nERROR 2\nINFO 3\nINFO 4\n");
    const o = tailLog(db, path, rules, NOW + MIN)!;
    expect(o).toMatchObject({ rotated: true, truncated: false, sizeBefore: 0, lines: 4, errorLines: 2 });
  });

  it("on first sight of a big file reads only its tail, skipping the cut line", () => {
    const line = "INFO ................................................\n"; // 54 bytes
    writeFileSync(path, `${"ERROR old\n".repeat(100)}${line.repeat(20)}`);
    const o = tailLog(db, path, rules, NOW, { initialTailBytes: line.length * 5 + 10 })!;
    expect(o).toMatchObject({ firstSight: true, lines: 5, errorLines: 0 });
  });

  it("reads at most maxBytesPerPass and continues next time", () => {
    writeFileSync(path, "INFO 1\nINFO 2\nINFO 3\nINFO 4\n");
    expect(tailLog(db, path, rules, NOW, { maxBytesPerPass: 15 })).toMatchObject({ lines: 2 });
    expect(tailLog(db, path, rules, NOW + 1, { maxBytesPerPass: 15 })).toMatchObject({ lines: 2 });
    expect(tailLog(db, path, rules, NOW + 2, { maxBytesPerPass: 15 })).toMatchObject({ lines: 0 });
  });

  it("a directory is reported, not thrown", () => {
    expect(tailLog(db, dir, rules, NOW)).toMatchObject({ error: "not a regular file" });
  });
});

describe("expandLogGlobs", () => {
  it("expands wildcards in any segment and leaves out stale files", () => {
    const dir = tempDir();
    const now = Date.now();
    writeFileSync(join(dir, "openclaw-2026-11-23.log"), "x\n");
    writeFileSync(join(dir, "openclaw-2026-11-01.log"), "x\n");
    writeFileSync(join(dir, "other.txt"), "x\n");
    const old = (now - 10 * 24 * HOUR) / 1000;
    utimesSync(join(dir, "openclaw-2026-11-01.log"), old, old);
    expect(expandLogGlobs([join(dir, "openclaw-*.log")], now)).toEqual([join(dir, "openclaw-2026-11-23.log")]);
    expect(expandLogGlobs([join(dir, "*", "x.log")], now)).toEqual([]);
    expect(expandLogGlobs([join(dir, "missing.log")], now)).toEqual([join(dir, "missing.log")]);
    expect(expandLogGlobs([join(dir, "openclaw-*.log")], now, Number.POSITIVE_INFINITY)).toHaveLength(2);
  });
});
