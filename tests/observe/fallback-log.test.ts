import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decisionsFromSessions, parseDecisionLine, syncFallbackDecisions } from "../../src/observe/fallback-log.ts";
import { openStore } from "../../src/store/db.ts";
import { FallbackStore } from "../../src/store/fallback.ts";
import { MIN, NOW, session } from "../helpers/checks.ts";
import { tempDir } from "../helpers/tmp.ts";

const line = (o: Record<string, unknown>) => JSON.stringify(o);

describe("parseDecisionLine", () => {
  it("reads the snake_case shape", () => {
    const d = parseDecisionLine(line({ time: "2026-11-23T11:50:00Z", worker: "w1", original_model: "a", error_type: "rate_limit", next_model: "b" }), "log:/f");
    expect(d).toMatchObject({
      ts: Date.parse("2026-11-23T11:50:00Z"),
      worker: "w1",
      originalModel: "a",
      errorType: "rate_limit",
      nextModel: "b",
      source: "log:/f",
    });
    expect(d!.dedupKey).toMatch(/^log:\/f:[0-9a-f]{40}$/);
  });
  it("accepts camelCase, epoch seconds and an exhausted chain", () => {
    expect(parseDecisionLine(line({ ts: 1_790_000_000, originalModel: "a", nextModel: "none" }), "s")).toMatchObject({
      ts: 1_790_000_000_000,
      nextModel: null,
      worker: null,
      errorType: null,
    });
    expect(parseDecisionLine(line({ ts: 1_790_000_000_000, from: "a", to: null }), "s")!.nextModel).toBeNull();
  });
  it("rejects what is not a decision", () => {
    for (const bad of ["not json", "[1,2]", line({ time: "yesterday", original_model: "a" }), line({ time: 5 })]) {
      expect(parseDecisionLine(bad, "s")).toBeNull();
    }
  });
});

describe("decisionsFromSessions", () => {
  it("derives OpenClaw notices, automatic overrides and Claude fallbacks", () => {
    const ds = decisionsFromSessions(
      [
        session({ sessionId: "n", extra: { fallbackNoticeSelectedModel: "a", fallbackNoticeActiveModel: "b", fallbackNoticeReason: "billing" } }),
        session({
          sessionId: "o",
          agentId: "ops",
          extra: { modelOverrideSource: "auto", fallbackOriginModel: "a", modelOverride: "c", lastErrorReason: "timeout" },
        }),
        session({ sessionId: "u", extra: { modelOverrideSource: "user", fallbackOriginModel: "a", modelOverride: "c" } }),
        session({
          platform: "claude",
          agentId: null,
          sessionId: "k",
          extra: { fallbacks: [{ at: "2026-11-23T11:00:00Z", from: "opus", to: "sonnet" }, { at: "bad" }] },
        }),
      ],
      NOW,
    );
    expect(ds.map((d) => [d.worker, d.originalModel, d.nextModel, d.errorType, d.source])).toEqual([
      ["openclaw:main", "a", "b", "billing", "openclaw"],
      ["openclaw:ops", "a", "c", "timeout", "openclaw"],
      ["claude::k", "opus", "sonnet", null, "claude"],
    ]);
  });
});

describe("syncFallbackDecisions", () => {
  it("reads logs incrementally, counts bad lines and never double-counts", () => {
    const dir = tempDir();
    const db = openStore(join(dir, "asm.db"));
    const store = new FallbackStore(db);
    const log = join(dir, "fallback_decisions.jsonl");
    const l1 = line({ time: NOW - 5 * MIN, worker: "w", original_model: "a", error_type: "timeout", next_model: "b" });
    const l2 = line({ time: NOW - 4 * MIN, worker: "w", original_model: "b", error_type: "timeout", next_model: null });
    writeFileSync(log, `${l1}\ngarbage\n`);
    const s = session({ extra: { fallbackNoticeSelectedModel: "x", fallbackNoticeActiveModel: "y" } });
    expect(syncFallbackDecisions(db, store, [log, join(dir, "missing.jsonl")], [s], NOW)).toEqual({ added: 2, badLines: 1, errors: [] });
    appendFileSync(log, `${l2}\n`);
    expect(syncFallbackDecisions(db, store, [log], [s], NOW + MIN)).toEqual({ added: 1, badLines: 0, errors: [] });
    // Rewritten from scratch with the same lines: read again, nothing new.
    writeFileSync(log, `${l1}\n${l2}\n`);
    expect(syncFallbackDecisions(db, store, [log], [s], NOW + 2 * MIN)).toEqual({ added: 0, badLines: 0, errors: [] });
    expect(store.since(0).map((d) => [d.originalModel, d.nextModel, d.source])).toEqual([
      ["a", "b", `log:${log}`],
      ["b", null, `log:${log}`],
      ["x", "y", "openclaw"],
    ]);
    expect(store.prune(NOW - 4.5 * MIN)).toBe(1);
    db.close();
  });
});
