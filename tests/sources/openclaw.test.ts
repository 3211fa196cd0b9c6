import { appendFileSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sessionUid } from "../../src/agents/session.ts";
import { OpenClawSource } from "../../src/sources/openclaw.ts";
import { listSourceProblems } from "../../src/store/problems.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
const uid = (id: string | undefined, agent = "main") => sessionUid("openclaw", agent, id ?? "?");
const ID = (k: number) => `1111111${k}-aaaa-4bbb-8ccc-00000000000${k}`;
const ORPHAN = "99999999-0000-4000-8000-000000000000";

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

/** A temp HOME with a copy of `from` as ~/.openclaw. */
function openclawHome(from: string) {
  const home = tempDir("asm-openclaw-");
  const root = join(home, ".openclaw");
  cpSync(from, root, { recursive: true });
  const h = sourceHarness(home, { sources: { openclaw: { root, legacyRoots: [join(home, ".clawdbot")] } } });
  harnesses.push(h);
  return { home, root, h, source: OpenClawSource.fromConfig(h.config) };
}

describe("OpenClaw SQLite store (written by OpenClaw 2026.9.6)", () => {
  const real = join(fixtures, "real/openclaw/.openclaw");
  const dbFile = (root: string) => join(root, "agents/main/agent/openclaw-agent.sqlite");

  /** What the store itself says, read with plain SQL: the oracle the source must agree with. */
  function oracle(path: string) {
    const db = new Database(path, { readonly: true });
    const ids: Record<string, string> = Object.fromEntries(
      (db.prepare("SELECT session_key, current_session_id FROM session_nodes").all() as { session_key: string; current_session_id: string }[]).map((r) => [
        r.session_key,
        r.current_session_id,
      ]),
    );
    const entry = JSON.parse(
      (db.prepare("SELECT entry_json FROM session_nodes WHERE session_key = 'agent:main:main'").get() as { entry_json: string }).entry_json,
    );
    const usage = (
      db.prepare("SELECT event_json FROM transcript_events WHERE session_id = ? ORDER BY seq").all(ids["agent:main:main"]) as { event_json: string }[]
    )
      .map((r) => JSON.parse(r.event_json))
      .filter((e) => e.type === "message" && e.message.role === "assistant" && e.message.usage?.totalTokens > 0)
      .map((e) => e.message.usage);
    db.close();
    return { ids, entry, usage };
  }

  it("reads both sessions: key, kind, model, context from the store, window, compaction, the failed run", async () => {
    const { root, h, source } = openclawHome(real);
    const o = oracle(dbFile(root));
    const r = await source.scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.missingRoots).toEqual([join(root, "..", ".clawdbot")]);
    expect(r.sessionsUpdated).toBe(2);

    const main = h.sessions.get(uid(o.ids["agent:main:main"]))!;
    const last = o.usage.at(-1);
    expect(main).toMatchObject({
      platform: "openclaw",
      agentId: "main",
      sessionKey: "agent:main:main",
      kind: "main",
      model: "fake-coder-1",
      project: "/tmp/asmfx/openclaw/home/work/demo-app",
      contextTokens: o.entry.totalTokens,
      contextWindow: o.entry.contextTokens,
      state: "idle",
      present: true,
    });
    // The store's figure and the last assistant usage agree (input excludes cache).
    expect(main.contextTokens).toBe(last.input + last.cacheRead + last.cacheWrite);
    expect(main.extra).toMatchObject({
      storage: "sqlite",
      peer: null,
      compactionCount: 1,
      configuredModel: "fakeai/fake-coder-1",
      lastAssistantModel: "fake-coder-1",
    });
    expect(h.turns(main.uid)).toHaveLength(o.usage.length);
    expect(main.inputTokens).toBe(o.usage.reduce((n: number, u: { input: number }) => n + u.input, 0));

    const failed = h.sessions.get(uid(o.ids["agent:main:fixture-error"]))!;
    expect(failed).toMatchObject({ state: "errored", contextTokens: null, contextWindow: 180000 });
    expect(failed.extra).toMatchObject({ lastErrorReason: "server_error" });

    const again = await source.scan(h.ctx());
    expect(again).toMatchObject({ filesRead: 0, bytesRead: 0, sessionsUpdated: 0 });
  });

  it("reads only rows after the last seq, decompresses event_zstd, restarts on a rewrite, marks deleted windows gone", async () => {
    const { root, h, source } = openclawHome(real);
    const o = oracle(dbFile(root));
    const sid = o.ids["agent:main:fixture-error"]!;
    await source.scan(h.ctx());
    const before = h.sessions.get(uid(sid))!;

    // The agent writes on: one compressed row (as 2026.9 does for long events).
    const db = new Database(dbFile(root));
    const zrow = readFileSync(join(fixtures, "openclaw/event-row.json.zst"));
    const nav = JSON.stringify({
      version: 1,
      report: { kind: "leaf" },
      navigation: {},
      reset: {},
      model: {},
      modelBytes: 0,
      modelWithoutCheckpointBytes: 0,
      withoutCustomDataBytes: 0,
    });
    db.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json) VALUES (?, 100, NULL, ?, ?, 300, ?)",
    ).run(sid, Date.now(), zrow, nav);
    db.close();
    const r = await source.scan(h.ctx());
    expect(r.filesRead).toBe(1);
    expect(r.parseErrors).toBe(0);
    const after = h.sessions.get(uid(sid))!;
    expect(after).toMatchObject({ state: "idle", contextTokens: 84912, model: "claude-sonnet-4-6", messageCount: before.messageCount + 1 });
    expect(h.turns(uid(sid))).toHaveLength(1);

    // A rewrite (new generation) is read from seq 0 again: nothing counted twice.
    const db2 = new Database(dbFile(root));
    db2.prepare("UPDATE transcript_rewrite_watermarks SET generation = 'g2' WHERE session_id = ?").run(sid);
    db2.close();
    await source.scan(h.ctx());
    expect(h.turns(uid(sid))).toHaveLength(1);
    expect(h.sessions.get(uid(sid))!.messageCount).toBe(after.messageCount);

    const db3 = new Database(dbFile(root));
    db3.pragma("foreign_keys = ON");
    db3.prepare("DELETE FROM session_nodes WHERE session_key = 'agent:main:fixture-error'").run();
    db3.prepare("DELETE FROM session_windows WHERE session_id = ?").run(sid);
    db3.close();
    await source.scan(h.ctx());
    expect(h.sessions.get(uid(sid))!.present).toBe(false);
    expect(h.sessions.get(uid(o.ids["agent:main:main"]))!.present).toBe(true);
  });

  it("a reset moves the key to a new session id: the old window is ended, the new one is the main session", async () => {
    const { root, h, source } = openclawHome(real);
    const o = oracle(dbFile(root));
    const old = o.ids["agent:main:main"]!;
    await source.scan(h.ctx());
    const db = new Database(dbFile(root));
    const now = Date.now();
    db.prepare(
      "INSERT INTO session_windows (session_id, session_key, previous_session_id, reason, created_at, updated_at) VALUES ('new-1', 'agent:main:main', ?, 'reset', ?, ?)",
    ).run(old, now, now);
    db.prepare("UPDATE session_nodes SET current_session_id = 'new-1', entry_json = ?, updated_at = ? WHERE session_key = 'agent:main:main'").run(
      JSON.stringify({ sessionId: "new-1", updatedAt: now, contextTokens: 180000 }),
      now,
    );
    db.close();
    await source.scan(h.ctx());
    expect(h.sessions.get(uid(old))).toMatchObject({ state: "ended", present: true });
    expect(h.sessions.get(uid("new-1"))).toMatchObject({ kind: "main", sessionKey: "agent:main:main", state: "unknown", contextTokens: null });
  });

  it("reads an early 2026.8 layout (session_entries + sessions tables) by its columns", async () => {
    const home = tempDir("asm-openclaw-");
    const root = join(home, ".openclaw");
    const path = join(root, "agents/ops/agent/openclaw-agent.sqlite");
    cpSync(join(fixtures, "openclaw/json-era/.openclaw/openclaw.json"), join(root, "openclaw.json"));
    smallStore(path);
    const h = sourceHarness(home, { sources: { openclaw: { root, legacyRoots: [] } } });
    harnesses.push(h);
    const r = await OpenClawSource.fromConfig(h.config).scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(1);
    const s = h.sessions.get(uid("s-1", "ops"))!;
    expect(s).toMatchObject({ kind: "group", state: "running", contextWindow: 64000, project: "/srv/ops", parseErrors: 1 });
    expect(s.extra).toMatchObject({ peer: "telegram:group:-42", channel: "telegram", chatType: "group" });
    expect(s.lastParseError).toMatch(/^seq 3: invalid JSON/);
  });

  it("an unreadable agent store is a source problem; the other agents are still read", async () => {
    const { root, h, source } = openclawHome(real);
    mkdirSync(join(root, "agents/broken/agent"), { recursive: true });
    const bad = join(root, "agents/broken/agent/openclaw-agent.sqlite");
    writeFileSync(bad, "not a database at all, just text");
    const r = await source.scan(h.ctx());
    expect(r.errors).toHaveLength(1);
    expect(r.sessionsUpdated).toBe(2);
    expect(listSourceProblems(h.kv)).toMatchObject([{ platform: "openclaw", path: bad }]);
    rmSync(bad);
    await source.scan(h.ctx());
    expect(listSourceProblems(h.kv)).toEqual([]);
  });

  it("finds an agent store kept elsewhere through the global store's agent_databases", async () => {
    const home = tempDir("asm-openclaw-");
    const root = join(home, ".openclaw");
    const far = join(home, "elsewhere", "ops.sqlite");
    smallStore(far);
    mkdirSync(join(root, "state"), { recursive: true });
    const g = new Database(join(root, "state", "openclaw.sqlite"));
    g.exec("CREATE TABLE agent_databases (agent_id TEXT PRIMARY KEY, path TEXT NOT NULL, schema_version INTEGER, last_seen_at INTEGER, size_bytes INTEGER)");
    g.prepare("INSERT INTO agent_databases (agent_id, path) VALUES ('ops', ?)").run(far);
    g.close();
    const h = sourceHarness(home, { sources: { openclaw: { root, legacyRoots: [] } } });
    harnesses.push(h);
    const source = OpenClawSource.fromConfig(h.config);
    await source.scan(h.ctx());
    expect(h.sessions.get(uid("s-1", "ops"))).toMatchObject({ kind: "group", path: far });
    expect((await source.scan(h.ctx())).filesRead).toBe(0);
  });
});

