import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { type SeriesPoint, SeriesStore } from "../../src/store/series.ts";
import { tempDir } from "../helpers/tmp.ts";

const pt = (subject: string, ts: number, value: number | null, ok: boolean | null, extra: Record<string, unknown> | null = null): SeriesPoint => ({
  name: "quota",
  subject,
  ts,
  value,
  ok,
  extra,
});

describe("SeriesStore", () => {
  it("keeps samples per name and subject, newest per subject, last good one, and prunes", () => {
    const db = openStore(join(tempDir(), "asm.db"));
    const s = new SeriesStore(db);
    s.add(pt("a", 100, 5, true, { source: "x" }));
    s.add(pt("a", 200, null, false, { error: "HTTP 500" }));
    s.add(pt("b", 150, 7, true));
    s.add({ ...pt("a", 300, 1, true), name: "gateway" });
    expect(s.since("quota", "a", 0).map((p) => [p.ts, p.value, p.ok, p.extra])).toEqual([
      [100, 5, true, { source: "x" }],
      [200, null, false, { error: "HTTP 500" }],
    ]);
    expect(s.since("quota", "a", 150).map((p) => p.ts)).toEqual([200]);
    expect(s.latestBySubject("quota").map((p) => [p.subject, p.ts])).toEqual([
      ["a", 200],
      ["b", 150],
    ]);
    expect(s.lastOk("quota", "a")!.ts).toBe(100);
    expect(s.lastOk("quota", "zzz")).toBeUndefined();
    expect(s.prune(160)).toBe(2);
    expect(s.latestBySubject("quota").map((p) => p.subject)).toEqual(["a"]);
    db.close();
  });
});
