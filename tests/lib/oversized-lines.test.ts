import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCodexMessages } from "../../src/agents/codex/messages-reader.ts";
import { blankRecord, sessionUid } from "../../src/agents/session.ts";
import { LineSplitter, readLines } from "../../src/lib/jsonl-reader.ts";
import { readZstdLines } from "../../src/lib/zstd.ts";
import { type FileAdapter, scanFiles } from "../../src/sources/file-scan.ts";
import { emptyResult } from "../../src/sources/source.ts";
import { sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";
import { writeZstdFrame } from "../helpers/zstd-frame.ts";

// Issue 19 item 5: a few KB of zstd can hold a line of GBs; a line over the cap is skipped and counted as
// it streams by, and the reader's buffer never grows past the cap.

const MiB = 1024 * 1024;
const CAP = MiB;
const HUGE = 64 * MiB;
const X = 0x78;

/** Writes `before`, `count` bytes of "x" (no newline), then `after`, to a plain file, in 1 MiB writes. */
function writeHugeLine(path: string, before: string, count: number, after: string): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, before);
    const chunk = Buffer.alloc(MiB, X);
    for (let left = count; left > 0; left -= MiB) writeSync(fd, chunk, 0, Math.min(MiB, left));
    writeSync(fd, after);
  } finally {
    closeSync(fd);
  }
}

describe("lines over the cap", () => {
  it("a .jsonl.zst holding a 64 MiB line between normal lines: the normal lines come out, one skipped, memory flat", async () => {
    const path = join(tempDir(), "huge.jsonl.zst");
    const size = writeZstdFrame(path, ['{"a":1}\n{"b":2}\n', { byte: X, count: HUGE }, '\n{"c":3}\n{"d":4}']);
    expect(size).toBeLessThan(8 * 1024); // a few KB on disk
    const seen: Array<[number, string]> = [];
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const out = await readZstdLines(
      path,
      (line, no) => {
        seen.push([no, line.toString("utf8")]);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      },
      { maxLineBytes: CAP },
    );
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    expect(seen).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":2}'],
      [4, '{"c":3}'],
      [5, '{"d":4}'],
    ]);
    expect(out).toMatchObject({ oversized: 1, lineNo: 5, bytesOut: 16 + HUGE + 9 + 7 });
    // The buffer stops growing at the cap (+1 byte to tell "at" from "over"), whatever the line's length.
    expect(out.peakBuffer).toBeLessThanOrEqual(CAP + 1);
    // RSS is noisy (GC, allocator), so only a generous bound: far below the line held once, let alone twice.
    expect(rssPeak - rssBefore).toBeLessThan(HUGE * 0.75);
  });

  it("an oversized last line of a .zst (no newline) is skipped and counted too", async () => {
    const path = join(tempDir(), "tail.jsonl.zst");
    writeZstdFrame(path, ['{"a":1}\n', { byte: X, count: 3 * CAP }]);
    const seen: string[] = [];
    const out = await readZstdLines(path, (line) => seen.push(line.toString()), { maxLineBytes: CAP });
    expect(seen).toEqual(['{"a":1}']);
    expect(out).toMatchObject({ oversized: 1, lineNo: 2 });
    expect(out.peakBuffer).toBeLessThanOrEqual(CAP + 1);
  });

  it("a plain file: the huge line is skipped with a flat buffer, the cursor moves past it, a half-written one waits", () => {
    const path = join(tempDir(), "huge.jsonl");
    writeHugeLine(path, '{"a":1}\n', HUGE, '\n{"b":2}\n');
    const seen: Array<[number, string]> = [];
    const end = 8 + HUGE + 1 + 8;
    const out = readLines(path, { offset: 0, lineNo: 0 }, end, (line, no) => seen.push([no, line.toString()]), CAP);
    expect(seen).toEqual([
      [1, '{"a":1}'],
      [3, '{"b":2}'],
    ]);
    expect(out).toMatchObject({ offset: end, lineNo: 3, pending: 0, oversized: 1 });
    expect(out.peakBuffer).toBeLessThanOrEqual(CAP + 1);

    // Still being written: the bytes wait for the next cycle (counted as pending), none of them held.
    const partial = join(tempDir(), "partial.jsonl");
    writeHugeLine(partial, '{"a":1}\n', 4 * CAP, "");
    const p = readLines(partial, { offset: 0, lineNo: 0 }, 8 + 4 * CAP, () => {}, CAP);
    expect(p).toMatchObject({ offset: 8, lineNo: 1, pending: 4 * CAP, oversized: 0 });
    expect(p.peakBuffer).toBeLessThanOrEqual(CAP + 1);
  });

  it("a line over the cap that fits in the buffer is skipped as well; one at the cap is kept", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l.toString()), 0, undefined, 10);
    s.push(Buffer.from(`${"a".repeat(10)}\n${"b".repeat(11)}\r\nok\n`));
    s.finish();
    expect(lines).toEqual(["a".repeat(10), "ok"]);
    expect(s.oversized).toBe(1);
    expect(s.lineNo).toBe(3);
  });

  it("the full-text Codex reader (chat views) streams a .jsonl.zst too: the huge line skipped, the rest as without it", () => {
    const plainPath = join(
      import.meta.dirname,
      "../fixtures/real/codex/.codex/sessions/2026/11/23/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl",
    );
    const lines = readFileSync(plainPath, "utf8").split(/(?<=\n)/);
    const half = Math.floor(lines.length / 2);
    const path = join(tempDir(), "rollout.jsonl.zst");
    // Far over the default cap (16 MiB): decompressed whole, this one line alone would cost 256 MiB, and its text as much again.
    writeZstdFrame(path, [lines.slice(0, half).join(""), { byte: X, count: 256 * MiB }, "\n", lines.slice(half).join("")]);
    const plain = readCodexMessages(plainPath);
    expect(plain.entries.length).toBeGreaterThan(5);
    const rssBefore = process.memoryUsage().rss;
    const read = readCodexMessages(path);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 * MiB);
    expect(read).toEqual({ ...plain, parseErrors: plain.parseErrors + 1 });
  });

  it("scanFiles counts the skipped line and reads the rest of a .zst (sources.maxLineBytes)", async () => {
    const dir = tempDir();
    const h = sourceHarness(dir, { sources: { maxLineBytes: 64 * 1024 } });
    try {
      const path = join(dir, "rollout.jsonl.zst");
      writeZstdFrame(path, ['{"n":1}\n', { byte: X, count: 8 * MiB }, '\n{"n":2}\n']);
      const adapter: FileAdapter<{ lines: number; total: number }> = {
        source: "test",
        sessionUid: () => sessionUid("codex", null, "rollout"),
        fresh: () => ({ lines: 0, total: 0 }),
        line: (s, line) => {
          s.lines++;
          s.total += (JSON.parse(line.toString()) as { n: number }).n;
        },
        parseErrors: () => ({ count: 0, last: null }),
        commit: ({ uid, state, st, now }) => {
          h.sessions.upsert({
            ...blankRecord("codex", null, "rollout", now),
            uid,
            path,
            sizeBytes: st.size,
            messageCount: state.lines,
            inputTokens: state.total,
          });
        },
      };
      const result = emptyResult("codex");
      await scanFiles(h.ctx(), adapter, [{ path, compressed: true }], result);
      expect(result.errors).toEqual([]);
      expect(result.parseErrors).toBe(1);
      expect(h.sessions.get(sessionUid("codex", null, "rollout"))).toMatchObject({ messageCount: 2, inputTokens: 3 });
    } finally {
      h.close();
    }
  });
});
