import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { configSchema } from "../src/config/schema.ts";
import { createLogger } from "../src/lib/log.ts";
import { GeminiSource } from "../src/sources/gemini.ts";
import { OpenClawSource } from "../src/sources/openclaw.ts";
import type { Source } from "../src/sources/source.ts";
import { openStore } from "../src/store/db.ts";
import { SessionStore } from "../src/store/sessions.ts";

/**
 * `node --import tsx bench/agent-stores.ts` — the OpenClaw and Gemini CLI stores, each beside a bare
 * baseline on the same data, in one process (RSS includes the tsx loader):
 *   - OpenClaw 2026.9 SQLite store: cold scan vs a bare `SELECT event_json` + JSON.parse of every row;
 *     a no-change cycle; an append cycle (one event in every 10th session).
 *   - OpenClaw JSONL transcript (2026.7 layout): cold scan vs bare read + split + JSON.parse.
 *   - Gemini CLI chats: cold scan vs bare read + split + JSON.parse; a no-change cycle.
 * Flags: --sessions N (default 50) --turns N per session (default 500) --dir PATH.
 * Tool output is ~9 KB of non-ASCII text per tool result, as in a coding session.
 */

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "50" },
    turns: { type: "string", default: "500" },
    dir: { type: "string", default: join(tmpdir(), "asm-bench-stores") },
  },
});
const nSessions = Number(values.sessions);
const nTurns = Number(values.turns);
const base = values.dir!;
const say = (s: string) => process.stdout.write(`${s}\n`);
const toolOutput = "日本語 text ünïcode output ".repeat(360);
const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
const rss = () => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;

/** One pi transcript turn: user, assistant tool call, tool result, assistant answer. */
function piTurn(i: number): unknown[] {
  const ts = new Date(1788500000000 + i * 1000).toISOString();
  const usage = { input: 10 + (i % 7), output: 50, cacheRead: 60000 + i, cacheWrite: 20, totalTokens: 60080 + i };
  return [
    { type: "message", id: `u${i}`, parentId: null, timestamp: ts, message: { role: "user", content: `step ${i}` } },
    {
      type: "message",
      id: `a${i}`,
      parentId: `u${i}`,
      timestamp: ts,
      message: {
        role: "assistant",
        provider: "anthropic",
        model: "claude-opus-4-6",
        stopReason: "toolUse",
        content: [{ type: "toolCall", id: `t${i}`, name: "read", arguments: { path: "src/x.ts" } }],
        usage,
      },
    },
    {
      type: "message",
      id: `r${i}`,
      parentId: `a${i}`,
      timestamp: ts,
      message: { role: "toolResult", toolCallId: `t${i}`, toolName: "read", content: [{ type: "text", text: toolOutput }] },
    },
    {
      type: "message",
      id: `b${i}`,
      parentId: `r${i}`,
      timestamp: ts,
      message: { role: "assistant", provider: "anthropic", model: "claude-opus-4-6", stopReason: "stop", content: [{ type: "text", text: "Done ✓" }], usage },
    },
  ];
}

function harness(dir: string, input: Record<string, unknown>) {
  for (const s of ["", "-wal", "-shm"]) rmSync(join(dir, `asm.db${s}`), { force: true });
  const db = openStore(join(dir, "asm.db"));
  const config = configSchema.parse(input);
  const log = createLogger({ level: "silent", pretty: "never" });
  const sessions = new SessionStore(db);
  return { db, run: (src: Source) => src.scan({ db, sessions, config, log, now: Date.now() }) };
}

/** A cold scan, then a cycle with nothing changed, each timed and printed. */
async function coldThenIdle(h: ReturnType<typeof harness>, src: Source): Promise<void> {
  let t = performance.now();
  await h.run(src);
  say(`cold scan: ${ms(t)} (RSS now ${rss()})`);
  t = performance.now();
  const idle = await h.run(src);
  say(`no-change cycle: ${ms(t)}, ${idle.bytesRead} bytes read`);
}

function bareLines(paths: string[]): number {
  let n = 0;
  for (const p of paths) {
    const buf = readFileSync(p);
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      if (nl > start) JSON.parse(buf.toString("utf8", start, nl));
      start = nl + 1;
      n++;
    }
  }
  return n;
}

