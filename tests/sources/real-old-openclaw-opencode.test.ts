import { cpSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sessionUid } from "../../src/agents/session.ts";
import { OpenClawSource } from "../../src/sources/openclaw.ts";
import { OpencodeSource } from "../../src/sources/opencode.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

// Files written by OLDER real releases that still keep sessions in JSON files, run offline by
// tests/fixtures/generate/generate-old-openclaw-opencode.sh (see real-old/README-openclaw-opencode.md).
// Every expected value below is worked out from the files with JSON.parse, not with our readers.
const realOld = join(import.meta.dirname, "../fixtures/real-old");

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const readJsonl = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
const iso = (s: string) => Date.parse(s);

/** An OpenCode tree (its .local and .config) copied into a fresh HOME, with a source reading it. */
function scanOpencodeHome(tree: string, prefix: string) {
  const home = tempDir(prefix);
  cpSync(join(tree, ".local"), join(home, ".local"), { recursive: true });
  cpSync(join(tree, ".config"), join(home, ".config"), { recursive: true });
  const root = join(home, ".local/share/opencode");
  const h = sourceHarness(home, { sources: { opencode: { root } } });
  harnesses.push(h);
  return { h, source: OpencodeSource.fromConfig(h.config, { HOME: home }), root };
}

/** The first cycle reads exactly these two sessions, cleanly; a second cycle over the same files reads nothing. */
async function expectTwoSessionsReadOnce(home: ReturnType<typeof scanOpencodeHome>, uids: string[]) {
  const { h, source } = home;
  const r = await source.scan(h.ctx());
  expect(r.errors).toEqual([]);
  expect(r.parseErrors).toBe(0);
  expect(r.sessionsUpdated).toBe(2);
  expect(h.db.prepare("SELECT uid FROM sessions WHERE platform = 'opencode' ORDER BY uid").pluck().all()).toEqual([...uids].sort());
  expect(await source.scan(h.ctx())).toMatchObject({ filesRead: 0, sessionsUpdated: 0 });
}

