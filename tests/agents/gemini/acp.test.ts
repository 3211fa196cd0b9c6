import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ProtocolIO, RunRequest, WorkerEvent } from "../../../src/agents/driver.ts";
import { UnsafeArgumentError } from "../../../src/agents/driver.ts";
import { GeminiAcpSession, geminiAcpDriver, LOAD_MINUTE_MARGIN_MS } from "../../../src/agents/gemini/acp.ts";
import { geminiChatFiles } from "../../../src/agents/gemini/chat-files.ts";
import { eventsOf, textOf as joinedText } from "../../helpers/events.ts";

/**
 * The session replayed against the real `gemini --acp` 0.61.0 exchanges (tests/fixtures/streams/gemini/acp-*,
 * recorded by gemini-acp-driver.ts with this same session): stdout lines go to `onLine` at their recorded times
 * (fake timers), the driver's notes (`turn:`, `reply:`, `interrupt`, `close`) are repeated, and every line the
 * session writes must be exactly what went to the real CLI's stdin.
 */

const dir = new URL("../../fixtures/streams/gemini/", import.meta.url);
type Entry = { ms: number; dir: "stdin" | "stdout" | "stderr" | "driver"; line: string };
const exchange = (s: string): Entry[] =>
  readFileSync(new URL(`${s}.exchange.jsonl`, dir), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);

interface Replay {
  session: GeminiAcpSession;
  writes: string[];
  /** What the session wrote after the recording closed stdin. */
  late: string[];
  stdin: string[];
  events: WorkerEvent[];
  fails: { reason: string; message: string }[];
}

function replay(scenario: string): Replay {
  const entries = exchange(scenario);
  const opened = entries.map((e) => (e.dir === "stdin" ? JSON.parse(e.line) : null)).find((m) => m?.method === "session/new" || m?.method === "session/load");
  const req: RunRequest = {
    resumeSessionId: opened?.method === "session/load" ? opened.params.sessionId : null,
    model: null,
    cwd: opened?.params.cwd ?? "/w",
    permissionMode: null,
  };
  const out: Omit<Replay, "session"> = { writes: [], late: [], stdin: [], events: [], fails: [] };
  let closed = false;
  const io: ProtocolIO = {
    write: (l) => {
      (closed ? out.late : out.writes).push(l);
    },
    emit: (evs) => out.events.push(...evs),
    fail: (reason, message) => out.fails.push({ reason, message }),
    debug: () => {},
  };
  let now = 0;
  const session = new GeminiAcpSession(req, io, () => now);
  for (const e of entries) {
    vi.advanceTimersByTime(Math.max(0, e.ms - now));
    now = e.ms;
    if (e.dir === "stdin") out.stdin.push(e.line);
    else if (e.dir === "stdout") session.onLine(e.line);
    else if (e.dir === "driver") {
      if (e.line.startsWith("turn: ")) session.turn(e.line.slice(6));
      else if (e.line.startsWith("reply: ")) {
        const p = out.events.findLast((x) => x.type === "permission");
        if (p?.type === "permission") session.reply(p.requestId, { kind: "permission", allow: e.line === "reply: allow" });
      } else if (e.line === "interrupt") session.interrupt();
      else if (e.line === "close") session.close();
      else if (e.line === "closing stdin") closed = true;
    }
  }
  return { ...out, session };
}

const of = <T extends WorkerEvent["type"]>(r: Replay, type: T) => eventsOf(r.events, type);
const sent = (r: Replay) => r.writes.map((l) => JSON.parse(l));
const textOf = (r: Replay) => joinedText(r.events);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("geminiAcpDriver.runSpec", () => {
  const base: RunRequest = { resumeSessionId: null, model: null, cwd: "/w", permissionMode: null };
  const ID = "7b341d7f-6941-4e05-9db8-8d32c95b26ef";

  it("--acp with the headless driver's checked model and approval mode; the prompt and the resumed id go over the protocol", () => {
    expect(geminiAcpDriver.runSpec(base)).toEqual({ args: ["--acp", "--skip-trust"], prompt: "protocol", env: { PWD: "/w" } });
    expect(geminiAcpDriver.runSpec({ ...base, model: "gemini-2.5-pro", permissionMode: "auto_edit", resumeSessionId: ID }).args).toEqual([
      "--acp",
      "--skip-trust",
      "--model=gemini-2.5-pro",
      "--approval-mode=auto_edit",
    ]);
    expect(geminiAcpDriver.canAsk && geminiAcpDriver.multiTurn).toBe(true);
  });

  it("rejects what it would not pass on", () => {
    expect(() => geminiAcpDriver.runSpec({ ...base, permissionMode: "bypassPermissions" })).toThrow(UnsafeArgumentError);
    expect(() => geminiAcpDriver.runSpec({ ...base, model: "--yolo" })).toThrow(UnsafeArgumentError);
    expect(() => geminiAcpDriver.runSpec({ ...base, resumeSessionId: "latest" })).toThrow(UnsafeArgumentError);
  });
});

