import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readClaudeMessages } from "../../src/agents/claude/messages-reader.ts";
import { readCodexMessages } from "../../src/agents/codex/messages-reader.ts";
import { readSessionMessages } from "../../src/agents/messages-reader.ts";
import { blankRecord } from "../../src/agents/session.ts";
import { emptyRead, maxToolOutput, type TranscriptEntry, type TranscriptRead } from "../../src/agents/transcript-entry.ts";
import { buildMemory, estimateTokens, memoryJson, renderMemory } from "../../src/handover/memory.ts";
import { latestMemory, memoryFileName, saveMemory } from "../../src/handover/save.ts";
import { MemoryStore } from "../../src/store/memories.ts";
import { runAsmInProcess } from "../helpers/cli.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

const input = (memoryTokens = 4000) => ({ platform: "claude", sessionId: "s1", memoryTokens });
const readOf = (entries: TranscriptEntry[]): TranscriptRead => ({ ...emptyRead(), entries });
const user = (text: string, ts = 1): TranscriptEntry => ({ kind: "user", text, ts });
const said = (text: string, ts = 1): TranscriptEntry => ({ kind: "assistant", text, ts });
const shell = (id: string, command: string): TranscriptEntry => ({ kind: "tool-call", id, name: "Bash", action: "shell", files: [], command, ts: 1 });
const result = (id: string, exitCode: number | null, output: string, isError = exitCode !== 0): TranscriptEntry => ({
  kind: "tool-result",
  id,
  exitCode,
  isError,
  output,
  ts: 1,
});
const fileCall = (id: string, action: "read" | "write" | "edit" | "delete", path: string): TranscriptEntry => ({
  kind: "tool-call",
  id,
  name: action,
  action,
  files: [path],
  command: null,
  ts: 1,
});

const claudeLine = (type: string, content: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, timestamp: "2026-11-23T10:00:00.000Z", cwd: "/w", sessionId: "s1", message: { role: type, content, ...extra } });