describe("OpenClaw 2026.7.1 (sessions.json + <id>.jsonl, written by the real CLI)", () => {
  const tree = join(realOld, "openclaw-2026.7.1/.openclaw");
  const sessionsDir = join(tree, "agents/main/sessions");
  const store = readJson(join(sessionsDir, "sessions.json")) as Record<string, Record<string, unknown>>;
  const uid = (id: string) => sessionUid("openclaw", "main", id);

  /** What one transcript says, read line by line with JSON.parse. */
  function transcript(sessionId: string) {
    const lines = readJsonl(join(sessionsDir, `${sessionId}.jsonl`));
    const messages = lines.filter((l) => l.type === "message");
    const answers = messages.filter((l) => l.message.role === "assistant");
    const withUsage = answers.filter((l) => l.message.usage.totalTokens > 0);
    return {
      header: lines[0],
      // user and assistant messages; tool results are part of the assistant's turn
      messageCount: messages.filter((l) => l.message.role === "user" || l.message.role === "assistant").length,
      withUsage: withUsage.map((l) => l.message.usage),
      lastAnswer: answers.at(-1).message,
      compactions: lines.filter((l) => l.type === "compaction").length,
      // activity = the session header, messages and compactions (bookkeeping `custom` lines are not activity)
      lastEventMs: Math.max(...lines.filter((l) => ["session", "message", "compaction"].includes(l.type)).map((l) => iso(l.timestamp))),
    };
  }

  function scanHome() {
    const home = tempDir("asm-real-old-openclaw-");
    const root = join(home, ".openclaw");
    cpSync(tree, root, { recursive: true });
    const h = sourceHarness(home, { sources: { openclaw: { root, legacyRoots: [] } } });
    harnesses.push(h);
    return { h, root, source: OpenClawSource.fromConfig(h.config) };
  }

  it("reads the two sessions the store names, and nothing else in the folder", async () => {
    const { h, source } = scanHome();
    const r = await source.scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(0);
    // The folder also holds <id>.trajectory.jsonl run traces and <id>.trajectory-path.json pointers.
    expect(readdirSync(sessionsDir).filter((n) => n.endsWith(".trajectory.jsonl"))).toHaveLength(2);
    const ids = Object.values(store).map((e) => e.sessionId as string);
    expect(ids).toHaveLength(2);
    const rows = h.db.prepare("SELECT uid FROM sessions WHERE platform = 'openclaw' ORDER BY uid").pluck().all();
    expect(rows).toEqual(ids.map(uid).sort());
  });

  it("the main session: key, kind, model, cwd, context the way OpenClaw counts it, tokens, times", async () => {
    const { h, root, source } = scanHome();
    await source.scan(h.ctx());
    const entry = store["agent:main:main"]!;
    const sid = entry.sessionId as string;
    const t = transcript(sid);
    const last = t.withUsage.at(-1);
    // OpenClaw's own figure and the last answer's usage agree: input excludes the cache reads.
    expect(entry.totalTokens).toBe(last.input + last.cacheRead + last.cacheWrite);
    expect(entry.totalTokens).toBe(40138);
    // sessionFile is an absolute path into the throwaway HOME that wrote it, not into our copy:
    // the transcript beside the store is the one to read (the state dir was moved).
    expect(entry.sessionFile).toBe(`/tmp/asmfx-old/openclaw/home/.openclaw/agents/main/sessions/${sid}.jsonl`);

    const s = h.sessions.get(uid(sid))!;
    expect(s).toMatchObject({
      platform: "openclaw",
      agentId: "main",
      sessionId: sid,
      sessionKey: "agent:main:main",
      kind: "main",
      path: join(root, "agents/main/sessions", `${sid}.jsonl`),
      model: entry.model,
      project: t.header.cwd,
      contextTokens: entry.totalTokens,
      contextWindow: entry.contextTokens,
      messageCount: t.messageCount,
      firstActivity: entry.sessionStartedAt,
      lastActivity: Math.max(entry.updatedAt as number, t.lastEventMs),
      state: "idle",
      parseErrors: 0,
      present: true,
    });
    expect(s.project).toBe("/tmp/asmfx-old/openclaw/home/work/demo-app");
    expect(s.messageCount).toBe(9);
    expect(s.contextPercent).toBeCloseTo((40138 / 180000) * 100, 6);
    expect(s.extra).toMatchObject({ storage: "json", transcriptProblem: null, peer: null, provider: "fakeai", compactionCount: entry.compactionCount });
    expect(t.compactions).toBe(1);
    expect(entry.compactionCount).toBe(1);
    expect(s.inputTokens).toBe(t.withUsage.reduce((n, u) => n + u.input, 0));
    expect(s.outputTokens).toBe(t.withUsage.reduce((n, u) => n + u.output, 0));
    expect(s.cacheReadTokens).toBe(t.withUsage.reduce((n, u) => n + u.cacheRead, 0));
    const turns = h.turns(uid(sid));
    expect(turns.map((x) => x.context_tokens)).toEqual(t.withUsage.map((u) => u.input + u.cacheRead + u.cacheWrite));
    // the BIGCONTEXT turn, the one that made OpenClaw compact
    expect(turns.map((x) => x.context_tokens)).toContain(26620 + 163392);
  });

  it("the session whose only request got HTTP 429: errored, rate limit, no context", async () => {
    const { h, root, source } = scanHome();
    await source.scan(h.ctx());
    const entry = store["agent:main:fixture-error"]!;
    const sid = entry.sessionId as string;
    const t = transcript(sid);
    expect(t.lastAnswer).toMatchObject({ stopReason: "error", errorMessage: "429 Rate limit reached" });
    expect(t.withUsage).toEqual([]);
    // The store entry was written when the run started and never got token fields.
    expect(entry.totalTokens).toBeUndefined();
    const config = readJson(join(tree, "openclaw.json"));

    const s = h.sessions.get(uid(sid))!;
    expect(s).toMatchObject({
      sessionKey: "agent:main:fixture-error",
      kind: "session",
      path: join(root, "agents/main/sessions", `${sid}.jsonl`),
      model: "fake-coder-1",
      project: t.header.cwd,
      messageCount: t.messageCount,
      contextTokens: null,
      // no window in the entry: the model's contextWindow from openclaw.json
      contextWindow: config.models.providers.fakeai.models[0].contextWindow,
      firstActivity: entry.sessionStartedAt,
      lastActivity: Math.max(entry.updatedAt as number, t.lastEventMs),
      state: "errored",
      parseErrors: 0,
    });
    expect(s.messageCount).toBe(2);
    expect(s.extra).toMatchObject({ lastErrorReason: "rate_limit", lastError: { text: "429 Rate limit reached" } });
    expect(h.turns(uid(sid))).toEqual([]);
  });

  it("a second cycle over unchanged files reads nothing", async () => {
    const { h, source } = scanHome();
    await source.scan(h.ctx());
    const again = await source.scan(h.ctx());
    expect(again).toMatchObject({ filesRead: 0, bytesRead: 0, sessionsUpdated: 0, parseErrors: 0 });
  });
});