describe("GeminiAcpSession against the recorded gemini --acp 0.61.0", () => {
  it("tool allowed: the handshake, a shell permission answered allow_once, the tool runs, the turn ends", () => {
    const r = replay("acp-tool-allow");
    expect(r.writes).toEqual(r.stdin);
    expect(r.fails).toEqual([]);
    const [init, newSession, prompt] = sent(r);
    expect(init).toMatchObject({ method: "initialize", params: { protocolVersion: 1, clientCapabilities: { terminal: false } } });
    expect(newSession).toMatchObject({ method: "session/new", params: { mcpServers: [] } });
    expect(prompt).toMatchObject({ method: "session/prompt", params: { prompt: [{ type: "text", text: "USE_SHELL: write a file, then show the README" }] } });
    expect(sent(r).at(-1)).toMatchObject({ id: 0, result: { outcome: { outcome: "selected", optionId: "proceed_once" } } });

    expect(of(r, "init")[0]).toMatchObject({ model: "auto", version: "0.61.0" });
    expect(of(r, "init")[0]?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const [perm] = of(r, "permission");
    expect(perm).toMatchObject({
      tool: "Shell",
      detail: "echo tool-ran > tool-ran.txt && cat README.md",
      action: { kind: "command", command: "echo tool-ran > tool-ran.txt && cat README.md" },
    });
    expect(perm?.requestId).toMatch(/^0\.[0-9a-f]{6}$/);
    expect(of(r, "tool")).toEqual([{ type: "tool", name: "Shell", detail: "echo tool-ran > tool-ran.txt && cat README.md" }]);
    expect(textOf(r)).toContain("The README says this is a tiny fixture project");
    const ends = of(r, "turn_end");
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ isError: false, denied: [] });
    expect(of(r, "usage")[0]).toMatchObject({ output: 60, contextTokens: null });
    expect(r.events.at(-1)?.type).toBe("turn_end");
  });

  it("tool denied: answered reject_once by kind, the tool never runs, the turn names it in denied", () => {
    const r = replay("acp-tool-deny");
    expect(r.writes).toEqual(r.stdin);
    expect(sent(r).at(-1)).toMatchObject({ id: 0, result: { outcome: { outcome: "selected", optionId: "cancel" } } });
    expect(of(r, "tool")).toEqual([]);
    expect(of(r, "turn_end")[0]).toMatchObject({ isError: false, denied: ["Shell: echo tool-ran > tool-ran.txt && cat README.md"] });
  });

  it("interrupt mid-turn: session/cancel, the prompt ends cancelled as an interrupted turn, the next turn works", () => {
    const r = replay("acp-interrupt");
    expect(r.writes).toEqual(r.stdin);
    expect(sent(r).map((m) => m.method ?? "response")).toEqual(["initialize", "session/new", "session/prompt", "session/cancel", "session/prompt"]);
    const ends = of(r, "turn_end");
    expect(ends.map((e) => [e.isError, e.interrupted ?? false])).toEqual([
      [false, true],
      [false, false],
    ]);
    expect(of(r, "error")).toEqual([]);
  });

  it("interrupt while a permission waits: the request is answered cancelled and withdrawn, then the turn ends", () => {
    const r = replay("acp-interrupt-permission");
    expect(r.writes).toEqual(r.stdin);
    const msgs = sent(r);
    const cancel = msgs.findIndex((m) => m.method === "session/cancel");
    expect(msgs[cancel + 1]).toMatchObject({ id: 0, result: { outcome: { outcome: "cancelled" } } });
    const [perm] = of(r, "permission");
    expect(of(r, "request_cancelled")).toEqual([{ type: "request_cancelled", requestId: perm?.requestId }]);
    const types = r.events.map((e) => e.type);
    expect(types.indexOf("request_cancelled")).toBeLessThan(types.indexOf("turn_end"));
    expect(of(r, "turn_end")[0]).toMatchObject({ interrupted: true, isError: false });
    expect(of(r, "turn_end")).toHaveLength(2);
  });

  it("a late answer to a withdrawn request writes nothing", () => {
    const r = replay("acp-interrupt-permission");
    r.session.reply(of(r, "permission")[0]?.requestId ?? "", { kind: "permission", allow: true });
    r.session.reply("7.nonsense", { kind: "permission", allow: true });
    expect(r.late).toEqual([]);
  });

  it("429: an error event (rate_limit, 429) and a failed turn; the process serves the next turn", () => {
    const r = replay("acp-fail429");
    expect(r.writes).toEqual(r.stdin);
    expect(of(r, "error")).toEqual([
      { type: "error", reason: "rate_limit", message: "Resource has been exhausted (e.g. check quota).", status: 429, willRetry: false },
    ]);
    expect(of(r, "turn_end").map((e) => e.isError)).toEqual([true, false]);
    expect(r.fails).toEqual([]);
  });

  it("401: auth, with Google's JSON body unwrapped", () => {
    const r = replay("acp-auth401");
    expect(r.writes).toEqual(r.stdin);
    expect(of(r, "error")[0]).toMatchObject({ reason: "auth", status: 401, message: "API key not valid. Please pass a valid API key." });
    expect(of(r, "turn_end")[0]).toMatchObject({ isError: true });
  });

  it("resume: session/load of the earlier session; its replayed history is not read as the new turn", () => {
    const r = replay("acp-resume");
    expect(r.writes).toEqual(r.stdin);
    const allow = exchange("acp-tool-allow");
    const oldId = JSON.parse(allow.find((e) => e.dir === "stdout" && e.line.includes('"sessionId"') && e.line.includes('"modes"'))?.line ?? "{}").result
      .sessionId;
    expect(sent(r)[1]).toMatchObject({ method: "session/load", params: { sessionId: oldId, mcpServers: [] } });
    expect(of(r, "init")[0]?.sessionId).toBe(oldId);
    expect(of(r, "tool")).toEqual([]);
    expect(textOf(r)).toMatch(/^Fake reply #\d+: you said "Hello again, do you remember what I asked first\?"/);
    expect(r.events.some((e) => e.type === "other" && e.kind.startsWith("acp/idle:"))).toBe(true);
    expect(of(r, "turn_end")).toHaveLength(1);
  });

  it("no API key: session/new is refused (-32000) and the run fails as auth", () => {
    const r = replay("acp-no-key");
    expect(r.writes).toEqual(r.stdin);
    expect(r.fails).toEqual([{ reason: "auth", message: "Gemini refused session/new: Gemini API key is missing or not configured." }]);
    expect(of(r, "init")).toEqual([]);
  });
});

