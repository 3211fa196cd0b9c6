import { cpSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sessionUid } from "../../src/agents/session.ts";
import { OpencodeSource } from "../../src/sources/opencode.ts";
import { listSourceProblems } from "../../src/store/problems.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
// What OpenCode 1.18.33 wrote when run by tests/fixtures/generate (a plain prompt, a tool call, a big
// context that made it compact, one more turn; then a second session whose request failed with HTTP 500).
const real = join(fixtures, "real/opencode");
let S1 = "";
let S2 = "";
const uid = (id: string) => sessionUid("opencode", null, id);

let h: SourceHarness | undefined;
afterEach(() => {
  h?.close();
  h = undefined;
});

/** A temp HOME holding a copy of the store written by OpenCode 1.18.33 and its config. */
/** What the store says about a session, read with plain SQL and JSON.parse: the oracle for the source. */
function oracle(root: string, id: string) {
  const db = new Database(join(root, "opencode.db"), { readonly: true });
  const msgs = (db.prepare("SELECT data FROM message WHERE session_id = ? ORDER BY time_created").pluck().all(id) as string[]).map(
    (d) => JSON.parse(d) as { role: string; summary?: unknown; tokens?: { input: number; output: number; cache: { read: number; write: number } } },
  );
  db.close();
  const answers = msgs.filter((m) => m.role === "assistant" && m.tokens && m.tokens.input + m.tokens.output > 0);
  const last = answers.filter((m) => m.summary !== true).at(-1)!.tokens!;
  return {
    messages: msgs.length,
    turns: answers.length,
    compactions: msgs.filter((m) => m.summary === true).length,
    context: last.input + last.cache.read + last.cache.write,
    cacheRead: answers.reduce((n, m) => n + m.tokens!.cache.read, 0),
  };
}

function realHome() {
  const home = tempDir("asm-opencode-");
  cpSync(join(real, ".local"), join(home, ".local"), { recursive: true });
  cpSync(join(real, ".config"), join(home, ".config"), { recursive: true });
  const root = join(home, ".local/share/opencode");
  const db = new Database(join(root, "opencode.db"), { readonly: true });
  S1 = (db.prepare("SELECT id FROM session WHERE title = 'Fixture session title'").pluck().get() as string) ?? "";
  S2 = (db.prepare("SELECT id FROM session WHERE id != ?").pluck().get(S1) as string) ?? "";
  db.close();
  h = sourceHarness(home, { sources: { opencode: { root } } });
  const source = OpencodeSource.fromConfig(h.config, { HOME: home });
  return { home, root, source, harness: h };
}

