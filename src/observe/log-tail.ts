import { type Dirent, readdirSync, type Stats, statSync } from "node:fs";
import { join, sep } from "node:path";
import { identity, planRead, readLines } from "../lib/jsonl-reader.ts";
import type { Db } from "../store/db.ts";
import { FileStore } from "../store/files.ts";
import type { LogObservation } from "./observations.ts";

/** How a log line is judged. */
export interface LogRules {
  /** Applied to lines that are not JSON; JSON lines are judged by their level. */
  errorPatterns: RegExp[];
  /** Group 1 = number, group 2 = unit (ms or s; ms when absent). */
  durationPattern: RegExp | null;
  slowMs: number;
}

export interface TailOptions {
  /** On first sight only this much of the file's end is read: old history is not news. */
  initialTailBytes?: number;
  /** At most this much is read per pass; the rest waits for the next one. */
  maxBytesPerPass?: number;
}

/** What one incremental read of a file did. */
export interface AppendedRead {
  size: number;
  /** Size at the previous pass (0 after a rotation or truncation; the current size on first sight). */
  sizeBefore: number;
  previousAt: number | null;
  bytesRead: number;
  firstSight: boolean;
  rotated: boolean;
  truncated: boolean;
}

/** A file could not be read; `reason` is the errno code or a sentence. */
export class AppendedReadError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot read ${path}: ${reason}`);
    this.name = "AppendedReadError";
  }
}

/** Pino numeric levels (50 error, 60 fatal) and the usual names. */
function jsonIsError(doc: Record<string, unknown>): boolean {
  const level = doc.level ?? (doc._meta as Record<string, unknown> | undefined)?.logLevelName ?? doc.severity;
  if (typeof level === "number") return level >= 50;
  return typeof level === "string" && /^(error|err|fatal|critical|crit|alert|emerg)$/i.test(level);
}

const jsonDurationKeys = ["durationMs", "duration_ms", "responseTime", "elapsedMs", "latencyMs", "tookMs"];

/** What one line says: is it an error, and how long did the thing it reports take (ms)? */
export function judgeLine(line: string, rules: LogRules): { error: boolean; durationMs: number | null } {
  let error: boolean | null = null;
  let durationMs: number | null = null;
  if (line.startsWith("{")) {
    try {
      const doc = JSON.parse(line) as Record<string, unknown>;
      error = jsonIsError(doc);
      for (const k of jsonDurationKeys) {
        if (typeof doc[k] === "number") {
          durationMs = doc[k] as number;
          break;
        }
      }
    } catch {
      // Not JSON after all: judged by the patterns below.
    }
  }
  if (error === null) error = rules.errorPatterns.some((p) => p.test(line));
  if (durationMs === null && rules.durationPattern) {
    const m = rules.durationPattern.exec(line);
    const n = m?.[1] !== undefined ? Number(m[1]) : Number.NaN;
    if (!Number.isNaN(n)) durationMs = m?.[2]?.toLowerCase() === "s" ? n * 1000 : n;
  }
  return { error, durationMs };
}

/**
 * Calls `onLine` for each whole line appended to `path` since the last pass and remembers how far it
 * got in the `files` table (under `source`), using the sources' shared reader: only whole lines (a
 * half-written last line waits for the next pass); a new device/inode (rotation), a shrink, or a file
 * truncated and regrown past our offset (copytruncate; caught by the tail fingerprint) starts from 0.
 * On first sight only the last `initialTailBytes` are read, without the line they cut. Returns null
 * when the file does not exist; throws AppendedReadError when it cannot be read.
 */
export function readAppended(
  db: Db,
  path: string,
  source: string,
  onLine: (line: Buffer) => void,
  now: number,
  options: TailOptions = {},
): AppendedRead | null {
  const initialTail = options.initialTailBytes ?? 256 * 1024;
  const maxBytes = options.maxBytesPerPass ?? 16 * 1024 * 1024;
  const files = new FileStore(db);
  try {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    if (!st.isFile()) throw new AppendedReadError(path, "not a regular file");
    const prev = files.get(path);
    const previousAt = prev ? ((JSON.parse(prev.state) as { at?: number }).at ?? null) : null;
    const plan = planRead(path, st, prev);
    const result: AppendedRead = {
      size: st.size,
      sizeBefore: plan.kind === "restart" ? (plan.reason === "new" ? st.size : 0) : prev!.size,
      previousAt,
      bytesRead: 0,
      firstSight: plan.kind === "restart" && plan.reason === "new",
      rotated: plan.kind === "restart" && plan.reason === "replaced",
      truncated: plan.kind === "restart" && (plan.reason === "shrunk" || plan.reason === "rewritten"),
    };
    let cursor = { offset: prev?.offset ?? 0, lineNo: prev?.lineNo ?? 0, tail: prev?.tail ?? "", size: prev?.size ?? 0 };
    if (plan.kind !== "skip") {
      let from = plan.from;
      // Starting mid-file on first sight: the first (cut) line is not ours to judge.
      let skipFirst = false;
      if (result.firstSight && st.size > initialTail) {
        from = { offset: st.size - initialTail, lineNo: 0 };
        skipFirst = true;
      }
      const end = Math.min(st.size, from.offset + maxBytes);
      const out = readLines(path, from, end, (line) => {
        if (skipFirst) skipFirst = false;
        else onLine(line);
      });
      result.bytesRead = out.bytesRead;
      // Stopped short by maxBytesPerPass: remember the size we read to, so the next pass appends.
      cursor = { offset: out.offset, lineNo: out.lineNo, tail: out.tail, size: end };
    }
    files.put({
      path,
      source,
      ...identity(st),
      size: cursor.size,
      offset: cursor.offset,
      lineNo: cursor.lineNo,
      tail: cursor.tail,
      sessionUid: null,
      state: JSON.stringify({ at: now }),
      seenAt: now,
    });
    return result;
  } catch (err) {
    if (err instanceof AppendedReadError) throw err;
    throw new AppendedReadError(path, (err as NodeJS.ErrnoException).code ?? String((err as Error)?.message ?? err));
  }
}

/** The `files` source under which log offsets are kept. */
export const LOG_SOURCE = "log";

/**
 * Reads what was appended to a log file since the last pass and summarises it (lines, errors, slow
 * responses, growth). On first sight only the file's last `initialTailBytes` are read. Returns null
 * when the file does not exist; a file that cannot be read gives an observation with `error`.
 */
export function tailLog(db: Db, path: string, rules: LogRules, now: number, options: TailOptions = {}): LogObservation | null {
  const obs = errorObservation(path, now, null);
  let read: AppendedRead | null;
  try {
    read = readAppended(db, path, LOG_SOURCE, (line) => judge(line, rules, obs), now, options);
  } catch (err) {
    if (err instanceof AppendedReadError) return errorObservation(path, now, err.reason);
    throw err;
  }
  if (!read) return null;
  return { ...obs, ...read, lines: obs.lines, errorLines: obs.errorLines, slowLines: obs.slowLines, maxDurationMs: obs.maxDurationMs };
}

function judge(raw: Buffer, rules: LogRules, obs: LogObservation): void {
  const line = raw.toString("utf8").trim();
  if (line.length === 0) return;
  obs.lines++;
  const { error, durationMs } = judgeLine(line, rules);
  if (error) obs.errorLines++;
  if (durationMs !== null) {
    if (durationMs > rules.slowMs) obs.slowLines++;
    if (obs.maxDurationMs === null || durationMs > obs.maxDurationMs) obs.maxDurationMs = durationMs;
  }
}

function errorObservation(path: string, now: number, error: string | null): LogObservation {
  return {
    path,
    at: now,
    previousAt: null,
    sizeBefore: 0,
    size: 0,
    bytesRead: 0,
    lines: 0,
    errorLines: 0,
    slowLines: 0,
    maxDurationMs: null,
    rotated: false,
    truncated: false,
    firstSight: false,
    error,
  };
}

const hasWildcard = (s: string) => /[*?]/.test(s);
const segmentRegex = (s: string) =>
  new RegExp(
    `^${s
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );

