import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readZstdLines, ZstdReadError } from "../../src/lib/zstd.ts";

const dir = join(import.meta.dirname, "../fixtures/codex/zstd");

describe("readZstdLines", () => {
  it("streams every line of a .jsonl.zst, the last one without a newline too", async () => {
    const seen: number[] = [];
    let last: unknown;
    const out = await readZstdLines(join(dir, "lines.jsonl.zst"), (line, no) => {
      const v = JSON.parse(line.toString("utf8"));
      if (typeof v.i === "number") {
        expect(v.t).toBe("héllo 日本 ".repeat(v.i % 7));
        seen.push(v.i);
      } else last = v;
      expect(no).toBe(seen.length + (last ? 1 : 0));
    });
    expect(seen).toHaveLength(20000);
    expect(seen[19999]).toBe(19999);
    expect(last).toEqual({ last: true });
    expect(out.lineNo).toBe(20001);
    expect(out.bytesOut).toBeGreaterThan(out.bytesRead);
  });

  it("reports damaged data as ZstdReadError with the path", async () => {
    for (const name of ["truncated.jsonl.zst", "garbage.jsonl.zst"]) {
      const err = await readZstdLines(join(dir, name), () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZstdReadError);
      expect((err as ZstdReadError).path).toContain(name);
    }
  });

  it("throws the fs error for a missing file", async () => {
    const err = await readZstdLines(join(dir, "nope.zst"), () => {}).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});