describe("OpenCode SQLite store (written by OpenCode 1.18.33)", () => {
  it("reads every session with context, window from opencode.json, compaction and error state", async () => {
    const { root, source, harness } = realHome();
    const r = await source.scan(harness.ctx());
    expect(r.errors).toEqual([]);
    expect(r.sessionsUpdated).toBe(2);
    const o = oracle(root, S1);
    const s1 = harness.sessions.get(uid(S1))!;
    expect(s1).toMatchObject({
      platform: "opencode",
      agentId: null,
      kind: "session",
      title: "Fixture session title",
      project: "/tmp/asmfx/opencode/home/work/demo-app",
      model: "fake-coder-1",
      path: join(root, "opencode.db"),
      messageCount: o.messages,
      // the last assistant turn (after the compaction summary): input + cache read + cache write
      contextTokens: o.context,
      contextWindow: 200000,
      state: "idle",
      present: true,
    });
    expect(s1.contextPercent).toBeCloseTo((o.context / 200000) * 100, 5);
    expect(o.compactions).toBe(1);
    expect(s1.extra).toMatchObject({ storage: "sqlite", compactions: 1, provider: "fakeai" });
    expect(s1.cacheReadTokens).toBe(o.cacheRead);
    expect(harness.turns(uid(S1))).toHaveLength(o.turns);
    expect(s1.sizeBytes).toBeGreaterThan(0);

    const s2 = harness.sessions.get(uid(S2))!;
    expect(s2.state).toBe("errored");
    expect(s2.contextTokens).toBeNull();
    expect(s2.extra).toMatchObject({ lastErrorReason: "server_error" });
    expect(String(s2.extra.lastError)).toContain("HTTP 500");
    expect(harness.turns(uid(S2))).toHaveLength(0);
  });

  it("a repeat cycle with no change opens nothing; new rows are picked up incrementally", async () => {
    const { root, source, harness } = realHome();
    await source.scan(harness.ctx());
    const again = await source.scan(harness.ctx());
    expect(again.filesRead).toBe(0);
    expect(again.sessionsUpdated).toBe(0);

    // OpenCode answers again in session 2, and spawns a subagent session.
    const db = new Database(join(root, "opencode.db"));
    const t = 1900000000000; // after everything in the store
    const data = {
      role: "assistant",
      time: { created: t, completed: t + 500 },
      modelID: "fake-coder-1",
      providerID: "fakeai",
      tokens: { input: 1000, output: 20, reasoning: 0, cache: { read: 9000, write: 500 } },
      finish: "stop",
    };
    db.prepare("INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?)").run(
      "msg_zzzz",
      S2,
      t,
      t + 500,
      JSON.stringify(data),
    );
    db.prepare(
      `INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)
       VALUES ('ses_child', 'global', ?, 'child', '/w', 'Subagent ü', '1.18.33', ?, ?)`,
    ).run(S2, t, t);
    db.close();

    const r = await source.scan(harness.ctx());
    expect(r.filesRead).toBe(1);
    // Only the changed sessions are rewritten; session 1 is untouched.
    expect(r.sessionsUpdated).toBe(2);
    const s2 = harness.sessions.get(uid(S2))!;
    expect(s2).toMatchObject({ state: "idle", contextTokens: 10500, messageCount: 3 });
    expect(harness.turns(uid(S2))).toHaveLength(1);
    expect(harness.sessions.get(uid("ses_child"))).toMatchObject({ kind: "subagent", parentUid: uid(S2), title: "Subagent ü" });
    expect(harness.turns(uid(S1))).toHaveLength(oracle(root, S1).turns);
  });

  it("a message row that is not JSON is counted on its session and skipped", async () => {
    const { root, source, harness } = realHome();
    await source.scan(harness.ctx());
    const db = new Database(join(root, "opencode.db"));
    db.prepare("INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES ('msg_bad', ?, ?, ?, '{\"role\":\"assis')").run(
      S2,
      1900000000000,
      1900000000000,
    );
    db.close();
    const r = await source.scan(harness.ctx());
    expect(r.parseErrors).toBe(1);
    const s2 = harness.sessions.get(uid(S2))!;
    expect(s2).toMatchObject({ parseErrors: 1, state: "errored", messageCount: 2 });
    expect(s2.lastParseError).toMatch(/^message msg_bad: invalid JSON/);
  });

  it("a deleted session and a vanished store mark their sessions gone", async () => {
    const { root, source, harness } = realHome();
    await source.scan(harness.ctx());
    const db = new Database(join(root, "opencode.db"));
    db.pragma("foreign_keys = ON");
    db.prepare("DELETE FROM session WHERE id = ?").run(S2);
    db.close();
    await source.scan(harness.ctx());
    expect(harness.sessions.get(uid(S2))!.present).toBe(false);
    expect(harness.sessions.get(uid(S1))!.present).toBe(true);

    rmSync(join(root, "opencode.db"));
    await source.scan(harness.ctx());
    expect(harness.sessions.get(uid(S1))!.present).toBe(false);
  });

  it("reports a missing root and a file that is not a database without throwing", async () => {
    const home = tempDir("asm-opencode-");
    h = sourceHarness(home, { sources: { opencode: { root: join(home, "nope") } } });
    const missing = await OpencodeSource.fromConfig(h.config, { HOME: home }).scan(h.ctx());
    expect(missing.missingRoots).toEqual([join(home, "nope")]);

    const root = join(home, "oc");
    mkdirSync(root);
    writeFileSync(join(root, "opencode.db"), "this is not sqlite");
    const source = new OpencodeSource(root, join(home, "cfg"));
    const r = await source.scan(h.ctx());
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain("opencode.db");
    expect(listSourceProblems(h.kv).map((p) => p.path)).toEqual([join(root, "opencode.db")]);
    // Once it reads again (here: replaced by a real store), the problem is cleared.
    cpSync(join(real, ".local/share/opencode/opencode.db"), join(root, "opencode.db"));
    expect((await source.scan(h.ctx())).errors).toEqual([]);
    expect(listSourceProblems(h.kv)).toEqual([]);
  });
});