/** A store with the early 2026.8 table names (session_entries + sessions), one group session. */
function smallStore(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.exec(`
    CREATE TABLE sessions (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL, created_at INTEGER, updated_at INTEGER, chat_type TEXT, channel TEXT);
    CREATE TABLE session_entries (session_key TEXT PRIMARY KEY, session_id TEXT NOT NULL, entry_json TEXT NOT NULL, updated_at INTEGER NOT NULL, status TEXT);
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq));
  `);
  db.prepare("INSERT INTO sessions VALUES ('s-1', 'agent:ops:telegram:group:-42', 1, 2, 'group', 'telegram')").run();
  db.prepare("INSERT INTO session_entries VALUES ('agent:ops:telegram:group:-42', 's-1', ?, 2, 'running')").run(
    JSON.stringify({ sessionId: "s-1", updatedAt: 2, chatType: "group", channel: "telegram", contextTokens: 64000 }),
  );
  const ev = (seq: number, e: unknown) => db.prepare("INSERT INTO transcript_events VALUES ('s-1', ?, ?, 0)").run(seq, JSON.stringify(e));
  ev(0, { type: "session", version: 3, id: "s-1", timestamp: "2026-08-01T10:00:00Z", cwd: "/srv/ops" });
  ev(1, { type: "message", id: "e1", timestamp: "2026-08-01T10:00:01Z", message: { role: "user", content: "status?" } });
  ev(2, "not an object but valid JSON");
  db.prepare("INSERT INTO transcript_events VALUES ('s-1', 3, '{broken', 0)").run();
  db.close();
}

