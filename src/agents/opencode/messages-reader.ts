import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { openAgentDb, pickTable, quoteIdent, readSchema } from "../../lib/sqlite-readonly.ts";
import { emptyRead, exitCodeIn, isObject, str, type TranscriptEntry, type TranscriptRead, tail, toolCallEntries, tsOf } from "../transcript-entry.ts";

type Json = Record<string, unknown>;
interface Msg {
  id: string;
  data: Json;
  parts: Json[];
}

/**
 * The full-text reader of an OpenCode session (FORMATS.md §6): from the SQLite store `opencode*.db` of 1.2+
 * (`message` + `part` rows of the session) when `path` is the database, else from the JSON storage of older
 * versions, `path` being the session's info file (`storage/session/<project>/<id>.json` in 1.x,
 * `storage/session/info/<id>.json` in 0.x). Messages in creation order, each message's parts by id (time
 * ordered). Synthetic parts (OpenCode's own "continue" after a compaction) are not the person's words.
 */
export function readOpencodeMessages(path: string, sessionId: string): TranscriptRead {
  const msgs = path.endsWith(".db") ? fromDb(path, sessionId) : fromJson(path, sessionId);
  const out = emptyRead();
  out.parseErrors = msgs.bad;
  for (const m of msgs.list) messageEntries(out, m);
  return out;
}

function fromDb(path: string, sessionId: string): { list: Msg[]; bad: number } {
  const list: Msg[] = [];
  let bad = 0;
  let db: ReturnType<typeof openAgentDb>;
  try {
    db = openAgentDb(path);
  } catch {
    return { list, bad: 1 };
  }
  try {
    const schema = readSchema(db);
    const M = pickTable(schema, ["message"], ["id", "session_id", "data"]);
    const P = pickTable(schema, ["part"], ["id", "message_id", "session_id", "data"]);
    if (!M) return { list, bad: 1 };
    const byId = new Map<string, Msg>();
    db.transaction(() => {
      for (const r of db.prepare(`SELECT id, data FROM ${quoteIdent(M)} WHERE session_id = ?`).iterate(sessionId) as Iterable<{ id: string; data: string }>) {
        try {
          const data: unknown = JSON.parse(r.data);
          if (isObject(data)) {
            const m = { id: r.id, data, parts: [] };
            byId.set(r.id, m);
            list.push(m);
          }
        } catch {
          bad++;
        }
      }
      if (!P) return;
      for (const r of db.prepare(`SELECT id, message_id AS mid, data FROM ${quoteIdent(P)} WHERE session_id = ? ORDER BY id`).iterate(sessionId) as Iterable<{
        id: string;
        mid: string;
        data: string;
      }>) {
        try {
          const data: unknown = JSON.parse(r.data);
          if (isObject(data)) byId.get(r.mid)?.parts.push({ id: r.id, ...data });
        } catch {
          bad++;
        }
      }
    })();
  } finally {
    db.close();
  }
  return { list: sortMessages(list), bad };
}

const readJson = (path: string): Json | null => {
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
};
const jsonFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith(".json"))
      .sort();
  } catch {
    return [];
  }
};

function fromJson(infoPath: string, sessionId: string): { list: Msg[]; bad: number } {
  const id = sessionId || basename(infoPath, ".json");
  // 0.x: <storage>/session/info/<id>.json with session/message/<id>/ and session/part/<id>/<msg>/;
  // 1.x: <storage>/session/<project>/<id>.json with message/<id>/ and part/<msg>/.
  const parent = dirname(infoPath);
  const old = basename(parent) === "info" && existsSync(join(dirname(parent), "message", id));
  const storage = old ? dirname(parent) : dirname(dirname(parent));
  const msgDir = join(storage, "message", id);
  const partDir = (mid: string) => (old ? join(storage, "part", id, mid) : join(storage, "part", mid));
  const list: Msg[] = [];
  let bad = 0;
  for (const name of jsonFiles(msgDir)) {
    const data = readJson(join(msgDir, name));
    if (!data) {
      bad++;
      continue;
    }
    const mid = str(data.id) ?? basename(name, ".json");
    const parts: Json[] = [];
    for (const p of jsonFiles(partDir(mid))) {
      const part = readJson(join(partDir(mid), p));
      if (part) parts.push(part);
      else bad++;
    }
    // 0.x messages may carry their parts inline.
    if (parts.length === 0 && Array.isArray(data.parts)) for (const p of data.parts) if (isObject(p)) parts.push(p);
    parts.sort((a, b) => String(a.id ?? "").localeCompare(String(b.id ?? "")));
    list.push({ id: mid, data, parts });
  }
  return { list: sortMessages(list), bad };
}

const created = (m: Msg) => (isObject(m.data.time) && typeof m.data.time.created === "number" ? m.data.time.created : 0);
const sortMessages = (list: Msg[]) => list.sort((a, b) => created(a) - created(b) || a.id.localeCompare(b.id));

function messageEntries(out: TranscriptRead, m: Msg): void {
  const d = m.data;
  const ts = tsOf(isObject(d.time) ? d.time.created : null);
  const push = (e: TranscriptEntry) => out.entries.push(e);
  const role = d.role;
  if (role === "assistant") {
    out.model = str(d.modelID) ?? out.model;
    if (isObject(d.path)) out.cwd ??= str(d.path.cwd);
    const t = isObject(d.tokens) ? d.tokens : null;
    if (t && d.summary !== true) {
      const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
      const cache = isObject(t.cache) ? t.cache : {};
      const ctx = n(t.input) + n(cache.read) + n(cache.write);
      if (ctx > 0) out.contextTokens = ctx;
    }
  } else if (role === "user" && isObject(d.model)) out.model ??= str(d.model.modelID);
  const texts: string[] = [];
  for (const p of m.parts) {
    const pts = tsOf(isObject(p.time) ? p.time.start : null) ?? ts;
    if (p.type === "text" && typeof p.text === "string") {
      if (p.synthetic === true) continue;
      texts.push(p.text);
    } else if (p.type === "compaction") push({ kind: "compaction", ts: pts });
    else if (p.type === "tool" && typeof p.tool === "string") {
      flushText(texts, role, ts, push);
      const state = isObject(p.state) ? p.state : {};
      const id = str(p.callID) ?? str(p.id);
      for (const e of toolCallEntries(id, p.tool, state.input, pts)) push(e);
      const status = state.status;
      if (status === "completed" || status === "error") {
        const meta = isObject(state.metadata) ? state.metadata : {};
        const output = str(state.output) ?? str(state.error) ?? (typeof meta.output === "string" ? meta.output : "");
        const code = typeof meta.exit === "number" ? meta.exit : typeof meta.exitCode === "number" ? meta.exitCode : exitCodeIn(output);
        push({ kind: "tool-result", id, exitCode: code, isError: status === "error" || (code !== null && code !== 0), output: tail(output), ts: pts });
      }
    }
  }
  flushText(texts, role, ts, push);
  if (role === "assistant" && isObject(d.error)) {
    const e = d.error;
    const data = isObject(e.data) ? e.data : {};
    push({ kind: "error", text: `${str(e.name) ?? "Error"}: ${str(data.message) ?? str(e.message) ?? "failed"}`, ts });
  }
}

function flushText(texts: string[], role: unknown, ts: number | null, push: (e: TranscriptEntry) => void): void {
  const text = texts.splice(0).join("\n").trim();
  if (!text) return;
  if (role === "user") push({ kind: "user", text, ts });
  else if (role === "assistant") push({ kind: "assistant", text, ts });
}
