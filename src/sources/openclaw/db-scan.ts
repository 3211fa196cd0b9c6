import { type Stats, statSync } from "node:fs";
import type { OpenClawConfig } from "../../agents/openclaw/config.ts";
import type { EntrySummary } from "../../agents/openclaw/entry.ts";
import { openclawRecord, type WindowRow } from "../../agents/openclaw/record.ts";
import { applyPiLine, applyToolResult, emptyPiState, type PiTranscriptState, type PiTurn } from "../../agents/openclaw/transcript.ts";
import { sessionUid } from "../../agents/session.ts";
import { identity } from "../../lib/jsonl-reader.ts";
import { timeSlicer } from "../../lib/time-slice.ts";
import type { FileStore } from "../../store/files.ts";
import { TurnStore } from "../../store/turns.ts";
import type { ScanContext, SourceScanResult } from "../source.ts";
import { readOpenClawDb, type SeqCursor } from "./sqlite-store.ts";

/** What we remember about one agent store between cycles (`files` row of the .sqlite path). */
interface DbState {
  watermark: number;
  wal: [number, number] | null;
  ids: string[];
}

/** What we remember per session of an agent store (a `files` row keyed `<store>#<sessionId>`). */
interface DbSessionState {
  cursor: SeqCursor | null;
  tx: PiTranscriptState;
  key: string | null;
  entry: EntrySummary | null;
  window: WindowRow | null;
  bytes: number;
  parseErrors: number;
  lastParseError: string | null;
}

export const dbSource = "openclaw-db";
export const dbSessionSource = "openclaw-dbs";

const statOrNull = (path: string): Stats | null => {
  try {
    return statSync(path);
  } catch {
    return null;
  }
};

/**
 * One cycle over an agent's `openclaw-agent.sqlite` (2026.8+). Skipped when neither the store nor
 * its `-wal` changed; otherwise only entries updated since the last watermark and transcript rows
 * after each session's last `seq` are read. Returns the uids of the sessions this store holds, so
 * the JSON era reader leaves them alone.
 */