describe("GeminiAcpSession, protocol corners", () => {
  const io = () => {
    const r = { writes: [] as unknown[], events: [] as WorkerEvent[], fails: [] as string[] };
    const p: ProtocolIO = {
      write: (l) => r.writes.push(JSON.parse(l)),
      emit: (e) => r.events.push(...e),
      fail: (reason, m) => r.fails.push(`${reason}: ${m}`),
      debug: () => {},
    };
    return { r, p };
  };
  const initOk = (loadSession = true) =>
    JSON.stringify({ jsonrpc: "2.0", id: 1, result: { protocolVersion: 1, agentInfo: { version: "9" }, agentCapabilities: { loadSession } } });
  const ID = "7b341d7f-6941-4e05-9db8-8d32c95b26ef";

  it("holds the first turn until the session is open", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null }, p);
    s.turn("hello");
    expect(r.writes).toHaveLength(1);
    s.onLine(initOk());
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { sessionId: "s1" } }));
    expect(r.writes.at(-1)).toMatchObject({ method: "session/prompt", params: { sessionId: "s1", prompt: [{ type: "text", text: "hello" }] } });
  });

  it("a resume fails clearly when the agent cannot load sessions, or speaks another protocol version", () => {
    const a = io();
    new GeminiAcpSession({ resumeSessionId: ID, model: null, cwd: "/w", permissionMode: null }, a.p).onLine(initOk(false));
    expect(a.r.fails[0]).toMatch(/^error: .*no loadSession capability/);
    const b = io();
    new GeminiAcpSession({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null }, b.p).onLine(
      JSON.stringify({ jsonrpc: "2.0", id: 1, result: { protocolVersion: 2 } }),
    );
    expect(b.r.fails[0]).toMatch(/protocol version 2/);
  });

  it("an unknown session on load fails the run with Gemini's reason", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: ID, model: null, cwd: "/w", permissionMode: null }, p);
    s.onLine(initOk());
    expect(r.writes.at(-1)).toMatchObject({ id: 2, method: "session/load", params: { sessionId: ID } });
    // Gemini 0.61.0's answer for an id it has no chat file for (checked by hand against the real CLI).
    const details = `Invalid session identifier "${ID}".\n  Searched for sessions in /h/.gemini/tmp/w/chats.`;
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, error: { code: -32603, message: "Internal error", data: { details } } }));
    expect(r.fails).toEqual([`error: Gemini refused session/load: Internal error: ${details}`]);
  });

  it("a loaded session waits for the history replay to go quiet before the first prompt", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: ID, model: null, cwd: "/w", permissionMode: null }, p);
    s.turn("next");
    s.onLine(initOk());
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: {} }));
    const chunk = JSON.stringify({
      jsonrpc: "2.0",
      method: "session/update",
      params: { sessionId: ID, update: { sessionUpdate: "agent_message_chunk", content: { type: "text", text: "old" } } },
    });
    s.onLine(chunk);
    vi.advanceTimersByTime(200);
    s.onLine(chunk);
    vi.advanceTimersByTime(200);
    expect(r.writes.some((m) => (m as { method?: string }).method === "session/prompt")).toBe(false);
    vi.advanceTimersByTime(200);
    expect(r.writes.at(-1)).toMatchObject({ method: "session/prompt" });
    expect(r.events.filter((e) => e.type === "text")).toEqual([]);
  });

  it("answers requests it does not serve (fs, terminal) with method-not-found", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null }, p);
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "fs/read_text_file", params: { path: "/etc/passwd" } }));
    expect(r.writes.at(-1)).toMatchObject({ id: 7, error: { code: -32601 } });
  });

  it("an interrupt before the session opened drops the held turn as interrupted", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null }, p);
    s.turn("hello");
    s.interrupt();
    expect(r.events).toEqual([expect.objectContaining({ type: "turn_end", interrupted: true })]);
    s.onLine(initOk());
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { sessionId: "s1" } }));
    expect(r.writes.some((m) => (m as { method?: string }).method === "session/prompt")).toBe(false);
  });

  it("a prompt whose session is gone fails the run; a non-JSON line is reported, not thrown", () => {
    const { r, p } = io();
    const s = new GeminiAcpSession({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null }, p);
    s.onLine("not json");
    s.onLine(initOk());
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { sessionId: "s1" } }));
    s.turn("x");
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 3, error: { code: -32602, message: "Session not found: s1" } }));
    expect(r.fails).toEqual(["error: Gemini lost the session: Session not found: s1"]);
    expect(r.events[0]).toEqual({ type: "other", kind: "unparsed" });
  });
});