describe("OpenCode 1.1.65 (storage/session, message, part JSON files, written by the real CLI)", () => {
  const tree = join(realOld, "opencode-1.1.65");
  const storage = join(tree, ".local/share/opencode/storage");
  const uid = (id: string) => sessionUid("opencode", null, id);

  interface Msg {
    id: string;
    role: string;
    summary?: unknown;
    finish?: string;
    modelID?: string;
    time: { created: number; completed?: number };
    tokens?: { input: number; output: number; reasoning: number; cache: { read: number; write: number } };
  }

  /** One session as the files say: its info file and its message files, read with JSON.parse. */
  function session(id: string) {
    const info = readJson(join(storage, "session/global", `${id}.json`));
    const dir = join(storage, "message", id);
    const msgs = readdirSync(dir).map((n) => readJson(join(dir, n)) as Msg);
    const answers = msgs.filter((m) => m.role === "assistant" && m.tokens && m.tokens.input + m.tokens.output > 0);
    return {
      info,
      msgs,
      answers,
      lastContext: (() => {
        const last = [...answers]
          .sort((a, b) => a.time.created - b.time.created)
          .filter((m) => m.summary !== true)
          .at(-1);
        return last ? last.tokens!.input + last.tokens!.cache.read + last.tokens!.cache.write : null;
      })(),
      first: Math.min(...msgs.map((m) => m.time.created)),
      last: Math.max(...msgs.map((m) => m.time.completed ?? m.time.created)),
    };
  }

  const ids = readdirSync(join(storage, "session/global")).map((n) => n.replace(/\.json$/, ""));
  const S1 = ids.find((id) => readJson(join(storage, "session/global", `${id}.json`)).title === "Fixture session title")!;
  const S2 = ids.find((id) => id !== S1)!;

  const scanHome = () => scanOpencodeHome(tree, "asm-real-old-opencode-");

  it("reads both sessions with no parse errors; a second cycle reads nothing", async () => {
    expect(ids).toHaveLength(2);
    await expectTwoSessionsReadOnce(scanHome(), [uid(S1), uid(S2)]);
  });

  it("the session with a tool call and an automatic compaction: model, cwd, context, window, tokens, times", async () => {
    const o = session(S1);
    const { h, source, root } = scanHome();
    await source.scan(h.ctx());
    const config = readJson(join(tree, ".config/opencode/opencode.json"));
    // tokens.input excludes the cache: the context of the last real answer is input + cache read + write
    expect(o.lastContext).toBe(4204 + 25600);
    expect(o.msgs.filter((m) => m.summary === true)).toHaveLength(1);

    const s = h.sessions.get(uid(S1))!;
    expect(s).toMatchObject({
      platform: "opencode",
      agentId: null,
      sessionId: S1,
      kind: "session",
      title: o.info.title,
      project: o.info.directory,
      model: "fake-coder-1",
      path: join(root, "storage/session/global", `${S1}.json`),
      messageCount: o.msgs.length,
      contextTokens: o.lastContext,
      contextWindow: config.provider.fakeai.models["fake-coder-1"].limit.context,
      firstActivity: o.first,
      lastActivity: o.last,
      state: "idle",
      parseErrors: 0,
      present: true,
    });
    expect(s.project).toBe("/tmp/asmfx-old/opencode/home/work/demo-app");
    expect(s.messageCount).toBe(13);
    expect(s.extra).toMatchObject({ storage: "json", compactions: 1, provider: "fakeai" });
    expect(s.inputTokens).toBe(o.answers.reduce((n, m) => n + m.tokens!.input, 0));
    expect(s.outputTokens).toBe(o.answers.reduce((n, m) => n + m.tokens!.output, 0));
    expect(s.cacheReadTokens).toBe(o.answers.reduce((n, m) => n + m.tokens!.cache.read, 0));
    const turns = h.turns(uid(S1));
    expect(turns).toHaveLength(o.answers.length);
    // the BIGCONTEXT answer that made OpenCode compact, then the summary answer itself
    expect(turns.map((x) => x.context_tokens)).toContain(25230 + 154688);
    expect(turns.map((x) => x.context_tokens)).toContain(2676 + 16128);
  });

  it("the session killed while OpenCode was still retrying HTTP 429: a turn in progress, no usage", async () => {
    const o = session(S2);
    // The assistant message was created and never completed; OpenCode keeps retrying a 429 and the
    // generator's timeout killed it. No error was written.
    const answer = o.msgs.find((m) => m.role === "assistant")!;
    expect(answer.time.completed).toBeUndefined();
    expect(answer.tokens).toEqual({ input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } });
    const { h, source } = scanHome();
    await source.scan(h.ctx());
    const s = h.sessions.get(uid(S2))!;
    expect(s).toMatchObject({
      title: o.info.title,
      project: o.info.directory,
      model: "fake-coder-1",
      messageCount: 2,
      contextTokens: null,
      firstActivity: o.first,
      lastActivity: o.last,
      state: "running",
      parseErrors: 0,
    });
    expect(h.turns(uid(S2))).toEqual([]);
  });
});