export async function scanAgentDb(
  ctx: ScanContext,
  files: FileStore,
  agentId: string,
  path: string,
  oc: OpenClawConfig | null,
  result: SourceScanResult,
): Promise<Set<string>> {
  const prev = files.get(path);
  const old: DbState | null = prev ? (JSON.parse(prev.state || "null") as DbState | null) : null;
  const uids = new Set((old?.ids ?? []).map((id) => sessionUid("openclaw", agentId, id)));
  const st = statSync(path);
  result.filesSeen++;
  const wal = statOrNull(`${path}-wal`);
  const walSig: [number, number] | null = wal ? [wal.size, Math.trunc(wal.mtimeMs)] : null;
  const replaced = prev !== undefined && prev.ino !== st.ino;
  if (prev && old && !replaced && prev.size === st.size && prev.mtimeMs === Math.trunc(st.mtimeMs) && JSON.stringify(old.wal) === JSON.stringify(walSig)) {
    return uids;
  }

  const prefix = `${path}#`;
  const states = new Map<string, DbSessionState>();
  for (const [p, c] of files.bySource(dbSessionSource)) {
    if (!p.startsWith(prefix) || replaced) continue;
    try {
      states.set(p.slice(prefix.length), JSON.parse(c.state) as DbSessionState);
    } catch {
      // A cursor we cannot read is read again from the start.
    }
  }
  const fresh = (): DbSessionState => ({
    cursor: null,
    tx: emptyPiState(),
    key: null,
    entry: null,
    window: null,
    bytes: 0,
    parseErrors: 0,
    lastParseError: null,
  });
  const stateOf = (sid: string) => {
    let s = states.get(sid);
    if (!s) {
      s = fresh();
      states.set(sid, s);
    }
    return s;
  };
  const known = new Map<string, SeqCursor>();
  for (const [sid, s] of states) if (s.cursor) known.set(sid, s.cursor);
  const turns = new Map<string, PiTurn[]>();
  const restarted = new Set<string>();
  const touched = new Set<string>();

  const since = replaced ? 0 : (old?.watermark ?? 0);
  const read = await readOpenClawDb(
    path,
    since,
    known,
    {
      restart(sid) {
        const s = stateOf(sid);
        s.tx = emptyPiState();
        s.bytes = 0;
        s.parseErrors = 0;
        s.lastParseError = null;
        restarted.add(sid);
        turns.delete(sid);
      },
      toolResult(sid, ts, bytes) {
        const s = stateOf(sid);
        s.bytes += bytes;
        touched.add(sid);
        applyToolResult(s.tx, ts);
      },
      event(sid, event, _seq, bytes) {
        const s = stateOf(sid);
        s.bytes += bytes;
        touched.add(sid);
        const turn = applyPiLine(s.tx, event);
        if (turn) {
          const list = turns.get(sid) ?? [];
          list.push(turn);
          turns.set(sid, list);
        }
      },
    },
    timeSlicer(),
  );
  result.filesRead++;
  result.bytesRead += read.bytesRead;
  if (read.badRows.length > 0) {
    const last = read.badRows.at(-1)!;
    ctx.log.warn({ path, skipped: read.badRows.length, last: `${last.sessionId} seq ${last.seq}: ${last.reason}` }, "malformed transcript rows skipped");
  }
  for (const bad of read.badRows) {
    const s = stateOf(bad.sessionId);
    s.parseErrors++;
    s.lastParseError = `seq ${bad.seq}: ${bad.reason}`;
    touched.add(bad.sessionId);
    result.parseErrors++;
  }
  for (const [sid, c] of read.cursors) stateOf(sid).cursor = c;
  const byKey = new Map<string, string[]>();
  for (const [sid, st] of states) if (st.key) byKey.set(st.key, [...(byKey.get(st.key) ?? []), sid]);
  for (const e of read.entries) {
    // The key moved on (reset, rollover): the session it left is rewritten as ended.
    for (const sid of byKey.get(e.key) ?? []) if (sid !== e.sessionId) touched.add(sid);
    const s = stateOf(e.sessionId);
    // Rows at the watermark itself are read again each cycle; only a real change rewrites the session.
    if (s.key !== e.key || JSON.stringify(s.entry) !== JSON.stringify(e.entry)) touched.add(e.sessionId);
    s.key = e.key;
    s.entry = e.entry;
  }
  for (const w of read.windows) {
    const s = stateOf(w.sessionId);
    if (JSON.stringify(s.window) !== JSON.stringify(w)) touched.add(w.sessionId);
    s.window = w;
    s.key ??= w.sessionKey;
  }
  if (replaced || !old) for (const sid of states.keys()) touched.add(sid);

  const present = new Set<string>([...read.windows.map((w) => w.sessionId), ...read.currentByKey.values()]);
  const resolveKey = (key: string) => read.currentByKey.get(key) ?? null;
  const turnStore = new TurnStore(ctx.db);
  files.transaction(() => {
    for (const sid of touched) {
      if (!present.has(sid)) continue;
      const s = stateOf(sid);
      const uid = sessionUid("openclaw", agentId, sid);
      const current = s.key ? read.currentByKey.size === 0 || read.currentByKey.get(s.key) === sid : true;
      const record = openclawRecord(
        {
          agentId,
          sessionId: sid,
          key: s.key,
          entry: s.entry,
          window: s.window,
          tx: s.cursor ? s.tx : null,
          storage: "sqlite",
          path,
          sizeBytes: s.bytes,
          transcriptProblem: null,
          parseErrors: s.parseErrors,
          lastParseError: s.lastParseError,
          current,
          resolveKey,
        },
        oc,
        ctx.config,
        ctx.now,
      );
      ctx.sessions.upsert(record);
      result.sessionsUpdated++;
      if (restarted.has(sid) || !known.has(sid)) turnStore.deleteSession(uid);
      for (const t of turns.get(sid) ?? []) turnStore.add({ sessionUid: uid, ...t });
      files.putWhole(`${prefix}${sid}`, dbSessionSource, identity(st), s, { now: ctx.now, sessionUid: uid });
    }
    for (const id of old?.ids ?? []) {
      if (present.has(id)) continue;
      ctx.sessions.markGone(sessionUid("openclaw", agentId, id), ctx.now);
      files.delete(`${prefix}${id}`);
    }
    const next: DbState = { watermark: read.watermark, wal: walSig, ids: [...present] };
    files.putWhole(path, dbSource, identity(st), next, { now: ctx.now });
  });
  return new Set([...present].map((id) => sessionUid("openclaw", agentId, id)));
}

/** The agent store vanished: its sessions are gone. */
export function forgetAgentDb(ctx: ScanContext, files: FileStore, agentId: string, path: string, state: string): void {
  const old = JSON.parse(state || "null") as DbState | null;
  files.transaction(() => {
    for (const id of old?.ids ?? []) {
      ctx.sessions.markGone(sessionUid("openclaw", agentId, id), ctx.now);
      files.delete(`${path}#${id}`);
    }
    files.delete(path);
  });
}