describe("memory edge cases", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = tempDir("asm-memory-");
    dirs.push(d);
    return d;
  };

  it.each([
    ["an empty transcript", ""],
    ["only blank lines", "\n\n\n"],
  ])("%s gives an empty memory within the bound", (_n, text) => {
    const p = join(tmp(), "s.jsonl");
    writeFileSync(p, text);
    const m = buildMemory(readClaudeMessages(p), input());
    expect(m).toMatchObject({ goal: null, userMessages: [], lastAssistant: null, commands: [], errors: [], truncated: false });
    expect(renderMemory(m)).toContain("(none)");
  });

  it("a missing file reads as empty", () => {
    expect(readSessionMessages({ platform: "codex", sessionId: "x", path: join(tmp(), "gone.jsonl"), project: "/p" })).toMatchObject({
      entries: [],
      cwd: "/p",
    });
    expect(readSessionMessages({ platform: "claude", sessionId: "x", path: null, project: null }).entries).toEqual([]);
  });

  it("a half-written last line is counted and the rest is read", () => {
    const p = join(tmp(), "s.jsonl");
    const whole = [claudeLine("user", "fix the parser"), claudeLine("assistant", [{ type: "text", text: "On it." }], { model: "m1" })];
    writeFileSync(p, `${whole.join("\n")}\n${claudeLine("user", "and the tests").slice(0, 40)}`);
    const r = readClaudeMessages(p);
    expect(r.parseErrors).toBe(1);
    const m = buildMemory(r, input());
    expect(m).toMatchObject({ goal: "fix the parser", userMessages: ["fix the parser"], lastAssistant: "On it.", model: "m1", cwd: "/w" });
    expect(m.stats.parseErrors).toBe(1);
  });

  it("a huge tool output is cut in the reader and again in the memory; the failing command keeps its last lines", () => {
    const p = join(tmp(), "rollout.jsonl");
    const big = `${"noise line\n".repeat(200_000)}FAILED tests/a.test.ts > parses\nexit 1`;
    const lines = [
      { type: "session_meta", payload: { id: "c1", cwd: "/w" } },
      { type: "response_item", payload: { type: "message", role: "user", content: [{ type: "input_text", text: "run the tests" }] } },
      { type: "response_item", payload: { type: "function_call", name: "exec_command", arguments: JSON.stringify({ cmd: "npm test" }), call_id: "k1" } },
      { type: "response_item", payload: { type: "function_call_output", call_id: "k1", output: `Process exited with code 1\nOutput:\n${big}` } },
    ];
    writeFileSync(p, `${lines.map((l) => JSON.stringify({ timestamp: "2026-11-23T10:00:00.000Z", ...l })).join("\n")}\n`);
    const r = readCodexMessages(p);
    const res = r.entries.find((e) => e.kind === "tool-result")!;
    expect(res).toMatchObject({ exitCode: 1, isError: true });
    expect((res as { output: string }).output.length).toBeLessThan(maxToolOutput + 40);
    const m = buildMemory(r, input());
    expect(m.commands).toHaveLength(1);
    expect(m.commands[0]).toMatchObject({ command: "npm test", exitCode: 1 });
    expect(m.commands[0]!.output).toContain("FAILED tests/a.test.ts > parses");
    expect(m.commands[0]!.output!.length).toBeLessThanOrEqual(1501);
    expect(m.tokens).toBeLessThanOrEqual(4000);
  });

  it("over budget: the goal and the newest user messages stay, the oldest after the goal go, within the bound", () => {
    const entries = [user(`GOAL ${"g".repeat(300)}`), ...Array.from({ length: 200 }, (_, i) => user(`message ${i} ${"x".repeat(200)}`)), said("done")];
    const m = buildMemory(readOf(entries), input(2000));
    expect(m.tokens).toBeLessThanOrEqual(2000);
    expect(estimateTokens(renderMemory(m))).toBe(m.tokens);
    expect(m.truncated).toBe(true);
    expect(m.goal).toMatch(/^GOAL g+$/);
    expect(m.userMessages.at(-1)).toMatch(/^message 199 /);
    expect(m.userMessagesOmitted).toBeGreaterThan(0);
    expect(m.userMessages).toHaveLength(201 - m.userMessagesOmitted);
    expect(renderMemory(m)).toContain(`${m.userMessagesOmitted} oldest after the goal left out`);
  });

  it("a single message larger than the whole bound is cut in the middle, never dropped", () => {
    const goal = `START ${"y".repeat(50_000)} END`;
    const m = buildMemory(readOf([user(goal), said("z".repeat(50_000))]), input(500));
    expect(m.tokens).toBeLessThanOrEqual(500);
    expect(m.goal).toMatch(/^START y+\n\[… \d+ chars cut …\]\ny* ?END$/);
  });

  it("files created, edited and deleted (with counts) and the last files read, latest first", () => {
    const entries: TranscriptEntry[] = [
      user("refactor"),
      fileCall("1", "read", "a.ts"),
      fileCall("2", "read", "b.ts"),
      fileCall("3", "write", "new.ts"),
      fileCall("4", "write", "new.ts"),
      fileCall("5", "edit", "a.ts"),
      fileCall("6", "edit", "a.ts"),
      fileCall("7", "delete", "old.ts"),
      fileCall("8", "read", "a.ts"),
    ];
    const m = buildMemory(readOf(entries), input());
    expect(m.files).toEqual({
      created: [{ path: "new.ts", count: 1 }],
      edited: [
        { path: "a.ts", count: 2 },
        { path: "new.ts", count: 1 },
      ],
      deleted: [{ path: "old.ts", count: 1 }],
      read: ["a.ts", "b.ts"],
    });
    expect(renderMemory(m)).toContain("- Edited: a.ts (2×), new.ts");
  });

  it("the last plan wins; errors carry what followed; a trailing question is pending", () => {
    const entries: TranscriptEntry[] = [
      user("ship it"),
      { kind: "plan", items: [{ text: "write code", status: "in_progress" }], ts: 1 },
      { kind: "error", text: "API Error: 529 overloaded", ts: 2 },
      said("Retrying after the overload."),
      {
        kind: "plan",
        items: [
          { text: "write code", status: "completed" },
          { text: "run tests", status: "pending" },
        ],
        ts: 3,
      },
      shell("t", "npm test"),
      result("t", 0, "ok"),
      said("All green. Should I also update the changelog?"),
    ];
    const m = buildMemory(readOf(entries), input());
    expect(m.plan).toEqual([
      { text: "write code", status: "completed" },
      { text: "run tests", status: "pending" },
    ]);
    expect(m.errors).toEqual([{ text: "API Error: 529 overloaded", followedBy: "Retrying after the overload." }]);
    expect(m.commands).toEqual([{ command: "npm test", exitCode: 0, output: null }]);
    expect(m.pendingQuestion).toBe("All green. Should I also update the changelog?");
    const md = renderMemory(m);
    expect(md).toContain("- [x] write code\n- [ ] run tests");
    expect(md).toContain("- `npm test` → exit 0");
    expect(md).toContain("Pending question: All green.");
  });

  it("Claude tool calls: Write/Edit/Bash/TodoWrite become files, commands with exit codes and the plan", () => {
    const p = join(tmp(), "s.jsonl");
    const lines = [
      claudeLine("user", "build the feature"),
      claudeLine("assistant", [{ type: "tool_use", id: "w", name: "Write", input: { file_path: "/w/f.ts", content: "x" } }], { model: "m" }),
      claudeLine("user", [{ type: "tool_result", tool_use_id: "w", content: "File created" }]),
      claudeLine("assistant", [{ type: "tool_use", id: "b", name: "Bash", input: { command: "npm test" } }], { model: "m" }),
      claudeLine("user", [{ type: "tool_result", tool_use_id: "b", is_error: true, content: "Exit code 2\nnpm ERR! test failed" }]),
      claudeLine("assistant", [{ type: "tool_use", id: "t", name: "TodoWrite", input: { todos: [{ content: "fix test", status: "in_progress" }] } }], {
        model: "m",
      }),
    ];
    writeFileSync(p, `${lines.join("\n")}\n`);
    const m = buildMemory(readClaudeMessages(p), input());
    expect(m.files.created).toEqual([{ path: "/w/f.ts", count: 1 }]);
    expect(m.commands).toEqual([{ command: "npm test", exitCode: 2, output: "Exit code 2\nnpm ERR! test failed" }]);
    expect(m.plan).toEqual([{ text: "fix test", status: "in_progress" }]);
  });

  it("Codex apply_patch: added, updated and deleted files", () => {
    const p = join(tmp(), "rollout.jsonl");
    const patch = "*** Begin Patch\n*** Add File: src/new.ts\n+x\n*** Update File: src/a.ts\n@@\n-a\n+b\n*** Delete File: src/old.ts\n*** End Patch";
    const lines = [
      { type: "response_item", payload: { type: "message", role: "user", content: [{ type: "input_text", text: "patch it" }] } },
      { type: "response_item", payload: { type: "custom_tool_call", name: "apply_patch", input: patch, call_id: "p1" } },
      { type: "response_item", payload: { type: "custom_tool_call_output", call_id: "p1", output: "Success." } },
    ];
    writeFileSync(p, `${lines.map((l) => JSON.stringify({ timestamp: "2026-11-23T10:00:00.000Z", ...l })).join("\n")}\n`);
    const m = buildMemory(readCodexMessages(p), { ...input(), platform: "codex" });
    expect(m.files).toMatchObject({
      created: [{ path: "src/new.ts", count: 1 }],
      edited: [{ path: "src/a.ts", count: 1 }],
      deleted: [{ path: "src/old.ts", count: 1 }],
    });
  });

  it("is deterministic: the same entries give byte-identical JSON and Markdown", () => {
    const entries = [user("a"), shell("1", "ls"), result("1", 1, "boom"), said("b")];
    expect(memoryJson(buildMemory(readOf(entries), input()))).toBe(memoryJson(buildMemory(readOf(entries), input())));
    expect(renderMemory(buildMemory(readOf(entries), input()))).toBe(renderMemory(buildMemory(readOf(entries), input())));
  });
});

