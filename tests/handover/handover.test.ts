import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { blankRecord, sessionUid } from "../../src/agents/session.ts";
import type { ConfigInput } from "../../src/config/schema.ts";
import { HandoverOps, handoverNotice } from "../../src/handover/handover.ts";
import { createLogger } from "../../src/lib/log.ts";
import { MemoryStore } from "../../src/store/memories.ts";
import type { WorkerRow } from "../../src/store/workers.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

const fixture = join(
  import.meta.dirname,
  "../fixtures/real/claude/.claude/projects/-tmp-asmfx-claude-home-work-demo-app/163916ff-775e-4222-8a81-8acc7c4cfe27.jsonl",
);
const SID = "163916ff-775e-4222-8a81-8acc7c4cfe27";

const worker = (id: string, patch: Partial<WorkerRow> = {}): WorkerRow => ({
  id,
  agent: "claude",
  model: "claude-sonnet-4-5",
  workspace: "demo",
  cwd: "/w",
  prompt: "Hello, summarize this project",
  status: "waiting-for-input",
  waitingReason: "turn-finished",
  sessionId: null,
  sessionUid: null,
  pid: null,
  pidStart: null,
  turns: 1,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  contextTokens: null,
  costUsd: null,
  exitCode: null,
  signal: null,
  errorClass: null,
  errorMessage: null,
  stderrTail: "",
  outputTail: "",
  lastTool: null,
  denied: [],
  resumedFrom: null,
  requestedBy: null,
  threads: [],
  statusRefs: [],
  createdAt: 1,
  startedAt: 1,
  endedAt: null,
  updatedAt: 1,
  chain: [],
  chainIndex: 0,
  attempt: 1,
  notBefore: null,
  owner: null,
  respondCount: 0,
  waitingDetail: null,
  remindedAt: null,
  ...patch,
});