/**
 * Loading against Gemini 0.61.0's faults (GeminiAcpSession's class comment), with real chat files in a Gemini home
 * (tests/fixtures/streams/gemini/acp-chats, from gemini-acp-load.sh): `resumed.jsonl` holds a conversation,
 * `load-opened.jsonl` is what a session/load of it opened for itself (the context only). The answers are the
 * recorded ones' shape (acp-resume); the clock is the session's `now` plus fake timers.
 */
describe("GeminiAcpSession, loading around Gemini's session/load faults", () => {
  const chats = new URL("../../fixtures/streams/gemini/acp-chats/", import.meta.url);
  const ID = (JSON.parse(readFileSync(new URL("resumed.jsonl", chats), "utf8").split("\n")[0] as string) as { sessionId: string }).sessionId;
  const OPENED = Date.UTC(2026, 11, 5, 5, 54, 20);
  let home: string;
  let dir: string;
  const put = (fixture: string, minute: string) => copyFileSync(new URL(fixture, chats), join(dir, `session-2026-12-05T${minute}-${ID.slice(0, 8)}.jsonl`));
  const initOk = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    result: { protocolVersion: 1, agentInfo: { version: "0.61.0" }, agentCapabilities: { loadSession: true } },
  });
  const open = (now: () => number) => {
    const r = { writes: [] as { method?: string; params?: unknown }[], events: [] as WorkerEvent[], fails: [] as string[] };
    const io: ProtocolIO = {
      write: (l) => r.writes.push(JSON.parse(l)),
      emit: (e) => r.events.push(...e),
      fail: (reason, m) => r.fails.push(`${reason}: ${m}`),
      debug: () => {},
    };
    const s = new GeminiAcpSession({ resumeSessionId: ID, model: null, cwd: "/w", permissionMode: null }, io, now, geminiChatFiles(home));
    s.turn("next");
    s.onLine(initOk);
    return { s, r, loads: () => r.writes.filter((m) => m.method === "session/load") };
  };
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "asm-gemini-home-"));
    dir = join(home, "tmp/demo-app/chats");
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("in the minute the session's file was opened, session/load waits for the next; the file that load opens is removed after it", () => {
    put("resumed.jsonl", "05-54");
    let now = OPENED + 15_000;
    const { s, r, loads } = open(() => now);
    expect(loads()).toEqual([]);
    // The worker is alive meanwhile (a fallback chain's no-init timer must not fire), and says why it waits.
    expect(r.events).toEqual([
      { type: "init", sessionId: ID, model: null, version: "0.61.0" },
      { type: "other", kind: "acp/load-waits-a-minute" },
    ]);
    const wait = 60_000 - 35_000 + LOAD_MINUTE_MARGIN_MS;
    vi.advanceTimersByTime(wait - 1);
    expect(loads()).toEqual([]);
    now += wait;
    vi.advanceTimersByTime(1);
    expect(loads()).toEqual([expect.objectContaining({ params: { sessionId: ID, cwd: "/w", mcpServers: [] } })]);
    // What Gemini 0.61.0 does before it answers: a new file for this minute, holding only the context.
    put("load-opened.jsonl", "05-55");
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { models: { currentModelId: "auto" } } }));
    expect(readdirSync(dir)).toEqual([`session-2026-12-05T05-54-${ID.slice(0, 8)}.jsonl`]);
    expect(r.events).toContainEqual({ type: "other", kind: "acp/empty-chat-files-removed:1" });
    vi.advanceTimersByTime(400);
    expect(r.writes.at(-1)).toMatchObject({ method: "session/prompt", params: { sessionId: ID } });
    expect(r.fails).toEqual([]);
  });

  it("in a later minute it loads at once; without a file that holds the conversation nothing is removed", () => {
    put("resumed.jsonl", "05-54");
    const later = open(() => OPENED + 60_000);
    expect(later.loads()).toHaveLength(1);
    expect(later.r.events).toEqual([]);

    rmSync(join(dir, `session-2026-12-05T05-54-${ID.slice(0, 8)}.jsonl`));
    put("load-opened.jsonl", "05-54");
    const { s, loads } = open(() => OPENED);
    expect(loads()).toHaveLength(1); // a file of this minute with nothing to resume: no wait
    s.onLine(JSON.stringify({ jsonrpc: "2.0", id: 2, result: {} }));
    expect(existsSync(join(dir, `session-2026-12-05T05-54-${ID.slice(0, 8)}.jsonl`))).toBe(true);
  });

  it("a file an older load left is removed as the CLI starts, before Gemini's own start-up clean-up could run", () => {
    put("resumed.jsonl", "05-54");
    put("load-opened.jsonl", "05-58");
    const r = { writes: 0, events: [] as WorkerEvent[] };
    const io: ProtocolIO = { write: () => r.writes++, emit: (e) => r.events.push(...e), fail: () => {}, debug: () => {} };
    new GeminiAcpSession({ resumeSessionId: ID, model: null, cwd: "/w", permissionMode: null }, io, () => OPENED + 600_000, geminiChatFiles(home));
    expect(r.writes).toBe(1); // initialize only: nothing answered yet
    expect(readdirSync(dir)).toEqual([`session-2026-12-05T05-54-${ID.slice(0, 8)}.jsonl`]);
    expect(r.events).toEqual([{ type: "other", kind: "acp/empty-chat-files-removed:1" }]);
  });

  it("a load Gemini refuses fails with what asm sees of the session's files", () => {
    const refused = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      error: { code: -32603, message: "Internal error", data: { details: `Invalid session identifier "${ID}".` } },
    });
    const none = open(() => OPENED);
    none.s.onLine(refused);
    expect(none.r.fails).toEqual([
      `error: Gemini refused session/load: Internal error: Invalid session identifier "${ID}". (no chat file of this session is left; Gemini deletes the ones it cannot resume when it starts)`,
    ]);
    put("load-opened.jsonl", "05-54");
    const empty = open(() => OPENED);
    empty.s.onLine(refused);
    expect(empty.r.fails[0]).toMatch(/\(its chat file holds no conversation Gemini can resume\)$/);
  });
});