describe("saving memories", () => {
  const harnesses: SourceHarness[] = [];
  afterEach(() => {
    for (const h of harnesses.splice(0)) h.close();
  });

  function setup(summarizer: string[] | null = null) {
    const dir = tempDir("asm-memory-save-");
    const memoryDir = join(dir, "mem");
    const h = sourceHarness(dir, { handover: { memoryDir, summarizer: { argv: summarizer, timeoutSeconds: 5 } } });
    harnesses.push(h);
    const src = join(
      import.meta.dirname,
      "../fixtures/real/claude/.claude/projects/-tmp-asmfx-claude-home-work-demo-app/163916ff-775e-4222-8a81-8acc7c4cfe27.jsonl",
    );
    const path = join(dir, "t.jsonl");
    cpSync(src, path);
    const s = { ...blankRecord("claude", null, "163916ff-775e-4222-8a81-8acc7c4cfe27", 1), path, contextTokens: 30_833, contextWindow: 200_000 };
    h.sessions.upsert(s);
    return { h, s, memoryDir, dir };
  }

  it("stores a row and writes <platform>-<session_id>.json under memoryDir; /memory's lookup reuses it", async () => {
    const { h, s, memoryDir } = setup();
    const saved = await saveMemory({ db: h.db, config: h.config }, s, {}, 1000);
    expect(saved.filePath).toBe(join(memoryDir, "claude-163916ff-775e-4222-8a81-8acc7c4cfe27.json"));
    const file = JSON.parse(readFileSync(saved.filePath!, "utf8"));
    expect(file).toMatchObject({ kind: "extractive", goal: "Hello, summarize this project", tokensAtHandover: 30_833, contextWindow: 200_000 });
    expect(new MemoryStore(h.db).latest(s.uid)).toMatchObject({ id: saved.id, kind: "extractive", filePath: saved.filePath, createdAt: 1000 });
    const again = await latestMemory({ db: h.db, config: h.config }, s);
    expect(again).toMatchObject({ id: saved.id, built: false });
    expect(again.markdown).toBe(saved.markdown);
  });

  it("a summarizer's output is added (kind summarized); a failing one leaves the extractive memory", async () => {
    const ok = setup(["node", "-e", "process.stdin.resume();process.stdin.on('end',()=>console.log('The user wants a summary.'))"]);
    const good = await saveMemory({ db: ok.h.db, config: ok.h.config }, ok.s);
    expect(good.memory).toMatchObject({ kind: "summarized", summary: "The user wants a summary." });
    expect(good.markdown).toContain("## Summary (summarizer)\n\nThe user wants a summary.");
    const bad = setup(["node", "-e", "process.exit(3)"]);
    const fallback = await saveMemory({ db: bad.h.db, config: bad.h.config }, bad.s);
    expect(fallback.memory).toMatchObject({ kind: "extractive", summary: null });
  });

  it("a folder that cannot be written leaves the row without a file", async () => {
    const { h, s, dir } = setup();
    writeFileSync(join(dir, "blocker"), "");
    const saved = await saveMemory({ db: h.db, config: { ...h.config, handover: { ...h.config.handover, memoryDir: join(dir, "blocker", "x") } } }, s);
    expect(saved.filePath).toBeNull();
    expect(new MemoryStore(h.db).latest(s.uid)!.filePath).toBeNull();
  });

  it("file names keep only safe characters", () => {
    expect(memoryFileName("openclaw", "agent:main/../x")).toBe("openclaw-agent_main_.._x.json");
  });

  it("asm memory <prefix> prints the Markdown, --json the document", async () => {
    const { dir, h } = setup();
    h.close();
    harnesses.pop();
    mkdirSync(join(dir, "home"), { recursive: true });
    const env = { HOME: join(dir, "home"), ASM_DB: join(dir, "asm.db"), ASM_CONFIG: undefined };
    const md = await runAsmInProcess(["memory", "163916ff"], env);
    expect(md.stderr).toBe("");
    expect(md.code).toBe(0);
    expect(md.stdout).toContain("## Goal (first user message)\n\n> Hello, summarize this project");
    const json = await runAsmInProcess(["memory", "--json", "163916ff"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      platform: "claude",
      userMessages: ["Hello, summarize this project", expect.any(String), "/compact", "Thanks, anything else?"],
    });
    expect((await runAsmInProcess(["memory", "zzz"], env)).code).toBe(2);
  });
});