describe("automatic handover of managed workers", () => {
  const hs: SourceHarness[] = [];
  afterEach(() => {
    for (const h of hs.splice(0)) h.close();
  });

  function setup(input: ConfigInput = {}) {
    const dir = tempDir("asm-handover-");
    const h = sourceHarness(dir, { ...input, handover: { memoryDir: join(dir, "mem"), ...(input.handover ?? {}) } });
    hs.push(h);
    const path = join(dir, `${SID}.jsonl`);
    cpSync(fixture, path);
    h.sessions.upsert({ ...blankRecord("claude", null, SID, 1), path, contextWindow: 200_000, contextTokens: 166_000 });
    const spawned: { agent: string; workspace: string; model: string | null; prompt: string; requestedBy: string }[] = [];
    const links: [string, string][] = [];
    const posts: { w: string; text: string; tone: string }[] = [];
    let n = 1;
    const ops = new HandoverOps({
      db: h.db,
      config: h.config,
      log: createLogger({ level: "silent", pretty: "never" }),
      sessions: h.sessions,
      spawn: (req) => {
        spawned.push(req);
        n++;
        return worker(`w${n}`, { prompt: req.prompt, model: req.model, workspace: req.workspace });
      },
      link: (id, old) => links.push([id, old.id]),
      post: async (w, text, tone) => {
        posts.push({ w: w.id, text, tone });
      },
      clock: () => 5,
    });
    const w1 = worker("w1", { sessionId: SID, sessionUid: sessionUid("claude", null, SID), contextTokens: 166_000 });
    return { h, ops, spawned, links, posts, w1, dir, path };
  }

  it("past the threshold at a turn boundary: memory saved, a new worker with the memory in its first prompt, linked, one message", async () => {
    const t = setup();
    const out = await t.ops.turnEnded(t.w1, "done");
    expect(out.kind).toBe("handed-over");
    expect(t.spawned).toHaveLength(1);
    const req = t.spawned[0]!;
    expect(req).toMatchObject({ agent: "claude", workspace: "demo", model: "claude-sonnet-4-5", requestedBy: "handover:w1" });
    // The first prompt holds the goal and every user message, and says to verify the repository first.
    for (const u of ["Hello, summarize this project", "USE_TOOL: read the README and tell me what it says", "/compact", "Thanks, anything else?"])
      expect(req.prompt).toContain(`> ${u}`);
    expect(req.prompt).toMatch(/verify the state of the repository/);
    expect(req.prompt).toContain("/tmp/asmfx/claude/home/work/demo-app/README.md");
    expect(t.links).toEqual([["w2", "w1"]]);
    expect(t.posts).toEqual([{ w: "w1", text: "context 83% (166k/200k) → handed over to w2: 0 files, 0 open todos", tone: "info" }]);
    const row = new MemoryStore(t.h.db).latest(sessionUid("claude", null, SID))!;
    expect(row).toMatchObject({ handoverCount: 1, kind: "extractive" });
    expect(existsSync(row.filePath!)).toBe(true);
    // Once per worker.
    expect(await t.ops.turnEnded(t.w1, "done")).toEqual({ kind: "none", reason: "already handed over" });
    expect(t.spawned).toHaveLength(1);
  });

  it("below the threshold, unknown context, or not at a turn boundary: nothing", async () => {
    const t = setup();
    expect((await t.ops.turnEnded({ ...t.w1, contextTokens: 100_000 }, null)).kind).toBe("none");
    t.h.sessions.upsert({ ...t.h.sessions.get(t.w1.sessionUid!)!, contextTokens: null });
    expect(await t.ops.turnEnded({ ...t.w1, contextTokens: null }, null)).toEqual({ kind: "none", reason: "context unknown" });
    expect((await t.ops.turnEnded({ ...t.w1, status: "running" }, null)).kind).toBe("none");
    expect((await t.ops.turnEnded({ ...t.w1, waitingReason: "permission" }, null)).kind).toBe("none");
    expect(t.spawned).toHaveLength(0);
  });

  it("never loops: a worker started above the threshold by a handover waits for a turn below it; the chain is capped", async () => {
    const t = setup({ handover: { maxChain: 2 } });
    await t.ops.turnEnded(t.w1, null);
    // w2 starts with its memory alone above the threshold (a small window): not handed over at once.
    const w2 = worker("w2", { contextTokens: 190_000 });
    expect(await t.ops.turnEnded(w2, null)).toEqual({ kind: "none", reason: "started above the threshold from a handover" });
    // A turn below, then above again: the second handover of the chain.
    expect((await t.ops.turnEnded({ ...w2, contextTokens: 50_000 }, null)).kind).toBe("none");
    const second = await t.ops.turnEnded({ ...w2, contextTokens: 170_000 }, null);
    expect(second).toMatchObject({ kind: "handed-over", to: { id: "w3" } });
    expect((second as { memory: { handoverCount: number } }).memory.handoverCount).toBe(2);
    // w3 at the cap: said once, critical, no third handover.
    const w3 = worker("w3", { contextTokens: 50_000 });
    await t.ops.turnEnded(w3, null);
    expect(await t.ops.turnEnded({ ...w3, contextTokens: 180_000 }, null)).toEqual({ kind: "capped", count: 2 });
    expect(await t.ops.turnEnded({ ...w3, contextTokens: 185_000 }, null)).toEqual({ kind: "capped", count: 2 });
    expect(t.spawned).toHaveLength(2);
    const critical = t.posts.filter((p) => p.tone === "critical");
    expect(critical).toHaveLength(1);
    expect(critical[0]!.text).toMatch(/chain is at its cap \(handover.maxChain 2\)/);
  });

  it("past the critical level mid-turn: interrupt once, then the interrupted worker is handed over", async () => {
    const t = setup();
    const running = { ...t.w1, status: "running" as const, waitingReason: null, contextTokens: 150_000 };
    // 75%: below the critical 95%, the turn is left to finish.
    expect(t.ops.interruptNow(running, undefined)).toBeNull();
    expect(t.ops.interruptNow({ ...running, contextTokens: 192_000 }, undefined)).toEqual({ percent: 96 });
    // Once per worker: the interrupt is already on its way.
    expect(t.ops.interruptNow({ ...running, contextTokens: 195_000 }, undefined)).toBeNull();
    // A worker interrupted for another reason is not handed over; the one we interrupted is.
    const other = worker("w9", { status: "interrupted", waitingReason: null, sessionId: SID, sessionUid: t.w1.sessionUid, contextTokens: 192_000 });
    expect(await t.ops.turnEnded(other, null)).toEqual({ kind: "none", reason: "worker is interrupted" });
    const out = await t.ops.turnEnded({ ...running, status: "interrupted", contextTokens: 192_000 }, null);
    expect(out).toMatchObject({ kind: "handed-over", to: { id: "w2" } });
  });

  it("an agent that compacted during the last turn handled it: no handover on top", async () => {
    const t = setup();
    const line = (o: object) => JSON.stringify({ timestamp: "2026-11-23T19:53:00.000Z", sessionId: SID, cwd: "/w", ...o });
    writeFileSync(
      t.path,
      `${line({ type: "user", message: { role: "user", content: "go on" } })}\n${line({ type: "system", subtype: "compact_boundary" })}\n`,
      { flag: "a" },
    );
    expect(await t.ops.turnEnded(t.w1, null)).toEqual({ kind: "none", reason: "the agent compacted by itself" });
    expect(t.spawned).toHaveLength(0);
  });

  it("without a scanned transcript the worker's own prompt and answer are the memory", async () => {
    const t = setup();
    const w = worker("w9", { prompt: "Port the parser to Rust", contextTokens: 170_000 });
    const out = await t.ops.turnEnded(w, "Ported 3 of 5 modules. Shall I continue with the lexer?");
    expect(out.kind).toBe("handed-over");
    expect(t.spawned[0]!.prompt).toContain("> Port the parser to Rust");
    expect(t.spawned[0]!.prompt).toContain("Pending question: Ported 3 of 5 modules. Shall I continue with the lexer?");
  });

  it("/handover's forced path: below the threshold or with no known context, at a turn boundary, still capped", async () => {
    const t = setup();
    t.h.sessions.upsert({ ...t.h.sessions.get(t.w1.sessionUid!)!, contextTokens: null });
    const out = await t.ops.turnEnded({ ...t.w1, contextTokens: null }, null, { force: true });
    expect(out.kind).toBe("handed-over");
    expect(t.posts[0]!.text).toBe("on request → handed over to w2: 0 files, 0 open todos");
    expect((await t.ops.turnEnded({ ...t.w1, status: "running" }, null, { force: true })).kind).toBe("none");
  });

  it("the notice counts files and open todos", () => {
    const m = {
      files: {
        created: [{ path: "a", count: 1 }],
        edited: [
          { path: "a", count: 2 },
          { path: "b", count: 1 },
        ],
        deleted: [],
        read: [],
      },
      plan: [
        { text: "x", status: "completed" },
        { text: "y", status: "pending" },
        { text: "z", status: "in_progress" },
      ],
    } as unknown as Parameters<typeof handoverNotice>[4];
    expect(handoverNotice(83.2, 166_000, 200_000, "w14", m)).toBe("context 83% (166k/200k) → handed over to w14: 2 files, 2 open todos");
    // Tokens read as everywhere else (lib/present.ts): 1,500 is "1.5k", a 1,048,576 window "1M".
    expect(handoverNotice(85, 1_500, 1_048_576, "w14", m)).toBe("context 85% (1.5k/1M) → handed over to w14: 2 files, 2 open todos");
  });
});
