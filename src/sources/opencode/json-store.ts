import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { type OpencodeMessage, opencodeFigures, opencodeMessage } from "../../agents/opencode/messages.ts";
import { storesRawInput, withoutCachedInput } from "../../agents/opencode/raw-usage.ts";
import { type OpencodeOrigin, type OpencodeSessionInfo, opencodeRecord } from "../../agents/opencode/record.ts";
import { sessionUid } from "../../agents/session.ts";
import { isGoneError, unreadableReason } from "../../lib/fs-errors.ts";
import { identity } from "../../lib/jsonl-reader.ts";
import type { FileStore } from "../../store/files.ts";
import { replaceTurns } from "../../store/turns.ts";
import type { ScanContext, SourceScanResult } from "../source.ts";

/**
 * What we remember about one JSON-era session between cycles: its info, and for each message file
 * its size, mtime and the fields we use. A repeat cycle only stats files; it reads the ones whose
 * size or mtime changed.
 */
interface JsonSessionState {
  info: OpencodeSessionInfo | null;
  msgs: Record<string, [size: number, mtimeMs: number, msg: OpencodeMessage | null]>;
  badFiles: Record<string, string>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null);

/**
 * A folder's entries; a folder that is gone has none, one that cannot be read (EACCES, EIO) is reported
 * and put in `unlisted`, so the sessions read from it before keep what we knew.
 */
const listIn = (dir: string, result: SourceScanResult, unlisted: string[]): string[] => {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (!isGoneError(err)) {
      result.errors.push(unreadableReason(dir, err, "list"));
      unlisted.push(dir);
    }
    return [];
  }
};

/** A session's message files; none when the folder is gone; throws when it cannot be read (the session keeps what we knew). */
const messageFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch (err) {
    if (isGoneError(err)) return [];
    throw new Error(unreadableReason(dir, err, "list"));
  }
};

/** One session document and the folder of its message files. */
interface JsonSessionFile {
  path: string;
  msgDir: string;
}

/**
 * Every session document under an OpenCode data folder, in both JSON layouts:
 * - 0.6 to 1.1: `storage/session/<projectID>/<sessionID>.json`, messages in `storage/message/<sessionID>/`;
 * - 0.x before that (seen in 0.5.29): `project/<project>/storage/session/info/<sessionID>.json`,
 *   messages in `project/<project>/storage/session/message/<sessionID>/`.
 */
function sessionFiles(root: string, result: SourceScanResult, unlisted: string[]): JsonSessionFile[] {
  const out: JsonSessionFile[] = [];
  const storage = join(root, "storage");
  const listJson = (dir: string) => listIn(dir, result, unlisted).filter((n) => n.endsWith(".json"));
  for (const project of listIn(join(storage, "session"), result, unlisted)) {
    for (const name of listJson(join(storage, "session", project))) {
      out.push({ path: join(storage, "session", project, name), msgDir: join(storage, "message", basename(name, ".json")) });
    }
  }
  for (const project of listIn(join(root, "project"), result, unlisted)) {
    const session = join(root, "project", project, "storage", "session");
    for (const name of listJson(join(session, "info"))) {
      out.push({ path: join(session, "info", name), msgDir: join(session, "message", basename(name, ".json")) });
    }
  }
  return out;
}

/** Reads a session document (`storage/session/<projectID>/<sessionID>.json` or 0.x `…/session/info/<sessionID>.json`). */
function sessionInfo(doc: unknown, fallbackId: string): OpencodeSessionInfo | null {
  if (!isObject(doc)) return null;
  const t = isObject(doc.time) ? doc.time : {};
  return {
    id: str(doc.id) ?? fallbackId,
    parentId: str(doc.parentID),
    directory: str(doc.directory),
    title: str(doc.title),
    model: null,
    created: num(t.created),
    updated: num(t.updated),
    archived: num(t.archived),
    version: str(doc.version),
  };
}

/**
 * The JSON era of OpenCode (before 1.2), in both of its layouts (see `sessionFiles`). A file caught
 * mid-write (invalid JSON) keeps the last good reading and is tried again next cycle.
 */
