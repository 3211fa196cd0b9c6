import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sseData } from "../../../src/agents/opencode/serve-client.ts";
import {
  lastTurn,
  partEvents,
  permissionAction,
  permissionEvent,
  questionAnswers,
  questionEvent,
  reconcileTurn,
  turnStillOpen,
} from "../../../src/agents/opencode/serve-events.ts";

/** The recorded exchange's entries (tests/fixtures/streams/opencode/<s>.serve.jsonl). */
const exchange = (s: string) =>
  readFileSync(fileURLToPath(new URL(`../../fixtures/streams/opencode/${s}.serve.jsonl`, import.meta.url)), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { dir: string; id?: number; path?: string; body?: unknown; data?: { type: string; properties: Record<string, unknown> } });
/** The body OpenCode answered to the recorded `GET /session/{id}/message`. */
const messages = (s: string) => {
  const x = exchange(s);
  const q = x.find((e) => e.dir === "request" && /\/message\?/.test(e.path ?? ""));
  return x.find((e) => e.dir === "response" && e.id === q?.id)?.body;
};
const seen = () => ({ parts: new Set<string>(), error: false });

describe("OpenCode serve permissions as actions", () => {
  const wt = "/home/dev/app";
  it("bash is the whole command line; edit the absolute file; read the worktree-relative patterns made absolute", () => {
    expect(permissionAction("bash", ["echo a > b", "cat c"], { command: "echo a > b && cat c" }, wt)).toEqual({
      kind: "command",
      command: "echo a > b && cat c",
    });
    expect(permissionAction("edit", ["src/a.ts"], { filepath: "/home/dev/app/src/a.ts", diff: "…" }, wt)).toEqual({
      kind: "edit",
      paths: ["/home/dev/app/src/a.ts"],
    });
    expect(permissionAction("edit", ["src/a.ts"], {}, wt)).toEqual({ kind: "edit", paths: ["/home/dev/app/src/a.ts"] });
    expect(permissionAction("read", ["README.md"], {}, wt)).toEqual({ kind: "read", paths: ["/home/dev/app/README.md"] });
    // Without the worktree a relative read pattern cannot be placed: a person decides.
    expect(permissionAction("read", ["README.md"], {}, null)).toEqual({ kind: "other" });
    expect(permissionAction("grep", ["TODO"], { pattern: "TODO" }, wt)).toEqual({ kind: "read", paths: ["."] });
    expect(permissionAction("glob", ["*.md"], { pattern: "*.md", path: "/etc" }, wt)).toEqual({ kind: "read", paths: ["/etc"] });
    for (const p of ["external_directory", "webfetch", "task", "doom_loop", "mcp_tool"]) expect(permissionAction(p, ["*"], {}, wt)).toEqual({ kind: "other" });
    expect(permissionAction("bash", ["x"], {}, wt)).toEqual({ kind: "other" });
  });

  it("the recorded permission.asked becomes a request a person can judge", () => {
    const asked = exchange("tool-allow").find((e) => e.data?.type === "permission.asked")!.data!.properties;
    expect(permissionEvent(asked, "/")).toMatchObject({
      type: "permission",
      tool: "bash",
      detail: "echo tool-ran > tool-ran.txt && cat README.md",
      action: { kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" },
    });
    expect(permissionEvent({ permission: "bash" }, null)).toBeNull();
  });
});

describe("OpenCode serve questions", () => {
  it("one question offers its option labels; several are numbered and answered one reply line each", () => {
    const q = (question: string, labels: string[]) => ({ question, header: "H", options: labels.map((label) => ({ label, description: "" })) });
    expect(questionEvent({ id: "que_1", questions: [q("Which file?", ["a", "b"])] })).toEqual({
      type: "question",
      requestId: "que_1",
      text: "Which file?",
      options: ["a", "b"],
    });
    expect(questionEvent({ id: "que_2", questions: [q("Which file?", ["a"]), q("Why?", [])] })).toEqual({
      type: "question",
      requestId: "que_2",
      text: "1. Which file? (a)\n2. Why?\nReply with one line per question.",
    });
    expect(questionEvent({ id: "que_3", questions: [] })).toBeNull();
    expect(questionAnswers(2, "a")).toEqual([["a"], ["a"]]);
    expect(questionAnswers(2, "1. a\n2. because")).toEqual([["a"], ["because"]]);
    expect(questionAnswers(0, "a")).toEqual([["a"]]);
  });
});

describe("OpenCode serve parts and the turn read back from the messages", () => {
  it("a text part counts once it is finished and not synthetic; a tool part once its input is known", () => {
    const s = seen();
    expect(partEvents({ id: "p1", type: "text", text: "Hel", time: { start: 1 } }, s)).toEqual([]);
    expect(partEvents({ id: "p1", type: "text", text: "Hello", time: { start: 1, end: 2 } }, s)).toEqual([{ type: "text", text: "Hello" }]);
    expect(partEvents({ id: "p1", type: "text", text: "Hello", time: { start: 1, end: 2 } }, s)).toEqual([]);
    expect(partEvents({ id: "p2", type: "text", text: "Continue", synthetic: true, time: { end: 2 } }, s)).toEqual([]);
    expect(partEvents({ id: "p3", type: "tool", tool: "bash", state: { status: "pending", input: {} } }, s)).toEqual([]);
    expect(partEvents({ id: "p3", type: "tool", tool: "bash", state: { status: "running", input: { command: "ls" } } }, s)).toEqual([
      { type: "tool", name: "bash", detail: "ls" },
    ]);
  });

  it("the recorded messages of an allowed tool turn: its texts, summed usage, the context of the last call, the end", () => {
    const list = messages("tool-allow");
    expect(lastTurn(list)).toHaveLength(2);
    expect(turnStillOpen(list)).toBe(false);
    const out = reconcileTurn(list, { seen: seen(), interrupted: false, durationMs: 5 });
    expect(out.map((e) => e.type)).toEqual(["text", "tool", "text", "usage", "turn_end"]);
    const usage = out.find((e) => e.type === "usage")!;
    const end = out.at(-1)!;
    expect(usage.type === "usage" && usage.contextTokens! > 20_000 && usage.contextTokens! < usage.input + usage.cacheRead).toBe(true);
    expect(end).toEqual({
      type: "turn_end",
      result: "The README says this is a tiny fixture project. Done.",
      isError: false,
      costUsd: 0,
      durationMs: 5,
      numTurns: 2,
      denied: [],
    });
  });

  it("a rejected tool is denied; a failed call is the turn's error; an aborted one is interrupted, not an error", () => {
    expect(reconcileTurn(messages("tool-deny"), { seen: seen(), interrupted: false, durationMs: null }).at(-1)).toMatchObject({
      denied: ["bash"],
      isError: false,
    });
    const failed = reconcileTurn(messages("fail429"), { seen: seen(), interrupted: false, durationMs: null });
    expect(failed.map((e) => e.type)).toEqual(["error", "turn_end"]);
    expect(failed[0]).toMatchObject({ reason: "rate_limit", status: 429 });
    expect(failed[1]).toMatchObject({ isError: true, result: "Rate limit reached" });
    // The stream already reported the error: not twice.
    expect(reconcileTurn(messages("fail429"), { seen: { parts: new Set(), error: true }, interrupted: false, durationMs: null }).map((e) => e.type)).toEqual([
      "turn_end",
    ]);
    expect(reconcileTurn(messages("interrupt"), { seen: seen(), interrupted: true, durationMs: null }).at(-1)).toMatchObject({
      interrupted: true,
      isError: false,
    });
  });

  it("the turn starts after the last message a person typed (compaction's synthetic continue does not cut it)", () => {
    const user = (id: string, synthetic = false) => ({ info: { id, role: "user" }, parts: [{ type: "text", text: "x", synthetic }] });
    const asst = (id: string, completed = true) => ({
      info: { id, role: "assistant", time: { created: 1, ...(completed ? { completed: 2 } : {}) } },
      parts: [],
    });
    const list = [user("u1"), asst("a1"), user("u2"), asst("a2"), user("u3", true), asst("a3", false)];
    expect(lastTurn(list).map((m) => m[0]!.id)).toEqual(["a2", "a3"]);
    expect(turnStillOpen(list)).toBe(true);
    expect(lastTurn(null)).toEqual([]);
    expect(reconcileTurn(null, { seen: seen(), interrupted: false, durationMs: null })).toEqual([
      { type: "turn_end", result: null, isError: false, costUsd: null, durationMs: null, numTurns: null, denied: [] },
    ]);
  });
});

describe("the SSE reader", () => {
  it("joins data lines per event, skips comments and other fields, survives chunks cut anywhere", async () => {
    const text = ': hi\n\nevent: x\ndata: {"a":1}\n\ndata: line1\r\ndata: line2\r\n\r\nid: 3\ndata: {"b":2}\n\ndata: cut';
    const bytes = new TextEncoder().encode(text);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 3) yield bytes.slice(i, i + 3);
    }
    const got: string[] = [];
    for await (const d of sseData(chunks())) got.push(d);
    expect(got).toEqual(['{"a":1}', "line1\nline2", '{"b":2}']);
  });
});
