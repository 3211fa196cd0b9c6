import { appendFileSync, chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SessionRecord, sessionUid } from "../../src/agents/session.ts";
import { type FileAdapter, scanFiles } from "../../src/sources/file-scan.ts";
import { emptyResult } from "../../src/sources/source.ts";
import { FileStore } from "../../src/store/files.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";

/** A minimal adapter: sums the `n` of each line, one turn per line, one session per file. */
interface Sum {
  lines: number;
  total: number;
  bad: number;
}
const adapter = (h: SourceHarness, commits: number[]): FileAdapter<Sum> => ({
  source: "test",
  sessionUid: (path) => sessionUid("codex", null, path.slice(path.lastIndexOf("/") + 1)),
  fresh: () => ({ lines: 0, total: 0, bad: 0 }),
  line: (s, line, _no, emit) => {
    try {
      const v = JSON.parse(line.toString());
      s.lines++;
      s.total += v.n;
      emit({ ts: s.lines, model: null, input: v.n, output: 0, cacheRead: 0, cacheWrite: 0, contextTokens: null });
    } catch {
      s.bad++;
    }
  },
  parseErrors: (s) => ({ count: s.bad, last: null }),
  commit: ({ path, uid, state, st, now }) => {
    commits.push(state.lines);
    const r: SessionRecord = {
      uid,
      platform: "codex",
      agentId: null,
      sessionId: path,
      sessionKey: null,
      kind: "session",
      parentUid: null,
      project: null,
      title: null,
      model: null,
      firstActivity: null,
      lastActivity: null,
      messageCount: state.lines,
      path,
      sizeBytes: st.size,
      contextTokens: null,
      contextWindow: null,
      contextPercent: null,
      inputTokens: state.total,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      parseErrors: state.bad,
      lastParseError: null,
      state: "unknown",
      present: true,
      extra: {},
      scannedAt: now,
    };
    h.sessions.upsert(r);
  },
});

let dir: string;
let h: SourceHarness;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-filescan-"));
  h = sourceHarness(dir);
});
afterEach(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `{"n":${from + i},"pad":"${"x".repeat(40)}"}\n`).join("");

describe("scanFiles", () => {
  it("reads a big file in committed slices, each resumable, and counts every line once", async () => {
    const path = join(dir, "big.jsonl");
    writeFileSync(path, lines(0, 200));
    const commits: number[] = [];
    const r = emptyResult("codex");
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], r, { readSlice: 1000 });
    expect(commits.length).toBeGreaterThan(5); // one commit per slice, then the final one
    expect(commits.at(-1)).toBe(200);
    const uid = sessionUid("codex", null, "big.jsonl");
    expect(h.sessions.get(uid)).toMatchObject({ messageCount: 200, inputTokens: (199 * 200) / 2 });
    expect(h.turns(uid)).toHaveLength(200);

    // A cursor left mid-file (as after a crash between slices) resumes where it stopped.
    const files = new FileStore(h.db);
    const cursor = files.get(path)!;
    files.put({ ...cursor, size: 1000 });
    appendFileSync(path, lines(200, 210));
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], emptyResult("codex"), { readSlice: 1000 });
    expect(h.sessions.get(uid)).toMatchObject({ messageCount: 210 });
    expect(h.turns(uid)).toHaveLength(210);
  });

  it("reads a line longer than a slice whole", async () => {
    const path = join(dir, "long.jsonl");
    writeFileSync(path, `{"n":1,"pad":"${"y".repeat(5000)}"}\n{"n":2}\n`);
    const commits: number[] = [];
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], emptyResult("codex"), { readSlice: 100 });
    expect(h.sessions.get(sessionUid("codex", null, "long.jsonl"))).toMatchObject({ messageCount: 2, inputTokens: 3 });
  });

  it("a touched but unchanged file is not read again; an unreadable one marks its session gone", async () => {
    const path = join(dir, "a.jsonl");
    writeFileSync(path, lines(0, 3));
    const commits: number[] = [];
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], emptyResult("codex"));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const r = emptyResult("codex");
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], r);
    expect(r).toMatchObject({ filesRead: 0, bytesRead: 0 });
    const r2 = emptyResult("codex");
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], r2);
    expect(r2.bytesRead).toBe(0);

    if (process.getuid?.() === 0) return; // root reads anything: the permission case cannot be made here
    appendFileSync(path, lines(3, 4));
    chmodSync(path, 0o000);
    const r3 = emptyResult("codex");
    await scanFiles(h.ctx(), adapter(h, commits), [{ path }], r3);
    expect(r3.errors[0]).toMatch(/a\.jsonl/);
    expect(h.sessions.get(sessionUid("codex", null, "a.jsonl"))!.present).toBe(false);
  });
});