describe("OpenCode 0.5.29 (project/<id>/storage/session/{info,message,part}, written by the real CLI)", () => {
  const tree = join(realOld, "opencode-0.5.29");
  const session = join(tree, ".local/share/opencode/project/global/storage/session");
  const uid = (id: string) => sessionUid("opencode", null, id);

  interface Msg {
    role: string;
    summary?: boolean;
    path?: { cwd: string };
    error?: { data: { message: string } };
    time: { created: number; completed?: number };
    tokens?: { input: number; output: number; reasoning: number; cache: { read: number; write: number } };
  }
  const ids = readdirSync(join(session, "info")).map((n) => n.replace(/\.json$/, ""));
  const info = (id: string) => readJson(join(session, "info", `${id}.json`));
  const messages = (id: string) =>
    readdirSync(join(session, "message", id))
      .map((n) => readJson(join(session, "message", id, n)) as Msg)
      .sort((a, b) => a.time.created - b.time.created);
  const S1 = ids.find((id) => info(id).title === "Fixture session title")!;
  const S2 = ids.find((id) => id !== S1)!;

  const scanHome = () => scanOpencodeHome(tree, "asm-real-old-opencode0-");

  it("finds both sessions of the 0.x layout, with no parse errors", async () => {
    expect(ids).toHaveLength(2);
    await expectTwoSessionsReadOnce(scanHome(), [uid(S1), uid(S2)]);
  });

  it("tokens.input already holds the cache reads (raw SDK usage): context is input, not input + cache", async () => {
    const msgs = messages(S1);
    const answers = msgs.filter((m) => m.role === "assistant" && m.tokens!.input + m.tokens!.output > 0);
    // The fake reports prompt_tokens with the cached part inside; 0.5.29 stored prompt_tokens as input.
    for (const a of answers) expect(a.tokens!.input).toBeGreaterThanOrEqual(a.tokens!.cache.read);
    const last = answers.filter((m) => m.summary !== true).at(-1)!;
    expect(last.tokens!.input).toBe(28842);
    expect(last.tokens!.cache.read).toBe(24768);
    // the session document has no directory: the answers' path.cwd is where it ran
    expect(info(S1).directory).toBeUndefined();

    const { h, source, root } = scanHome();
    await source.scan(h.ctx());
    const s = h.sessions.get(uid(S1))!;
    expect(s).toMatchObject({
      kind: "session",
      title: "Fixture session title",
      project: msgs.find((m) => m.path)!.path!.cwd,
      model: "fake-coder-1",
      path: join(root, "project/global/storage/session/info", `${S1}.json`),
      messageCount: msgs.length,
      contextTokens: last.tokens!.input,
      contextWindow: 200000,
      firstActivity: msgs[0]!.time.created,
      lastActivity: Math.max(...msgs.map((m) => m.time.completed ?? m.time.created)),
      state: "idle",
      parseErrors: 0,
    });
    expect(s.project).toBe("/tmp/asmfx-old/opencode0/home/work/demo-app");
    expect(s.extra).toMatchObject({ storage: "json", compactions: 1, provider: "fakeai" });
    // uncached input = input − cache read; the cache reads are counted once
    expect(s.inputTokens).toBe(answers.reduce((n, m) => n + m.tokens!.input - m.tokens!.cache.read, 0));
    expect(s.cacheReadTokens).toBe(answers.reduce((n, m) => n + m.tokens!.cache.read, 0));
    expect(h.turns(uid(S1)).map((t) => t.context_tokens)).toEqual(answers.map((m) => m.tokens!.input));
    expect(h.turns(uid(S1)).map((t) => t.context_tokens)).toContain(179023);
  });

  it("the 429 session: OpenCode gave up after 4 attempts and wrote the error on the answer", async () => {
    const msgs = messages(S2);
    const answer = msgs.find((m) => m.role === "assistant")!;
    expect(answer.error!.data.message).toBe("AI_RetryError: Failed after 4 attempts. Last error: Rate limit reached");
    const { h, source } = scanHome();
    await source.scan(h.ctx());
    const s = h.sessions.get(uid(S2))!;
    expect(s).toMatchObject({ state: "errored", contextTokens: null, messageCount: 2, project: answer.path!.cwd });
    expect(s.extra).toMatchObject({ lastErrorReason: "rate_limit" });
    expect(String(s.extra.lastError)).toContain("Rate limit reached");
    expect(h.turns(uid(S2))).toEqual([]);
  });
});
