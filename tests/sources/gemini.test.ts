import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyGeminiRecord, emptyGeminiState, summarizeGemini } from "../../src/agents/gemini/chat-state.ts";
import { type SessionRecord, sessionUid } from "../../src/agents/session.ts";
import { GeminiSource, lightRecord } from "../../src/sources/gemini.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

const fixtures = join(import.meta.dirname, "../fixtures");
// A frozen copy of chat files Gemini CLI 0.61.0 wrote, so the figures below stay exact.
const frozen = join(fixtures, "gemini/cli-0.61.0");
const SID_TOOL = "5e85a54b-d1a1-4450-90dd-40dc718f374b";
const SID_BIG = "db7ee6c1-3fcc-4efc-a419-0cdf0fcb09ff";
const SID_FAIL = "52f49e23-25a9-456d-b05b-6f53c646be84";
const uid = (id: string) => sessionUid("gemini", null, id);

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

/** A temp ~/.gemini with one project folder; returns its chats dir. */
function geminiHome(project = "demo-app", projectRoot = "/home/dev/demo-app") {
  const home = tempDir("asm-gemini-");
  const root = join(home, ".gemini");
  const chats = join(root, "tmp", project, "chats");
  mkdirSync(chats, { recursive: true });
  writeFileSync(join(root, "tmp", project, ".project_root"), projectRoot);
  const h = sourceHarness(home, { sources: { gemini: { root } } });
  harnesses.push(h);
  return { home, root, chats, h, source: new GeminiSource(root) };
}

const strip = (r: SessionRecord | undefined) => (r ? { ...r, scannedAt: 0, path: r.path?.split("/.gemini/")[1] } : r);
const lines = (path: string) => readFileSync(path, "utf8").split(/(?<=\n)/);

