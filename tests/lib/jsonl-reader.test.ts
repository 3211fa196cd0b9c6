import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { identity, LineError, LineSplitter, type PreviousRead, parseLine, planRead, type ReadOutcome, readLines } from "../../src/lib/jsonl-reader.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-reader-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** One incremental cycle over `path`, as a source does it. */
function cycle(path: string, prev: PreviousRead | undefined) {
  const st = statSync(path);
  const plan = planRead(path, st, prev);
  const lines: { no: number; text: string }[] = [];
  if (plan.kind === "skip") return { plan, lines, prev, out: undefined as ReadOutcome | undefined };
  const out = readLines(path, plan.from, st.size, (line, no) => lines.push({ no, text: line.toString("utf8") }));
  return { plan, lines, out, prev: { ...identity(st), offset: out.offset, lineNo: out.lineNo, tail: out.tail } };
}

describe("readLines / planRead", () => {
  it("reads whole lines only and waits for a half-written last line", () => {
    const p = join(dir, "a.jsonl");
    writeFileSync(p, '{"a":1}\n{"b":2}\n{"c":');
    const c1 = cycle(p, undefined);
    expect(c1.plan.kind).toBe("restart");
    expect(c1.lines).toEqual([
      { no: 1, text: '{"a":1}' },
      { no: 2, text: '{"b":2}' },
    ]);
    expect(c1.out?.pending).toBe(5);
    appendFileSync(p, '3}\n{"d":4}\n');
    const c2 = cycle(p, c1.prev);
    expect(c2.plan.kind).toBe("append");
    expect(c2.lines).toEqual([
      { no: 3, text: '{"c":3}' },
      { no: 4, text: '{"d":4}' },
    ]);
  });

  it("reads no bytes when nothing changed", () => {
    const p = join(dir, "a.jsonl");
    writeFileSync(p, '{"a":1}\n');
    const c1 = cycle(p, undefined);
    const c2 = cycle(p, c1.prev);
    expect(c2.plan.kind).toBe("skip");
    expect(c2.out).toBeUndefined();
  });

  it("restarts from 0 on a shrink, a rename over the file, and a truncate-then-regrow", () => {
    const p = join(dir, "a.jsonl");
    writeFileSync(p, '{"a":1}\n{"b":2}\n');
    const c1 = cycle(p, undefined);
    truncateSync(p, 0);
    writeFileSync(p, '{"x":1}\n');
    const c2 = cycle(p, c1.prev);
    expect(c2.plan).toMatchObject({ kind: "restart", reason: "shrunk" });
    expect(c2.lines.map((l) => l.text)).toEqual(['{"x":1}']);

    const q = join(dir, "b.tmp");
    writeFileSync(q, '{"y":1}\n{"y":2}\n');
    renameSync(q, p);
    const c3 = cycle(p, c2.prev);
    expect(c3.plan).toMatchObject({ kind: "restart", reason: "replaced" });
    expect(c3.lines).toHaveLength(2);

    // Same inode, rewritten with different bytes and grown past the old size.
    writeFileSync(p, '{"z":111111}\n{"z":2}\n{"z":3}\n');
    const c4 = cycle(p, c3.prev);
    expect(c4.plan).toMatchObject({ kind: "restart", reason: "rewritten" });
    expect(c4.lines.map((l) => l.no)).toEqual([1, 2, 3]);
  });

  it("handles CRLF, blank lines, unicode split across reads and a 5 MB line with a small buffer", () => {
    const p = join(dir, "ü-日本.jsonl");
    const big = JSON.stringify({ t: "é".repeat(2_500_000) });
    writeFileSync(p, `{"a":"日本語"}\r\n\n${big}\n{"end":true}\n`);
    const c = cycle(p, undefined);
    expect(c.lines.map((l) => l.no)).toEqual([1, 3, 4]);
    expect(c.lines[0]!.text).toBe('{"a":"日本語"}');
    expect(c.lines[1]!.text).toBe(big);
    expect(c.out?.bytesRead).toBe(statSync(p).size);

    const got: string[] = [];
    const s = new LineSplitter((line) => got.push(line.toString()), 0, { buf: Buffer.alloc(4) });
    const bytes = Buffer.from("αβγ\nδ\n");
    for (const b of bytes) s.push(Buffer.from([b]));
    expect(got).toEqual(["αβγ", "δ"]);
  });

  it("parseLine reports invalid JSON and non-objects as LineError", () => {
    expect(parseLine(Buffer.from('{"a":1}'), 1)).toEqual({ a: 1 });
    const bad = parseLine(Buffer.from('{"a":'), 7);
    expect(bad).toBeInstanceOf(LineError);
    expect(String(bad)).toMatch(/^line 7: invalid JSON/);
    expect(parseLine(Buffer.from("[1]"), 2)).toBeInstanceOf(LineError);
  });

  it("finish() emits a final line without a newline (complete documents only)", () => {
    const got: string[] = [];
    const s = new LineSplitter((line) => got.push(line.toString()));
    s.push(Buffer.from('{"a":1}\n{"b":2}'));
    expect(got).toEqual(['{"a":1}']);
    s.finish();
    expect(got).toEqual(['{"a":1}', '{"b":2}']);
  });
});