/**
 * Expands `*` and `?` in any path segment (no `**`). A pattern without wildcards is returned as is,
 * whether or not it exists. Matches modified longer ago than `recentMs` are left out: yesterday's
 * daily log is history, not a live file.
 */
export function expandLogGlobs(patterns: string[], now: number, recentMs = 2 * 24 * 3_600_000): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (!hasWildcard(pattern)) {
      out.add(pattern);
      continue;
    }
    const parts = pattern.split(sep);
    let bases = [parts[0] === "" ? sep : parts[0]!];
    for (let i = 1; i < parts.length; i++) {
      const seg = parts[i]!;
      if (seg === "") continue;
      const next: string[] = [];
      for (const base of bases) {
        if (!hasWildcard(seg)) {
          next.push(join(base, seg));
          continue;
        }
        let entries: Dirent[];
        try {
          entries = readdirSync(base, { withFileTypes: true });
        } catch {
          continue;
        }
        const re = segmentRegex(seg);
        for (const e of entries) if (re.test(e.name)) next.push(join(base, e.name));
      }
      bases = next;
    }
    for (const p of bases) {
      try {
        const st = statSync(p);
        if (st.isFile() && now - st.mtimeMs <= recentMs) out.add(p);
      } catch {
        // Vanished between readdir and stat.
      }
    }
  }
  return [...out].sort();
}