describe("Gemini CLI chat files (written by Gemini CLI 0.61.0)", () => {
  it("reads each chat: project, model, context against the 1M window, counts, turns once per message", async () => {
    const { chats, h, source } = geminiHome();
    cpSync(frozen, chats, { recursive: true });
    const r = await source.scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.sessionsUpdated).toBe(3);
    expect(r.parseErrors).toBe(0);

    const big = h.sessions.get(uid(SID_BIG))!;
    expect(big).toMatchObject({
      platform: "gemini",
      kind: "session",
      project: "/home/dev/demo-app",
      model: "gemini-2.5-pro",
      contextTokens: 25910,
      contextWindow: 1_048_576,
      state: "idle",
      present: true,
    });
    expect(big.path).toBe(join(chats, "session-2026-11-23T19-45-db7ee6c1.jsonl"));
    expect(h.turns(uid(SID_BIG)).map((t) => t.context_tokens)).toEqual([25807, 175861, 25910]);

    const tool = h.sessions.get(uid(SID_TOOL))!;
    expect(tool.contextTokens).toBe(27859);
    // "gemini-3.8-flash": the family default of the config table, as Gemini CLI's own tokenLimit().
    expect(tool.contextWindow).toBe(1_048_576);
    expect(h.turns(uid(SID_TOOL))).toHaveLength(3);
    expect(tool.inputTokens + tool.cacheReadTokens).toBe(27690 + 27742 + 27859);

    const fail = h.sessions.get(uid(SID_FAIL))!;
    expect(fail.contextTokens).toBeNull();
    // The rate-limited request was rolled back by a checkpoint: not running, and the file does not say more.
    expect(fail.state).toBe("unknown");
    expect(h.turns(uid(SID_FAIL))).toHaveLength(0);

    const again = await source.scan(h.ctx());
    expect(again.filesRead).toBe(0);
    expect(again.bytesRead).toBe(0);
  });

  it("reads whatever the fixture generator wrote last (tests/fixtures/real/gemini)", async () => {
    const home = tempDir("asm-gemini-real-");
    cpSync(join(fixtures, "real/gemini/.gemini"), join(home, ".gemini"), { recursive: true });
    const h = sourceHarness(home, { sources: { gemini: { root: join(home, ".gemini") } } });
    harnesses.push(h);
    const r = await new GeminiSource(join(home, ".gemini")).scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(0);
    const rows = h.sessions.list({ platform: "gemini" });
    expect(rows.length).toBeGreaterThan(0);
    const registry = JSON.parse(readFileSync(join(home, ".gemini/projects.json"), "utf8")) as { projects: Record<string, string> };
    for (const s of rows) {
      expect(Object.keys(registry.projects)).toContain(s.project);
      // Every row with a context has its turn rows, and the last turn is the context.
      const turns = h.turns(s.uid);
      if (s.contextTokens !== null) expect(turns.at(-1)?.context_tokens).toBe(s.contextTokens);
      expect(s.contextWindow).toBeGreaterThan(0);
    }
  });

  it("appending between cycles gives exactly what one read of the whole file gives", async () => {
    const src = join(frozen, "session-2026-11-23T19-45-db7ee6c1.jsonl");
    const all = lines(src);
    const whole = geminiHome();
    cpSync(src, join(whole.chats, "session-x.jsonl"));
    await whole.source.scan(whole.h.ctx());
    const want = strip(whole.h.sessions.get(uid(SID_BIG)));

    for (const cut of [1, 5, 13, 20, all.length - 1]) {
      const inc = geminiHome();
      const file = join(inc.chats, "session-x.jsonl");
      writeFileSync(file, all.slice(0, cut).join(""));
      await inc.source.scan(inc.h.ctx());
      appendFileSync(file, all.slice(cut).join(""));
      const r = await inc.source.scan(inc.h.ctx());
      expect(r.bytesRead).toBe(Buffer.byteLength(all.slice(cut).join("")));
      expect(strip(inc.h.sessions.get(uid(SID_BIG)))).toEqual(want);
      expect(inc.h.turns(uid(SID_BIG))).toEqual(whole.h.turns(uid(SID_BIG)));
    }
  });

  it("a half-written last line waits; an invalid line is counted and skipped", async () => {
    const { chats, h, source } = geminiHome();
    const file = join(chats, "session-2026-08-20T10-00-7c2a91e0.jsonl");
    const header = {
      sessionId: "7c2a91e0-uni",
      projectHash: "h",
      startTime: "2026-08-20T10:00:00.000Z",
      lastUpdated: "2026-08-20T10:00:00.000Z",
      kind: "main",
    };
    const answer = JSON.stringify({
      id: "m-42",
      timestamp: "2026-08-20T10:03:11.000Z",
      type: "gemini",
      model: "gemini-2.5-pro",
      content: [{ text: "Fixed ✓ 日本語" }],
      tokens: { input: 58210, output: 340, cached: 41000, thoughts: 120, tool: 0, total: 58670 },
    });
    writeFileSync(
      file,
      `${JSON.stringify(header)}\n{"id":"u1","timestamp":"2026-08-20T10:01:00.000Z","type":"user","content":"héllo"}\n${answer.slice(0, 40)}`,
    );
    await source.scan(h.ctx());
    let s = h.sessions.get(uid("7c2a91e0-uni"))!;
    expect(s).toMatchObject({ state: "running", contextTokens: null, messageCount: 1 });

    appendFileSync(file, `${answer.slice(40)}\n{"id":"broken", "type":\n{"$set":{"lastUpdated":"2026-08-20T10:03:12.000Z"}}\n`);
    const r = await source.scan(h.ctx());
    expect(r.parseErrors).toBe(1);
    s = h.sessions.get(uid("7c2a91e0-uni"))!;
    expect(s).toMatchObject({ state: "idle", contextTokens: 58210, messageCount: 2, parseErrors: 1 });
    expect(s.lastParseError).toMatch(/^line 4: invalid JSON/);
    expect(s.extra.parseErrorLine).toBe(4);
    expect(s.lastActivity).toBe(Date.parse("2026-08-20T10:03:12.000Z"));
    expect(h.turns(s.uid)).toHaveLength(1);

    // A rewind appended later drops the answer from the history; context follows.
    appendFileSync(file, `${JSON.stringify({ $rewindTo: "m-42" })}\n`);
    await source.scan(h.ctx());
    s = h.sessions.get(uid("7c2a91e0-uni"))!;
    // The user message left last by a rewind is not a request in flight.
    expect(s).toMatchObject({ contextTokens: null, messageCount: 1, state: "unknown" });
  });

  it("a file replaced by rename is read again and its row corrected, not duplicated", async () => {
    const { chats, h, source } = geminiHome();
    const file = join(chats, "session-2026-11-23T19-45-db7ee6c1.jsonl");
    cpSync(join(frozen, "session-2026-11-23T19-45-db7ee6c1.jsonl"), file);
    await source.scan(h.ctx());
    expect(h.turns(uid(SID_BIG))).toHaveLength(3);
    const first5 = lines(file).slice(0, 6).join("");
    writeFileSync(join(chats, "tmp-write"), first5);
    renameSync(join(chats, "tmp-write"), file);
    await source.scan(h.ctx());
    expect(h.turns(uid(SID_BIG))).toHaveLength(1);
    expect(h.sessions.get(uid(SID_BIG))).toMatchObject({ contextTokens: 25807, messageCount: 3 });
    expect(h.sessions.count({ platform: "gemini", includeGone: true })).toBe(1);
  });

  it("subagent chats link to their parent; a 0-byte file and unicode folders are fine", async () => {
    const { root, h, source } = geminiHome("prøject-日本", "/home/dev/prøject 日本");
    const chats = join(root, "tmp", "prøject-日本", "chats");
    const parent = "11111111-aaaa-bbbb-cccc-000000000000";
    mkdirSync(join(chats, parent));
    writeFileSync(join(chats, "session-2026-08-20T10-00-22222222.jsonl"), "");
    writeFileSync(
      join(chats, parent, "33333333-sub.jsonl"),
      `${JSON.stringify({ sessionId: "33333333-sub", projectHash: "h", startTime: "2026-08-20T10:00:00.000Z", lastUpdated: "2026-08-20T10:00:00.000Z", kind: "subagent" })}\n` +
        `${JSON.stringify({ id: "g1", timestamp: "2026-08-20T10:00:05.000Z", type: "gemini", model: "gemini-2.5-flash", content: "ok", tokens: { input: 1000, output: 5, cached: 0, thoughts: 0, tool: 0, total: 1005 } })}\n`,
    );
    const r = await source.scan(h.ctx());
    expect(r.errors).toEqual([]);
    // The empty file waits for its header, then is read under its real session id.
    const empty = join(chats, "session-2026-08-20T10-00-22222222.jsonl");
    writeFileSync(
      empty,
      `${JSON.stringify({ sessionId: "22222222-full-id", projectHash: "h", startTime: "2026-08-20T10:00:00.000Z", lastUpdated: "2026-08-20T10:00:00.000Z", kind: "main" })}\n`,
    );
    await source.scan(h.ctx());
    expect(h.sessions.get(uid("22222222-full-id"))).toMatchObject({ path: empty, state: "unknown" });
    rmSync(empty);
    await source.scan(h.ctx());
    const sub = h.sessions.get(uid("33333333-sub"))!;
    expect(sub).toMatchObject({ kind: "subagent", parentUid: uid(parent), project: "/home/dev/prøject 日本", contextTokens: 1000 });
    expect(h.sessions.count({ platform: "gemini" })).toBe(1);
  });

  it("legacy .json chats: read when changed, last good state kept mid-write, the .jsonl wins for the same session", async () => {
    const { chats, h, source } = geminiHome();
    const doc = {
      sessionId: "legacy-1",
      projectHash: "abc",
      startTime: "2026-03-01T09:00:00.000Z",
      lastUpdated: "2026-03-01T09:05:00.000Z",
      messages: [
        { id: "u1", timestamp: "2026-03-01T09:00:01.000Z", type: "user", content: "hi" },
        {
          id: "g1",
          timestamp: "2026-03-01T09:00:09.000Z",
          type: "gemini",
          model: "gemini-2.5-pro",
          content: "yo",
          tokens: { input: 7000, output: 10, cached: 0, thoughts: 0, tool: 0, total: 7010 },
        },
      ],
    };
    const file = join(chats, "session-2026-03-01T09-00-legacy1.json");
    writeFileSync(file, JSON.stringify(doc, null, 2));
    await source.scan(h.ctx());
    expect(h.sessions.get(uid("legacy-1"))).toMatchObject({ contextTokens: 7000, messageCount: 2, state: "idle" });
    expect((await source.scan(h.ctx())).filesRead).toBe(0);

    writeFileSync(file, JSON.stringify(doc).slice(0, 100));
    const bad = await source.scan(h.ctx());
    expect(bad.parseErrors).toBe(1);
    expect(h.sessions.get(uid("legacy-1"))).toMatchObject({ contextTokens: 7000, parseErrors: 1 });

    // Resumed by a newer CLI: a full .jsonl sibling with more history.
    const jsonl = join(chats, "session-2026-03-01T09-00-legacy1.jsonl");
    const more = {
      id: "g2",
      timestamp: "2026-03-02T09:00:09.000Z",
      type: "gemini",
      model: "gemini-2.5-pro",
      content: "again",
      tokens: { input: 9000, output: 10, cached: 0, thoughts: 0, tool: 0, total: 9010 },
    };
    writeFileSync(jsonl, [{ ...doc, messages: undefined }, { $set: { messages: doc.messages } }, more].map((x) => JSON.stringify(x)).join("\n") + "\n");
    writeFileSync(file, JSON.stringify(doc));
    await source.scan(h.ctx());
    const s = h.sessions.get(uid("legacy-1"))!;
    expect(s).toMatchObject({ contextTokens: 9000, path: jsonl, messageCount: 3 });
    expect(h.turns(s.uid)).toHaveLength(2);
  });

  it("a 5 MB checkpoint line (a long history written whole) is read like any other", async () => {
    const { chats, h, source } = geminiHome();
    const header = { sessionId: "huge-1", projectHash: "h", startTime: "2026-08-20T10:00:00.000Z", lastUpdated: "2026-08-20T10:00:00.000Z", kind: "main" };
    const text = "ü日本語 tool output ".repeat((5 * 1024 * 1024) / 24);
    const history = [
      { id: "u1", timestamp: "2026-08-20T10:00:01.000Z", type: "user", content: [{ text }] },
      {
        id: "g1",
        timestamp: "2026-08-20T10:00:02.000Z",
        type: "gemini",
        model: "gemini-2.5-pro",
        content: "ok",
        tokens: { input: 900000, output: 5, cached: 0, thoughts: 0, tool: 0, total: 900005 },
      },
    ];
    const file = join(chats, "session-2026-08-20T10-00-huge0001.jsonl");
    writeFileSync(file, `${JSON.stringify(header)}\n${JSON.stringify({ $set: { messages: history } })}\n`);
    const r = await source.scan(h.ctx());
    expect(r.bytesRead).toBeGreaterThan(5_000_000);
    expect(h.sessions.get(uid("huge-1"))).toMatchObject({ contextTokens: 900000, messageCount: 2, state: "idle" });
    expect(h.sessions.get(uid("huge-1"))!.contextPercent).toBeCloseTo((900000 / 1_048_576) * 100, 5);
  });

  it("long message lines read from their bytes give the same state as a full parse", () => {
    const big = "思考 output ".repeat(400);
    const recs = [
      {
        id: "g1",
        timestamp: "2026-08-20T10:00:02.000Z",
        type: "gemini",
        model: "gemini-2.5-pro",
        content: big,
        thoughts: [{ subject: "s", description: big }],
        tokens: { input: 9000, output: 5, cached: 100, thoughts: 3, tool: 0, total: 9005 },
      },
      {
        id: "g1",
        timestamp: "2026-08-20T10:00:02.000Z",
        type: "gemini",
        model: "gemini-2.5-pro",
        content: "x",
        tokens: { input: 9000, output: 5, cached: 100, thoughts: 3, tool: 0, total: 9005 },
        toolCalls: [
          { id: "c1", name: "run_shell_command", args: { command: "ls" }, status: "awaiting_approval", result: big },
          { id: "c2", status: "success", result: [{ functionResponse: { response: { output: big } } }] },
        ],
      },
      { id: "u2", timestamp: "2026-08-20T10:00:03.000Z", type: "user", content: [{ text: `quote " and \\ ${big}` }] },
    ];
    const viaParse = emptyGeminiState();
    const viaBytes = emptyGeminiState();
    for (const r of recs) {
      const line = Buffer.from(JSON.stringify(r));
      const light = lightRecord(line);
      expect(light).not.toBeNull();
      expect(applyGeminiRecord(viaBytes, light)).toEqual(applyGeminiRecord(viaParse, JSON.parse(line.toString())));
      expect(viaBytes).toEqual(viaParse);
    }
    expect(summarizeGemini(viaBytes).state).toBe("running");
    // Headers, checkpoints, rewinds and lines cut short are left to the full parse.
    expect(lightRecord(Buffer.from(JSON.stringify({ $set: { messages: [] }, pad: big })))).toBeNull();
    expect(lightRecord(Buffer.from(JSON.stringify({ sessionId: "s", pad: big })))).toBeNull();
    expect(lightRecord(Buffer.from(JSON.stringify(recs[0]).slice(0, 3000)))).toBeNull();
  });

  it("reports a missing root once, as information", async () => {
    const home = tempDir("asm-gemini-");
    const h = sourceHarness(home);
    harnesses.push(h);
    const r = await new GeminiSource(join(home, "none")).scan(h.ctx());
    expect(r.missingRoots).toEqual([join(home, "none")]);
    expect(readdirSync(home)).toContain("asm.db");
  });
});
