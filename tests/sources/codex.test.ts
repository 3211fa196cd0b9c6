import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rolloutId } from "../../src/agents/codex/rollout.ts";
import { sessionUid } from "../../src/agents/session.ts";
import { CodexSource } from "../../src/sources/codex.ts";
import type { SourceScanResult } from "../../src/sources/source.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
const real = join(fixtures, "real/codex/.codex");
const hand = join(fixtures, "codex");

const A = "0199aaaa-1111-7000-8000-00000000000a";
const B = "0199bbbb-2222-7000-8000-00000000000b";
const C = "0199cccc-3333-7000-8000-00000000000c";
const D = "0199dddd-4444-7000-8000-00000000000d";
const uid = (id: string) => sessionUid("codex", null, id);

let dir: string;
let root: string;
let h: SourceHarness;
let source: CodexSource;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-codex-"));
  root = join(dir, "home/.codex");
  h = sourceHarness(dir, { sources: { codex: { root } } });
  source = new CodexSource(h.config, {});
});
afterEach(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

const scan = (now = Date.parse("2026-11-20T10:02:00Z")): Promise<SourceScanResult> => source.scan(h.ctx(now));
const copyHand = () => {
  mkdirSync(root, { recursive: true });
  cpSync(join(hand, "sessions"), join(root, "sessions"), { recursive: true });
  cpSync(join(hand, "archived_sessions"), join(root, "archived_sessions"), { recursive: true });
};

describe("CodexSource on rollouts written by Codex 0.169.0", () => {
  it("takes context from last_token_usage.input_tokens, reports 0-then-fresh after compaction, and a repeat scan reads 0 bytes", async () => {
    cpSync(real, root, { recursive: true });
    const r1 = await scan();
    expect(r1).toMatchObject({ filesRead: 2, parseErrors: 0 });
    // Reference figures from an independent reader (json.loads on every line).
    expect(h.sessions.get(uid("01a209f7-4642-7fd2-9938-e1c95f5d15ec"))).toMatchObject({
      model: "gpt-5.5",
      contextTokens: 27816,
      contextWindow: 258400,
      inputTokens: 315165 - 270784,
      cacheReadTokens: 270784,
      outputTokens: 241,
      project: "/tmp/asmfx/codex/home/work/demo-app",
      state: "ended", // codex exec: the run is over once its turn completed
      kind: "session",
    });
    expect(h.sessions.get(uid("01a209f7-4642-7fd2-9938-e1c95f5d15ec"))!.extra).toMatchObject({ compactions: 1 });
    expect(h.turns(uid("01a209f7-4642-7fd2-9938-e1c95f5d15ec"))).toHaveLength(6); // 8 token_counts, 2 repeats at turn start
    const failed = h.sessions.get(uid("01a209f7-4b47-7c43-b427-e8663f88e969"))!;
    expect(failed).toMatchObject({ state: "errored", contextTokens: null });
    expect(failed.extra).toMatchObject({ lastErrorReason: "rate_limit" });

    const r2 = await scan();
    expect(r2).toMatchObject({ filesSeen: 2, filesRead: 0, bytesRead: 0 });
  });

  it("counts exactly once when lines arrive between scans (cut inside lines too)", async () => {
    const rel = "sessions/2026/11/23";
    const name = "rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl";
    const bytes = readFileSync(join(real, rel, name));
    mkdirSync(join(root, rel), { recursive: true });
    const path = join(root, rel, name);
    writeFileSync(path, "");
    let at = 0;
    for (const f of [0.1, 0.33, 0.5, 0.77, 1]) {
      const cut = Math.floor(bytes.length * f);
      appendFileSync(path, bytes.subarray(at, cut));
      at = cut;
      await scan();
    }
    expect(h.sessions.get(uid("01a209f7-4642-7fd2-9938-e1c95f5d15ec"))).toMatchObject({
      contextTokens: 27816,
      inputTokens: 44381,
      outputTokens: 241,
      messageCount: 9,
    });
    expect(h.turns(uid("01a209f7-4642-7fd2-9938-e1c95f5d15ec"))).toHaveLength(6); // 8 token_counts, 2 repeats at turn start
  });
});

describe("CodexSource on hand-made rollouts", () => {
  it("reads rate limits, dedupes a repeated token_count, and keeps an interactive finished turn waiting", async () => {
    copyHand();
    await scan();
    const a = h.sessions.get(uid(A))!;
    expect(a).toMatchObject({
      model: "gpt-5",
      project: "/home/dev/naïve-app",
      contextTokens: 24000,
      contextWindow: 272000,
      inputTokens: 6000,
      cacheReadTokens: 38000,
      outputTokens: 800,
      messageCount: 2,
      state: "waiting",
    });
    expect(a.extra.rateLimits).toMatchObject({
      primary: { usedPercent: 42, windowMinutes: 300, resetsAt: 1795470000 },
      secondary: { usedPercent: 9.5, windowMinutes: 10080 },
      observedAt: "2026-11-20T10:00:09.000Z",
    });
    expect(h.turns(uid(A)).map((t) => t.context_tokens)).toEqual([20000, 24000]);
    await scan(Date.parse("2026-11-20T10:30:00Z"));
    expect(h.sessions.get(uid(A))!.state).toBe("idle");
  });

  it("links a subagent to its parent and ignores the parent's replayed token counts", async () => {
    copyHand();
    await scan();
    expect(h.sessions.get(uid(B))).toMatchObject({
      kind: "subagent",
      parentUid: uid(A),
      model: "gpt-5-mini",
      contextTokens: 9000,
      inputTokens: 9000,
      outputTokens: 200,
      state: "ended",
    });
    expect(h.turns(uid(B))).toHaveLength(1);
  });

  it("reads archived .jsonl.zst rollouts, and prefers a plain file over its compressed twin", async () => {
    copyHand();
    await scan();
    const c = h.sessions.get(uid(C))!;
    expect(c).toMatchObject({ model: "gpt-5.5", contextTokens: 0, contextWindow: 258400, state: "ended", project: "/srv/old" });
    expect(c.extra).toMatchObject({ archived: true, compressed: true, compactions: 1 });
    const d = h.sessions.get(uid(D))!;
    expect(d.path!.endsWith(".jsonl")).toBe(true);
    expect(d).toMatchObject({ contextTokens: 1000, state: "running" });
    expect(h.sessions.count({ platform: "codex" })).toBe(4);
  });

  it("keeps one present session when the plain rollout is compressed away, and back", async () => {
    copyHand();
    await scan();
    const plain = join(root, `sessions/2026/11/20/rollout-2026-11-01T08-00-00-${D}.jsonl`);
    const keep = readFileSync(plain);
    rmSync(plain); // Codex compressed it: only the .zst is left
    const r = await scan();
    expect(r.filesRead).toBe(1);
    const d = h.sessions.get(uid(D))!;
    expect(d).toMatchObject({ present: true, contextTokens: null, state: "unknown" });
    expect(d.path!.endsWith(".zst")).toBe(true);
    expect(h.turns(uid(D))).toHaveLength(0);
    writeFileSync(plain, keep); // Codex wrote the plain file back to append
    await scan();
    expect(h.sessions.get(uid(D))).toMatchObject({ present: true, contextTokens: 1000 });
    expect(h.turns(uid(D))).toHaveLength(1);
    expect(h.sessions.count({ platform: "codex" })).toBe(4);
  });

  it("records malformed lines, survives a 0-byte rollout, and marks a vanished one gone", async () => {
    copyHand();
    const day = join(root, "sessions/2026/11/20");
    const p = join(day, `rollout-2026-11-20T10-00-00-${A}.jsonl`);
    const lines = readFileSync(p, "utf8").split("\n").filter(Boolean);
    writeFileSync(
      p,
      `${lines.slice(0, 6).join("\n")}\n{"timestamp":"x","type":"event_msg","payload":{"type":"token_count","info":{\n${lines.slice(6).join("\n")}\n`,
    );
    writeFileSync(join(day, "rollout-2026-11-20T12-00-00-0199eeee-5555-7000-8000-00000000000e.jsonl"), "");
    const r = await scan();
    expect(r.parseErrors).toBe(1);
    expect(h.sessions.get(uid(A))).toMatchObject({ parseErrors: 1, lastParseError: "line 7: invalid JSON", outputTokens: 800 });
    expect(h.sessions.get(uid("0199eeee-5555-7000-8000-00000000000e"))).toMatchObject({ state: "unknown", messageCount: 0 });
    renameSync(p, join(dir, "moved.jsonl"));
    await scan();
    expect(h.sessions.get(uid(A))!.present).toBe(false);
  });

  it("reads CODEX_HOME too, and marks every session gone when a root is deleted", async () => {
    const other = join(dir, "elsewhere/.codex");
    mkdirSync(other, { recursive: true });
    cpSync(join(hand, "sessions"), join(other, "sessions"), { recursive: true });
    const withEnv = new CodexSource(h.config, { CODEX_HOME: other });
    expect(withEnv.roots()).toEqual([root, other]);
    const r = await withEnv.scan(h.ctx(Date.parse("2026-11-20T10:02:00Z")));
    expect(r.missingRoots).toEqual([root]);
    expect(h.sessions.count({ platform: "codex" })).toBe(3);
    rmSync(other, { recursive: true });
    await withEnv.scan(h.ctx(Date.parse("2026-11-20T10:03:00Z")));
    expect(h.sessions.count({ platform: "codex" })).toBe(0);
    expect(h.sessions.count({ platform: "codex", includeGone: true })).toBe(3);
  });

  it("reports a missing root and takes the id from the file name", async () => {
    const r = await scan();
    expect(r.missingRoots).toEqual([root]);
    expect(rolloutId("/x/rollout-2026-11-20T10-00-00-0199aaaa-1111-7000-8000-00000000000a.jsonl.zst")).toBe(A);
  });
});
