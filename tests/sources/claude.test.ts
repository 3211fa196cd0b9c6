import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { discoverClaudeFiles } from "../../src/agents/claude/layout.ts";
import { claudeWindow } from "../../src/agents/claude/transcript.ts";
import { sessionUid } from "../../src/agents/session.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import type { SourceScanResult } from "../../src/sources/source.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
const realProjects = join(fixtures, "real/claude/.claude/projects");
const handProjects = join(fixtures, "claude/projects");

let dir: string;
let root: string;
let h: SourceHarness;
let source: ClaudeCodeSource;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-claude-"));
  root = join(dir, "home/.claude/projects");
  mkdirSync(root, { recursive: true });
  h = sourceHarness(dir, { sources: { claude: { root, extraRoots: [join(dir, "missing")] } } });
  source = new ClaudeCodeSource(h.config, {});
});
afterEach(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

const scan = (now = Date.parse("2026-11-20T09:06:00Z")): Promise<SourceScanResult> => source.scan(h.ctx(now));
const uid = (id: string) => sessionUid("claude", null, id);

/** Reference figures computed from the real fixture files with an independent reader (json.loads per line). */
const real = {
  "163916ff-775e-4222-8a81-8acc7c4cfe27": { input: 50, output: 126, cacheRead: 104704, cacheWrite: 17203, context: 30833, model: "claude-opus-5-5" },
  "525da2bd-d82b-4fc2-8e03-a00c7c58a818": { input: 18, output: 37, cacheRead: 158784, cacheWrite: 25879, context: 184681, model: "claude-sonnet-4-5" },
};

describe("ClaudeCodeSource on files written by Claude Code 2.1.330", () => {
  it("records usage, context, model and cwd as the CLI counts them, and a repeat scan reads 0 bytes", async () => {
    cpSync(realProjects, root, { recursive: true });
    const r1 = await scan();
    expect(r1.filesRead).toBe(2);
    expect(r1.parseErrors).toBe(0);
    expect(r1.missingRoots).toEqual([join(dir, "missing")]);
    for (const [id, want] of Object.entries(real)) {
      const s = h.sessions.get(uid(id))!;
      expect(s).toMatchObject({
        platform: "claude",
        kind: "session",
        sessionId: id,
        model: want.model,
        inputTokens: want.input,
        outputTokens: want.output,
        cacheReadTokens: want.cacheRead,
        cacheWriteTokens: want.cacheWrite,
        contextTokens: want.context,
        contextWindow: 200_000,
        project: "/tmp/asmfx/claude/home/work/demo-app",
        present: true,
      });
      expect(s.contextPercent).toBeCloseTo((want.context / 200_000) * 100, 5);
    }
    // The error session recovered (a later prompt got an answer): its last turn ended, not errored.
    // Two 529 retries (system api_error lines), then a synthetic error line, in the real file.
    expect(h.sessions.get(uid("525da2bd-d82b-4fc2-8e03-a00c7c58a818"))!.extra).toMatchObject({ apiErrors: 1, apiRetries: 2, lastRetry: { status: 529 } });
    expect(h.sessions.get(uid("163916ff-775e-4222-8a81-8acc7c4cfe27"))!.extra).toMatchObject({ compactions: 1 });

    const r2 = await scan();
    expect(r2).toMatchObject({ filesSeen: 2, filesRead: 0, bytesRead: 0, sessionsUpdated: 0 });
  });

  it("counts exactly once when the file grows between scans at any line boundary", async () => {
    const id = "163916ff-775e-4222-8a81-8acc7c4cfe27";
    const src = join(realProjects, "-tmp-asmfx-claude-home-work-demo-app", `${id}.jsonl`);
    const bytes = readFileSync(src);
    const project = join(root, "p");
    mkdirSync(project);
    const path = join(project, `${id}.jsonl`);
    // Cut at several points, including inside a line (half-written) and between blocks of one message.
    const cuts = [0.2, 0.45, 0.5, 0.71, 0.9].map((f) => Math.floor(bytes.length * f));
    writeFileSync(path, "");
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      appendFileSync(path, bytes.subarray(at, cut));
      at = cut;
      await scan();
    }
    const s = h.sessions.get(uid(id))!;
    const want = real[id];
    expect(s).toMatchObject({ inputTokens: want.input, outputTokens: want.output, cacheReadTokens: want.cacheRead, contextTokens: want.context });
    expect(h.turns(uid(id))).toHaveLength(4);
    expect(h.turns(uid(id)).reduce((n, t) => n + t.output, 0)).toBe(want.output);
  });
});