describe("OpenCode JSON storage (before 1.2)", () => {
  function jsonHome() {
    const home = tempDir("asm-opencode-json-");
    const root = join(home, "share", "opencode");
    cpSync(join(fixtures, "opencode/json-era"), root, { recursive: true });
    h = sourceHarness(home);
    return { root, source: new OpencodeSource(root, join(home, "no-config")), harness: h };
  }

  it("reads sessions and messages; a subagent links to its parent; unicode survives", async () => {
    const { source, harness } = jsonHome();
    const r = await source.scan(harness.ctx());
    expect(r.errors).toEqual([]);
    expect(r.sessionsUpdated).toBe(2);
    const s1 = harness.sessions.get(uid("ses_json1"))!;
    expect(s1).toMatchObject({
      kind: "session",
      title: "Refactor the parser ✨",
      project: "/home/dev/prøject 日本",
      model: "claude-sonnet-4-6",
      messageCount: 4,
      contextTokens: 1800 + 40100 + 600,
      contextWindow: 200000,
      // the last assistant message has no completion time yet: a turn is in progress
      state: "running",
    });
    expect(s1.extra.storage).toBe("json");
    const s2 = harness.sessions.get(uid("ses_json2"))!;
    expect(s2).toMatchObject({ kind: "subagent", parentUid: uid("ses_json1"), state: "errored" });
    expect(s2.extra.lastErrorReason).toBe("rate_limit");
  });

  it("repeat cycles only stat; a changed message is re-read; a half-written one keeps the last good state", async () => {
    const { root, source, harness } = jsonHome();
    await source.scan(harness.ctx());
    const again = await source.scan(harness.ctx());
    expect(again.filesRead).toBe(0);
    expect(again.bytesRead).toBe(0);

    const file = join(root, "storage/message/ses_json1/msg_004.json");
    const done = {
      id: "msg_004",
      sessionID: "ses_json1",
      role: "assistant",
      time: { created: 1788400021000, completed: 1788400029000 },
      modelID: "claude-sonnet-4-6",
      providerID: "anthropic",
      tokens: { input: 2000, output: 100, reasoning: 0, cache: { read: 50000, write: 0 } },
      finish: "stop",
    };
    writeFileSync(file, JSON.stringify(done));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const r = await source.scan(harness.ctx());
    expect(r.filesRead).toBe(1);
    expect(harness.sessions.get(uid("ses_json1"))).toMatchObject({ state: "idle", contextTokens: 52000 });

    // Caught mid-write: the figures stay, the problem is recorded, and the next cycle tries again.
    writeFileSync(file, '{"id":"msg_004","role":"assis');
    utimesSync(file, new Date(), new Date(Date.now() + 10000));
    const bad = await source.scan(harness.ctx());
    expect(bad.parseErrors).toBe(1);
    const kept = harness.sessions.get(uid("ses_json1"))!;
    expect(kept).toMatchObject({ state: "idle", contextTokens: 52000, parseErrors: 1 });
    expect(kept.lastParseError).toContain("msg_004.json");

    writeFileSync(file, JSON.stringify({ ...done, tokens: { ...done.tokens, input: 3000 } }));
    const fixed = await source.scan(harness.ctx());
    expect(fixed.parseErrors).toBe(0);
    expect(harness.sessions.get(uid("ses_json1"))).toMatchObject({ contextTokens: 53000, parseErrors: 0 });
  });

  it("a removed session file marks the session gone", async () => {
    const { root, source, harness } = jsonHome();
    await source.scan(harness.ctx());
    rmSync(join(root, "storage/session/proj-ü/ses_json2.json"));
    await source.scan(harness.ctx());
    expect(harness.sessions.get(uid("ses_json2"))!.present).toBe(false);
    expect(harness.sessions.get(uid("ses_json1"))!.present).toBe(true);
  });
});