describe("OpenClaw JSON session store and JSONL transcripts (hand-made, 2026.7 layout)", () => {
  const era = join(fixtures, "openclaw/json-era/.openclaw");
  const sessionsDir = (root: string) => join(root, "agents/main/sessions");

  it("reads every entry: kinds, peers, context store-vs-transcript, windows, fallback fields, transcript problems", async () => {
    const { h, source } = openclawHome(era);
    const r = await source.scan(h.ctx());
    expect(r.errors).toEqual([]);

    const main = h.sessions.get(uid(ID(1)))!;
    expect(main).toMatchObject({
      kind: "main",
      sessionKey: "agent:main:main",
      contextTokens: 96500, // the store's figure: fresh and newer than the transcript's last usage
      contextWindow: 200000,
      model: "claude-opus-4-6",
      project: "/home/dev/clawd wörkspace",
      messageCount: 3,
      state: "idle",
    });
    expect(main.extra).toMatchObject({ peer: null, channel: "telegram", storage: "json", transcriptProblem: null, compactionCount: 2 });
    expect(h.turns(main.uid).map((t) => t.context_tokens)).toEqual([62010, 84912]);

    const group = h.sessions.get(uid(ID(2)))!;
    expect(group).toMatchObject({
      kind: "group",
      title: "Dev team — équipe 開発",
      contextTokens: 10000,
      contextWindow: 150000,
      model: "gpt-5.5",
      state: "idle",
    });
    expect(group.extra).toMatchObject({
      peer: "telegram:group:-100123",
      accountId: "bot1",
      modelOverride: "openai/gpt-5.5",
      modelOverrideSource: "auto",
      fallbackOriginModel: "anthropic/claude-opus-4-6",
      fallbackNoticeSelectedModel: "anthropic/claude-opus-4-6",
      fallbackNoticeActiveModel: "openai/gpt-5.5",
      fallbackNoticeReason: "rate_limit",
      lastAssistantModel: "gpt-5.5",
      lastErrorReason: "rate_limit",
      configuredModel: "anthropic/claude-opus-4-6",
    });

    expect(h.sessions.get(uid(ID(3)))).toMatchObject({ kind: "dm", present: true, state: "unknown", path: null });
    expect(h.sessions.get(uid(ID(3)))!.extra).toMatchObject({ transcriptProblem: "null-path", peer: "telegram:dm:4411", sessionFile: null });
    expect(h.sessions.get(uid(ID(4)))!.extra).toMatchObject({ transcriptProblem: "missing-file", peer: "discord:channel:777", sessionFile: "gone-away.jsonl" });

    const sub = h.sessions.get(uid(ID(5)))!;
    expect(sub).toMatchObject({ kind: "subagent", parentUid: uid(ID(1)), state: "running" });

    // A transcript sessions.json does not name (left behind by a reset): ended, its last error kept.
    const orphan = h.sessions.get(uid(ORPHAN))!;
    expect(orphan).toMatchObject({ kind: "session", sessionKey: null, state: "ended" });
    expect(orphan.extra.lastErrorReason).toBe("timeout");

    const again = await source.scan(h.ctx());
    expect(again.bytesRead).toBe(0);
    expect(again.filesRead).toBe(0);
  });

  it("appended lines are counted exactly once; a half-written line waits; a bad line is recorded", async () => {
    const { root, h, source } = openclawHome(era);
    await source.scan(h.ctx());
    const file = join(sessionsDir(root), `${ID(2)}.jsonl`);
    const next = JSON.stringify({
      type: "message",
      id: "b0000005",
      parentId: "b0000004",
      timestamp: "2026-09-02T07:42:00.000Z",
      message: {
        role: "assistant",
        provider: "openai",
        model: "gpt-5.5",
        stopReason: "stop",
        usage: { input: 500, output: 10, cacheRead: 12000, cacheWrite: 0 },
      },
    });
    appendFileSync(file, `{"type":"message","id":"b0000004x" oops\n${next.slice(0, 30)}`);
    const r1 = await source.scan(h.ctx());
    expect(r1.parseErrors).toBe(1);
    expect(h.turns(uid(ID(2)))).toHaveLength(1);
    appendFileSync(file, `${next.slice(30)}\n`);
    await source.scan(h.ctx());
    await source.scan(h.ctx());
    const s = h.sessions.get(uid(ID(2)))!;
    expect(h.turns(s.uid)).toHaveLength(2);
    expect(s).toMatchObject({ contextTokens: 12500, parseErrors: 1, outputTokens: 50 });
    expect(s.extra.parseErrorLine).toBe(6);
  });

  it("a sessions.json caught mid-write keeps the last good entries and is a source problem until it parses", async () => {
    const { root, h, source } = openclawHome(era);
    await source.scan(h.ctx());
    const store = join(sessionsDir(root), "sessions.json");
    const good = readFileSync(store, "utf8");
    writeFileSync(store, good.slice(0, good.length / 2));
    const r = await source.scan(h.ctx());
    expect(r.parseErrors).toBe(1);
    expect(h.sessions.get(uid(ID(1)))).toMatchObject({ contextTokens: 96500, present: true });
    const problems = listSourceProblems(h.kv);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ platform: "openclaw", path: store });
    expect(problems[0]!.problem).toMatch(/not valid JSON/);

    // Written whole again, with a newer figure and the dm entry now pointing at a real transcript.
    const doc = JSON.parse(good);
    doc["agent:main:main"].totalTokens = 120000;
    doc["agent:main:main"].updatedAt += 1000;
    delete doc["agent:main:discord:channel:777"];
    const tmp = join(sessionsDir(root), "sessions.json.tmp");
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, store);
    await source.scan(h.ctx());
    expect(listSourceProblems(h.kv)).toEqual([]);
    expect(h.sessions.get(uid(ID(1)))!.contextTokens).toBe(120000);
    expect(h.turns(uid(ID(1)))).toHaveLength(2);
    // An entry removed from the store with no transcript left: the session is gone.
    expect(h.sessions.get(uid(ID(4)))!.present).toBe(false);
  });

  it("a reset points the key at a new session: the old transcript's session has ended", async () => {
    const { root, h, source } = openclawHome(era);
    await source.scan(h.ctx());
    expect(h.sessions.get(uid(ID(1)))!.state).toBe("idle");
    const store = join(sessionsDir(root), "sessions.json");
    const doc = JSON.parse(readFileSync(store, "utf8"));
    doc["agent:main:main"] = { sessionId: "fresh-0001", updatedAt: Date.now(), sessionFile: "fresh-0001.jsonl" };
    writeFileSync(
      join(sessionsDir(root), "fresh-0001.jsonl"),
      `${JSON.stringify({ type: "session", version: 3, id: "fresh-0001", timestamp: new Date().toISOString(), cwd: "/w" })}\n`,
    );
    writeFileSync(store, JSON.stringify(doc));
    await source.scan(h.ctx());
    expect(h.sessions.get(uid(ID(1)))).toMatchObject({ state: "ended", present: true });
    expect(h.sessions.get(uid("fresh-0001"))).toMatchObject({ kind: "main", sessionKey: "agent:main:main", state: "unknown" });
  });

  it("a transcript truncated and rewritten is read again from the start; an absolute sessionFile works", async () => {
    const { root, h, source } = openclawHome(era);
    const store = join(sessionsDir(root), "sessions.json");
    const doc = JSON.parse(readFileSync(store, "utf8"));
    doc["agent:main:main"].sessionFile = join(sessionsDir(root), `${ID(1)}.jsonl`);
    writeFileSync(store, JSON.stringify(doc));
    await source.scan(h.ctx());
    expect(h.turns(uid(ID(1)))).toHaveLength(2);
    const file = join(sessionsDir(root), `${ID(1)}.jsonl`);
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, `${lines.slice(0, 4).join("\n")}\n`);
    await source.scan(h.ctx());
    expect(h.turns(uid(ID(1)))).toHaveLength(1);
    expect(h.sessions.get(uid(ID(1)))).toMatchObject({ messageCount: 2, state: "running" });
  });

  it("honours OpenClaw's own OPENCLAW_STATE_DIR and OPENCLAW_CONFIG_PATH", async () => {
    const home = tempDir("asm-openclaw-");
    const state = join(home, "custom-state");
    cpSync(era, state, { recursive: true });
    const cfg = join(home, "elsewhere.json");
    writeFileSync(cfg, `{ agents: { defaults: { model: "google/gemini-2.5-pro", contextTokens: 90000 } } }`);
    const h = sourceHarness(home, { sources: { openclaw: { root: join(home, ".openclaw"), legacyRoots: [] } } });
    harnesses.push(h);
    const source = OpenClawSource.fromConfig(h.config, { OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: cfg });
    expect(source.roots()).toEqual([state, join(home, ".openclaw")]);
    const r = await source.scan(h.ctx());
    expect(r.missingRoots).toEqual([join(home, ".openclaw")]);
    const group = h.sessions.get(uid(ID(2)))!;
    expect(group).toMatchObject({ contextWindow: 90000 });
    expect(group.extra.configuredModel).toBe("google/gemini-2.5-pro");
  });

  it("a broken openclaw.json is recorded as a source problem and the scan goes on", async () => {
    const { root, h, source } = openclawHome(era);
    writeFileSync(join(root, "openclaw.json"), "{ agents: { ");
    const r = await source.scan(h.ctx());
    expect(r.errors).toHaveLength(1);
    expect(listSourceProblems(h.kv).map((p) => p.path)).toEqual([join(root, "openclaw.json")]);
    // Without openclaw.json the window comes from the config table (gpt-5.5).
    expect(h.sessions.get(uid(ID(2)))!.contextWindow).toBe(h.config.models.contextWindows["gpt-5.5"]);
  });
});