async function openclawSqlite(): Promise<void> {
  const dir = join(base, "openclaw-sqlite");
  const root = join(dir, ".openclaw");
  const path = join(root, "agents/main/agent/openclaw-agent.sqlite");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(root, "agents/main/agent"), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec(`CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL, created_at INTEGER, updated_at INTEGER, model TEXT, model_provider TEXT);
    CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id TEXT NOT NULL, entry_json TEXT NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, created_at INTEGER NOT NULL, event_zstd BLOB, PRIMARY KEY (session_id, seq));`);
  const ins = db.prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, 0)");
  let bytes = 0;
  db.transaction(() => {
    for (let s = 0; s < nSessions; s++) {
      const sid = `sess-${s}`;
      const key = `agent:main:telegram:dm:${s}`;
      db.prepare("INSERT INTO session_windows VALUES (?, ?, 1, 2, 'claude-opus-4-6', 'anthropic')").run(sid, key);
      db.prepare("INSERT INTO session_nodes VALUES (?, ?, ?, 2)").run(key, sid, JSON.stringify({ sessionId: sid, updatedAt: 2, contextTokens: 200000 }));
      let seq = 0;
      for (let i = 0; i < nTurns; i++) {
        for (const e of piTurn(i)) {
          const j = JSON.stringify(e);
          bytes += Buffer.byteLength(j);
          ins.run(sid, seq++, j);
        }
      }
    }
  })();
  db.close();
  say(`\n## OpenClaw SQLite store: ${nSessions} sessions, ${nSessions * nTurns * 4} events, ${(bytes / 2 ** 20).toFixed(0)} MiB of event JSON`);
  let t = performance.now();
  const ro = new Database(path, { readonly: true });
  for (const r of ro.prepare("SELECT event_json FROM transcript_events").iterate() as Iterable<{ event_json: string }>) JSON.parse(r.event_json);
  ro.close();
  say(`bare SELECT event_json + JSON.parse: ${ms(t)}`);
  const h = harness(dir, { sources: { openclaw: { root, legacyRoots: [] } } });
  const src = OpenClawSource.fromConfig(configSchema.parse({ sources: { openclaw: { root, legacyRoots: [] } } }));
  await coldThenIdle(h, src);
  const w = new Database(path);
  w.transaction(() => {
    const add = w.prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, 0)");
    for (let s = 0; s < nSessions; s += 10) add.run(`sess-${s}`, 1e9, JSON.stringify(piTurn(nTurns)[3]));
  })();
  w.close();
  t = performance.now();
  const app = await h.run(src);
  say(`append cycle (${app.sessionsUpdated} sessions grew by one event): ${ms(t)}`);
  h.db.close();
}

async function openclawJsonl(): Promise<void> {
  const dir = join(base, "openclaw-jsonl");
  const root = join(dir, ".openclaw");
  const sessions = join(root, "agents/main/sessions");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(sessions, { recursive: true });
  const store: Record<string, unknown> = {};
  const paths: string[] = [];
  let bytes = 0;
  for (let s = 0; s < nSessions; s++) {
    const sid = `jsonl-${s}`;
    store[`agent:main:telegram:dm:${s}`] = { sessionId: sid, updatedAt: 1, sessionFile: `${sid}.jsonl` };
    const p = join(sessions, `${sid}.jsonl`);
    paths.push(p);
    writeFileSync(p, `${JSON.stringify({ type: "session", version: 3, id: sid, timestamp: new Date().toISOString(), cwd: "/w" })}\n`);
    for (let i = 0; i < nTurns; i++) {
      const text = `${piTurn(i)
        .map((l) => JSON.stringify(l))
        .join("\n")}\n`;
      bytes += Buffer.byteLength(text);
      appendFileSync(p, text);
    }
  }
  writeFileSync(join(sessions, "sessions.json"), JSON.stringify(store));
  say(`\n## OpenClaw JSONL transcripts: ${nSessions} files, ${(bytes / 2 ** 20).toFixed(0)} MiB`);
  const t = performance.now();
  bareLines(paths);
  say(`bare read + split + JSON.parse: ${ms(t)}`);
  const h = harness(dir, {});
  const src = new OpenClawSource([root], join(root, "openclaw.json"));
  await coldThenIdle(h, src);
  h.db.close();
}

async function gemini(): Promise<void> {
  const dir = join(base, "gemini");
  const root = join(dir, ".gemini");
  const chats = join(root, "tmp", "proj", "chats");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(chats, { recursive: true });
  const paths: string[] = [];
  let bytes = 0;
  for (let s = 0; s < nSessions; s++) {
    const p = join(chats, `session-2026-08-20T10-00-${String(s).padStart(8, "0")}.jsonl`);
    paths.push(p);
    const lines: unknown[] = [
      { sessionId: `g-${s}`, projectHash: "h", startTime: "2026-08-20T10:00:00.000Z", lastUpdated: "2026-08-20T10:00:00.000Z", kind: "main" },
    ];
    for (let i = 0; i < nTurns; i++) {
      const ts = new Date(1788500000000 + i * 1000).toISOString();
      const answer = {
        id: `g${i}`,
        timestamp: ts,
        type: "gemini",
        model: "gemini-2.5-pro",
        content: "ok ✓",
        tokens: { input: 50000 + i, output: 40, cached: 30000, thoughts: 8, tool: 0, total: 50048 + i },
      };
      lines.push({ id: `u${i}`, timestamp: ts, type: "user", content: [{ text: `step ${i}` }] }, { $set: { lastUpdated: ts } }, answer);
      // Re-appended with its finished tool call, as Gemini CLI does.
      lines.push({
        ...answer,
        toolCalls: [{ id: `c${i}`, name: "read_file", args: {}, status: "success", result: [{ functionResponse: { response: { output: toolOutput } } }] }],
      });
    }
    const text = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
    bytes += Buffer.byteLength(text);
    writeFileSync(p, text);
  }
  say(`\n## Gemini CLI chats: ${nSessions} files, ${(bytes / 2 ** 20).toFixed(0)} MiB`);
  const t = performance.now();
  bareLines(paths);
  say(`bare read + split + JSON.parse: ${ms(t)}`);
  const h = harness(dir, {});
  const src = new GeminiSource(root);
  await coldThenIdle(h, src);
  h.db.close();
}

say(`# agent stores benchmark (node ${process.version}, under tsx)`);
await openclawSqlite();
await openclawJsonl();
await gemini();
