import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("TurnStore", () => {
  it("adds turns one by one and in multi-row batches of any size, and forgets a session's turns", () => {
    const db = openStore(join(tempDir(), "asm.db"));
    const turns = new TurnStore(db);
    const many = Array.from({ length: 70 }, (_, i) => ({
      ts: 1000 + i,
      model: i % 2 ? "m" : null,
      input: i,
      output: 2 * i,
      cacheRead: 3,
      cacheWrite: 4,
      contextTokens: i % 3 ? 10 * i : null,
    }));
    turns.addMany("s1", many);
    turns.addMany("s1", []);
    turns.add({ sessionUid: "s2", ts: 5, model: "x", input: 1, output: 1, cacheRead: 0, cacheWrite: 0, contextTokens: null });
    expect(turns.forSession("s1")).toEqual(many.map((t) => ({ ...t, sessionUid: "s1" })));
    expect(turns.forSession("s1", 1060)).toHaveLength(10);
    turns.deleteSession("s1");
    expect(turns.forSession("s1")).toEqual([]);
    expect(turns.forSession("s2")).toHaveLength(1);
    db.close();
  });
});