export function scanOpencodeJson(ctx: ScanContext, files: FileStore, root: string, result: SourceScanResult, getLimits: () => Record<string, number>): void {
  const known = files.bySource("opencode-json");
  const seen = new Set<string>();
  const unlisted: string[] = [];
  for (const { path, msgDir } of sessionFiles(root, result, unlisted)) {
    seen.add(path);
    result.filesSeen++;
    try {
      scanSession(ctx, files, path, msgDir, result, getLimits);
    } catch (err) {
      result.errors.push(`${path}: ${(err as Error).message}`);
    }
  }
  for (const [path, cursor] of known) {
    if (seen.has(path) || unlisted.some((d) => path.startsWith(d + sep))) continue;
    if (cursor.sessionUid) ctx.sessions.markGone(cursor.sessionUid, ctx.now);
    files.delete(path);
  }
}

function scanSession(
  ctx: ScanContext,
  files: FileStore,
  path: string,
  msgDir: string,
  result: SourceScanResult,
  getLimits: () => Record<string, number>,
): void {
  const prev = files.get(path);
  const st = statSync(path);
  const sessionId = basename(path, ".json");
  const old: JsonSessionState = prev ? (JSON.parse(prev.state || "{}") as JsonSessionState) : { info: null, msgs: {}, badFiles: {} };
  const names = messageFiles(msgDir);
  const stats = new Map<string, [number, number]>();
  for (const n of names) {
    try {
      const s = statSync(join(msgDir, n));
      stats.set(n, [s.size, Math.trunc(s.mtimeMs)]);
    } catch {
      // Vanished between list and stat: as if it were not there.
    }
  }
  const infoSame = prev && prev.ino === st.ino && prev.size === st.size && prev.mtimeMs === Math.trunc(st.mtimeMs);
  const msgsSame =
    stats.size === Object.keys(old.msgs).length && [...stats].every(([n, [size, mtime]]) => old.msgs[n]?.[0] === size && old.msgs[n]?.[1] === mtime);
  if (infoSame && msgsSame && old.info) return;

  result.filesRead++;
  const next: JsonSessionState = { info: old.info, msgs: {}, badFiles: {} };
  let bad = 0;
  if (!infoSame || !old.info) {
    try {
      const text = readFileSync(path, "utf8");
      result.bytesRead += text.length;
      next.info = sessionInfo(JSON.parse(text), sessionId) ?? old.info;
    } catch (err) {
      bad++;
      next.badFiles[basename(path)] = `invalid JSON (${(err as Error).message.slice(0, 120)})`;
    }
  }
  for (const [n, [size, mtime]] of stats) {
    const had = old.msgs[n];
    if (had && had[0] === size && had[1] === mtime) {
      next.msgs[n] = had;
      continue;
    }
    try {
      const text = readFileSync(join(msgDir, n), "utf8");
      result.bytesRead += text.length;
      next.msgs[n] = [size, mtime, opencodeMessage(basename(n, ".json"), JSON.parse(text))];
    } catch (err) {
      bad++;
      next.badFiles[n] = `invalid JSON (${(err as Error).message.slice(0, 120)})`;
      // Keep the last good reading, but not its signature: the next cycle reads the file again.
      if (had) next.msgs[n] = [-1, -1, had[2]];
    }
  }
  result.parseErrors += bad;
  const info = next.info;
  const uid = info ? sessionUid("opencode", null, info.id) : null;
  files.transaction(() => {
    if (info && uid) {
      const raw = storesRawInput(info.version);
      const messages = Object.values(next.msgs)
        .map((m) => m[2])
        .filter((m): m is OpencodeMessage => m !== null)
        .map((m) => (raw ? withoutCachedInput(m) : m));
      const f = opencodeFigures(messages);
      const bytes = st.size + [...stats.values()].reduce((a, [size]) => a + size, 0);
      const lastBad = Object.entries(next.badFiles).at(-1);
      const origin: OpencodeOrigin = {
        storage: "json",
        path,
        sizeBytes: bytes,
        parseErrors: Object.keys(next.badFiles).length,
        lastParseError: lastBad ? `${lastBad[0]}: ${lastBad[1]}` : null,
      };
      ctx.sessions.upsert(opencodeRecord(info, f, origin, getLimits(), ctx.config, ctx.now));
      replaceTurns(ctx.db, uid, f.turns);
      result.sessionsUpdated++;
    }
    // An unreadable session document is retried next cycle.
    files.putWhole(path, "opencode-json", identity(st), next, { now: ctx.now, sessionUid: uid, retry: !info });
  });
}