describe("ClaudeCodeSource on hand-made cases", () => {
  const main = "7d3f2a10-1111-4c2e-9a55-0123456789ab";
  const project = () => join(root, "-home-dev-caf--app");

  it("links subagents (new and old layouts) to their parent, skips tool-results, reads titles and compaction", async () => {
    cpSync(handProjects, root, { recursive: true });
    const r = await scan();
    expect(r.parseErrors).toBe(0);
    const s = h.sessions.get(uid(main))!;
    expect(s).toMatchObject({
      kind: "session",
      title: "build fix ☕",
      project: "/home/dev/café-app",
      model: "claude-opus-4-6",
      // msg_A1 is written twice (one line per block): counted once.
      inputTokens: 13,
      outputTokens: 160,
      cacheWriteTokens: 5800,
      cacheReadTokens: 45000,
      // After the compact boundary and before the next assistant line the context is unknown.
      contextTokens: null,
      contextPercent: null,
      messageCount: 3,
      state: "waiting",
    });
    expect(s.extra).toMatchObject({ compactions: 1 });
    const sub = h.sessions.get(uid("agent-a5f0c1"))!;
    expect(sub).toMatchObject({ kind: "subagent", parentUid: uid(main), model: "claude-haiku-4-5", contextTokens: 4004, state: "ended" });
    expect(sub).toMatchObject({ title: "Explore the repo", extra: { agentType: "Explore" } });
    expect(h.sessions.get(uid("agent-w9"))).toMatchObject({ kind: "subagent", parentUid: uid(main), state: "running" });
    expect(h.sessions.get(uid("agent-1a2b3c4d"))).toMatchObject({ kind: "sidechain", parentUid: uid(main) });
    expect(
      h.sessions
        .list({ platform: "claude" })
        .map((x) => x.sessionId)
        .sort(),
    ).toEqual(["9e9e9e9e-2222-4c2e-9a55-0123456789ab", main, "agent-1a2b3c4d", "agent-a5f0c1", "agent-w9"].sort());
    const err = h.sessions.get(uid("9e9e9e9e-2222-4c2e-9a55-0123456789ab"))!;
    expect(err).toMatchObject({ state: "errored", model: null, contextTokens: null });
    expect(err.extra).toMatchObject({ apiErrors: 1, lastErrorReason: "rate_limit", lastApiError: { text: "API Error: 429 rate limited" } });
  });

  it("derives running, waiting and idle from the last events", async () => {
    cpSync(handProjects, root, { recursive: true });
    const path = join(project(), `${main}.jsonl`);
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    writeFileSync(path, `${lines.slice(0, 4).join("\n")}\n`); // ends on an assistant tool_use
    await scan(Date.parse("2026-11-20T09:00:30Z"));
    expect(h.sessions.get(uid(main))!.state).toBe("running");
    appendFileSync(path, `${lines[4]}\n${lines[5]}\n`); // tool result, then end_turn
    await scan(Date.parse("2026-11-20T09:01:00Z"));
    expect(h.sessions.get(uid(main))!.state).toBe("waiting");
    await scan(Date.parse("2026-11-20T09:30:00Z")); // no change, but 18 minutes later
    expect(h.sessions.get(uid(main))!.state).toBe("idle");
  });

  it("a symlink loop (a.jsonl → b.jsonl → a.jsonl) in one project skips and reports those entries; everything else is scanned, now and after", async () => {
    cpSync(handProjects, root, { recursive: true });
    const path = join(project(), `${main}.jsonl`);
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    writeFileSync(path, `${lines.slice(0, 4).join("\n")}\n`);
    await scan(Date.parse("2026-11-20T09:00:30Z"));
    const loop = join(root, "-home-dev-loop");
    mkdirSync(loop);
    symlinkSync(join(loop, "b.jsonl"), join(loop, "a.jsonl"));
    symlinkSync(join(loop, "a.jsonl"), join(loop, "b.jsonl"));
    // On the store that already knows the other sessions, appended data is still read.
    appendFileSync(path, `${lines[4]}\n${lines[5]}\n`);
    const r = await scan(Date.parse("2026-11-20T09:01:00Z"));
    expect(r.errors).toEqual([`cannot read ${join(loop, "a.jsonl")}: ELOOP`, `cannot read ${join(loop, "b.jsonl")}: ELOOP`]);
    expect(h.sessions.get(uid(main))).toMatchObject({ state: "waiting", present: true });
    // A fresh store finds every session but the two entries of the loop.
    h.db.exec("DELETE FROM files; DELETE FROM turns; DELETE FROM sessions");
    const fresh = await scan();
    expect(fresh.filesSeen).toBe(5);
    expect(h.sessions.count({ platform: "claude" })).toBe(5);
    expect(fresh.errors).toHaveLength(2);
  });

  it("records a malformed line with its number and keeps reading; a 0-byte file is no session (yet)", async () => {
    const p = join(root, "proj");
    mkdirSync(p);
    const good = readFileSync(join(handProjects, "-home-dev-caf--app", `${main}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean);
    writeFileSync(join(p, "aaaaaaaa-0000-0000-0000-000000000001.jsonl"), `${good[1]}\n{"type":"user","message":\n${good[2]}\n`);
    writeFileSync(join(p, "aaaaaaaa-0000-0000-0000-000000000002.jsonl"), "");
    const r = await scan();
    expect(r.parseErrors).toBe(1);
    const s = h.sessions.get(uid("aaaaaaaa-0000-0000-0000-000000000001"))!;
    expect(s).toMatchObject({ parseErrors: 1, lastParseError: "line 2: invalid JSON", outputTokens: 40, messageCount: 2 });
    expect(s.extra).toMatchObject({ parseErrorLine: 2 });
    // CLI 2.0.x leaves one such file per --resume (tests/fixtures/real-old/claude-2.0.76): no conversation, no row.
    expect(h.sessions.get(uid("aaaaaaaa-0000-0000-0000-000000000002"))).toBeUndefined();
    appendFileSync(join(p, "aaaaaaaa-0000-0000-0000-000000000002.jsonl"), `${good[1]}\n`);
    await scan();
    expect(h.sessions.get(uid("aaaaaaaa-0000-0000-0000-000000000002"))).toMatchObject({ messageCount: 1, parseErrors: 0 });
  });

  it("rebuilds (never duplicates) a session whose file was truncated, regrown or replaced by rename", async () => {
    cpSync(handProjects, root, { recursive: true });
    const path = join(project(), `${main}.jsonl`);
    const full = readFileSync(path);
    await scan();
    const once = h.sessions.get(uid(main))!;

    truncateSync(path, 0);
    await scan();
    expect(h.sessions.get(uid(main))).toMatchObject({ outputTokens: 0, messageCount: 0 });
    expect(h.turns(uid(main))).toHaveLength(0);

    writeFileSync(path, full);
    await scan();
    expect(h.sessions.get(uid(main))).toMatchObject({ outputTokens: once.outputTokens, messageCount: once.messageCount });

    const tmp = join(project(), "x.tmp");
    writeFileSync(tmp, full);
    renameSync(tmp, path);
    const r = await scan();
    expect(r.filesRead).toBe(1);
    expect(h.sessions.get(uid(main))).toMatchObject({ outputTokens: once.outputTokens, messageCount: once.messageCount });
    expect(h.turns(uid(main))).toHaveLength(2);
    expect(h.sessions.count({ platform: "claude" })).toBe(5);
  });

  it("adds <dir>/projects for each folder in CLAUDE_CONFIG_DIR", () => {
    const s = new ClaudeCodeSource(h.config, { CLAUDE_CONFIG_DIR: `${join(dir, "a")}, ${join(dir, "b")}` });
    expect(s.roots()).toEqual([root, join(dir, "missing"), join(dir, "a/projects"), join(dir, "b/projects")]);
  });

  it("reads a root reached twice (an extra root linked to the main one) once", async () => {
    cpSync(handProjects, root, { recursive: true });
    symlinkSync(root, join(dir, "missing"));
    const r = await scan();
    expect(r.filesSeen).toBe(5);
    expect(h.sessions.get(uid(main))).toMatchObject({ outputTokens: 160, path: join(project(), `${main}.jsonl`) });
  });

  it("marks a vanished transcript gone and brings it back when it reappears", async () => {
    cpSync(handProjects, root, { recursive: true });
    await scan();
    const path = join(project(), "9e9e9e9e-2222-4c2e-9a55-0123456789ab.jsonl");
    const keep = readFileSync(path);
    rmSync(path);
    await scan();
    expect(h.sessions.get(uid("9e9e9e9e-2222-4c2e-9a55-0123456789ab"))!.present).toBe(false);
    writeFileSync(path, keep);
    await scan();
    expect(h.sessions.get(uid("9e9e9e9e-2222-4c2e-9a55-0123456789ab"))!.present).toBe(true);
  });

  it("reads a 5 MB single line and unicode paths without trouble", async () => {
    const p = join(root, "-home-dev-日本語-ü");
    mkdirSync(p);
    const lines = readFileSync(join(handProjects, "-home-dev-caf--app", `${main}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean);
    const huge = JSON.parse(lines[4]!);
    huge.message.content[0].content = "日本語 output ".repeat(350_000); // ~5 MB of tool output
    const path = join(p, "bbbbbbbb-0000-0000-0000-000000000001.jsonl");
    writeFileSync(path, `${lines.slice(1, 4).join("\n")}\n${JSON.stringify(huge)}\n${lines[5]}\n`);
    const r = await scan();
    expect(r.bytesRead).toBeGreaterThan(5_000_000);
    expect(r.parseErrors).toBe(0);
    expect(h.sessions.get(uid("bbbbbbbb-0000-0000-0000-000000000001"))).toMatchObject({ outputTokens: 160, state: "waiting", path });
  });
});

describe("discoverClaudeFiles / claudeWindow", () => {
  it("knows sessions, subagents and old sidechains by place, and ignores the rest", () => {
    const errors: string[] = [];
    const found = discoverClaudeFiles(handProjects, errors);
    const rel = (p: string) => p.slice(handProjects.length + 1);
    expect(errors).toEqual([]);
    expect(found.map((f) => ({ ...f, path: rel(f.path) })).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      {
        path: "-home-dev-caf--app/7d3f2a10-1111-4c2e-9a55-0123456789ab.jsonl",
        kind: "session",
        sessionId: "7d3f2a10-1111-4c2e-9a55-0123456789ab",
        parentSessionId: null,
      },
      {
        path: "-home-dev-caf--app/7d3f2a10-1111-4c2e-9a55-0123456789ab/subagents/agent-a5f0c1.jsonl",
        kind: "subagent",
        sessionId: "agent-a5f0c1",
        parentSessionId: "7d3f2a10-1111-4c2e-9a55-0123456789ab",
      },
      {
        path: "-home-dev-caf--app/7d3f2a10-1111-4c2e-9a55-0123456789ab/subagents/workflows/run1/agent-w9.jsonl",
        kind: "subagent",
        sessionId: "agent-w9",
        parentSessionId: "7d3f2a10-1111-4c2e-9a55-0123456789ab",
      },
      {
        path: "-home-dev-caf--app/9e9e9e9e-2222-4c2e-9a55-0123456789ab.jsonl",
        kind: "session",
        sessionId: "9e9e9e9e-2222-4c2e-9a55-0123456789ab",
        parentSessionId: null,
      },
      { path: "-home-dev-caf--app/agent-1a2b3c4d.jsonl", kind: "sidechain", sessionId: "agent-1a2b3c4d", parentSessionId: null },
    ]);
  });

  it("assumes 1M only for models that have it, when the context shows it", () => {
    const config = h.config;
    expect(claudeWindow("claude-opus-4-6", 150_000, config)).toBe(200_000);
    expect(claudeWindow("claude-opus-4-6", 250_000, config)).toBe(1_000_000);
    expect(claudeWindow("claude-haiku-4-5", 250_000, config)).toBe(200_000);
    expect(claudeWindow("claude-sonnet-4-6[1m]", 10, config)).toBe(1_000_000);
    expect(readdirSync(root)).toEqual([]);
  });
});
