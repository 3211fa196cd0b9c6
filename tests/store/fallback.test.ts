import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FallbackDecision } from "../../src/agents/agent.ts";
import { openStore } from "../../src/store/db.ts";
import { FallbackStore } from "../../src/store/fallback.ts";
import { tempDir } from "../helpers/tmp.ts";

const d = (ts: number, key: string, over: Partial<FallbackDecision> = {}): FallbackDecision => ({
  ts,
  worker: "w",
  originalModel: "a",
  errorType: "rate_limit",
  nextModel: "b",
  source: "log:/x",
  dedupKey: key,
  ...over,
});

describe("FallbackStore", () => {
  it("adds each decision once, lists by time and prunes", () => {
    const db = openStore(join(tempDir(), "asm.db"));
    const s = new FallbackStore(db);
    expect(s.add([d(300, "k3", { nextModel: null }), d(100, "k1"), d(200, "k2")])).toBe(3);
    expect(s.add([d(100, "k1"), d(400, "k4")])).toBe(1);
    expect(s.since(150).map((x) => [x.ts, x.nextModel])).toEqual([
      [200, "b"],
      [300, null],
      [400, "b"],
    ]);
    expect(s.since(0)[0]).toEqual(d(100, "k1"));
    expect(s.prune(250)).toBe(2);
    expect(s.since(0).map((x) => x.dedupKey)).toEqual(["k3", "k4"]);
    db.close();
  });
});
