import { closeSync, openSync, readSync, type Stats } from "node:fs";

/**
 * The incremental, byte-level JSONL reader every file-based source shares.
 *
 * A cycle reads only the bytes appended since the last one, hands each *whole* line to the adapter as a
 * Buffer view (a half-written last line waits for the next cycle), and reports where it stopped so the
 * caller can store the cursor in the `files` table (see files.ts). The adapter searches the raw bytes for
 * the markers it cares about and decodes/parses only those lines: decoding text is the cost of a scan.
 *
 * Usage, per file in a scan cycle:
 * ```ts
 * const st = statSync(path);                        // throws → the file vanished: mark its session gone
 * const prev = files.get(path);                      // FileCursor | undefined
 * const plan = planRead(path, st, prev);             // skip | append (from the cursor) | restart (from 0)
 * if (plan.kind === "skip") continue;                // a no-change cycle reads no bytes
 * const state = plan.kind === "append" ? JSON.parse(prev.state) : freshState();
 * const out = readLines(path, plan.from, st.size, (line, lineNo) => {
 *   if (!hasMarker(line, USAGE)) return;              // cheap: memchr-speed search in the raw bytes
 *   const v = parseLine(line);                        // decode + JSON.parse only the lines that matter
 *   if (v instanceof LineError) { count it; return; } // recorded on the session, never fatal
 *   ...
 * });
 * files.put({ ...identity(st), path, source, offset: out.offset, lineNo: out.lineNo, tail: out.tail, ... });
 * ```
 * Memory stays flat: one shared buffer (grown only while a line is longer than it, never past the line cap)
 * is reused for every file; a longer line is skipped and counted in `oversized`.
 */

/** Where reading stands: the byte offset just after the last whole line consumed, and lines consumed so far. */
export interface ReadPosition {
  offset: number;
  lineNo: number;
}

/** What one `readLines` call did. */
export interface ReadOutcome extends ReadPosition {
  bytesRead: number;
  /** Base64 of the last bytes before `offset` (≤ 32): lets the next cycle prove the file was only appended to. */
  tail: string;
  /** Bytes of a trailing partial line left for the next cycle. */
  pending: number;
  /** Lines longer than the cap, skipped without being held (see LineSplitter). */
  oversized: number;
  /** Size of the largest line buffer used: bounded by the cap, whatever the file holds. */
  peakBuffer: number;
}

/** Called once per whole, non-empty line. `line` excludes the newline and a trailing CR; it is a view into a
 * reused buffer, valid only during the call (copy what you keep; `toString` copies). */
export type LineHandler = (line: Buffer, lineNo: number) => void;

/** The identity and size fields a cursor remembers about a file. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** What the previous cycle left: identity, cursor, and the tail fingerprint. */
export interface PreviousRead extends FileIdentity, ReadPosition {
  tail: string;
}

/** What to do with a file this cycle. */
export type ReadPlan =
  | { kind: "skip" /** Same bytes, new mtime: store the new mtime so the next cycle skips on stat alone. */; touched?: boolean }
  | { kind: "append"; from: ReadPosition }
  | { kind: "restart"; from: ReadPosition; reason: "new" | "replaced" | "shrunk" | "rewritten" };

/** A line that is not valid JSON (or not an object), with the reason, for the session's parse-error record. */
export class LineError {
  constructor(
    readonly lineNo: number,
    readonly reason: string,
  ) {}
  toString() {
    return `line ${this.lineNo}: ${this.reason}`;
  }
}

const TAIL_BYTES = 32;
const INITIAL_BUFFER = 256 * 1024;
/** A buffer grown for a huge line is dropped back to the initial size after the file, above this. */
const KEEP_BUFFER = 4 * 1024 * 1024;
/** Default cap on one line (`sources.maxLineBytes`): a longer line is skipped and counted, never held whole. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const NL = 10;
const CR = 13;

const zero: ReadPosition = { offset: 0, lineNo: 0 };

export const identity = (st: Stats): FileIdentity => ({
  dev: st.dev,
  ino: st.ino,
  size: st.size,
  mtimeMs: Math.trunc(st.mtimeMs),
});

/**
 * Decides how to read a file given what the last cycle saw. Same inode, same size and mtime → skip (no bytes
 * read). Grown → append from the cursor, but only if the bytes just before the cursor are still the ones we
 * read (a file truncated and regrown past its old size is caught here). A new inode, a shrink or a same-size
 * rewrite → restart from 0, and the caller rebuilds the session row instead of adding to it.
 */
export function planRead(path: string, st: Stats, prev: PreviousRead | undefined): ReadPlan {
  if (!prev) return { kind: "restart", from: zero, reason: "new" };
  if (prev.dev !== st.dev || prev.ino !== st.ino) return { kind: "restart", from: zero, reason: "replaced" };
  const mtimeMs = Math.trunc(st.mtimeMs);
  if (st.size === prev.size && mtimeMs === prev.mtimeMs) return { kind: "skip" };
  if (st.size < prev.size || st.size < prev.offset) return { kind: "restart", from: zero, reason: "shrunk" };
  if (st.size === prev.size) {
    // Touched without growing: unchanged content is the common case (and cheap to prove); otherwise re-read.
    return tailMatches(path, prev) ? { kind: "skip", touched: true } : { kind: "restart", from: zero, reason: "rewritten" };
  }
  if (!tailMatches(path, prev)) return { kind: "restart", from: zero, reason: "rewritten" };
  return { kind: "append", from: { offset: prev.offset, lineNo: prev.lineNo } };
}

function tailMatches(path: string, prev: PreviousRead): boolean {
  if (prev.offset === 0) return true;
  try {
    return readTail(path, prev.offset) === prev.tail;
  } catch {
    return false;
  }
}

function readTail(path: string, offset: number, fd?: number): string {
  const n = Math.min(TAIL_BYTES, offset);
  if (n === 0) return "";
  const own = fd === undefined;
  const handle = fd ?? openSync(path, "r");
  try {
    const b = Buffer.allocUnsafe(n);
    const got = readSync(handle, b, 0, n, offset - n);
    return b.subarray(0, got).toString("base64");
  } finally {
    if (own) closeSync(handle);
  }
}

/**
 * Splits a byte stream into lines with one growable buffer. Used directly for decompressed streams
 * (`push`), and by `readLines` which reads straight into the buffer (no copy).
 *
 * A line longer than `maxLine` is never held whole: once the partial line passes the cap its bytes are
 * dropped as they arrive (the buffer stops growing at the cap) until its newline, and it is counted in
 * `oversized` instead of handed out. Memory is bounded by the cap plus one read, whatever the input.
 */
export class LineSplitter {
  private len = 0;
  /** Bytes of the current oversized line dropped so far (0 when not inside one). */
  private dropped = 0;
  /** Bytes of whole lines consumed since construction. */
  consumed = 0;
  /** Lines skipped for being longer than `maxLine`. */
  oversized = 0;
  /** The largest buffer this splitter read into: what one line could cost in memory. */
  peakBuffer = 0;

  constructor(
    private readonly onLine: LineHandler,
    public lineNo = 0,
    private readonly holder: { buf: Buffer } = { buf: Buffer.allocUnsafe(INITIAL_BUFFER) },
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  /** Room to read into: the buffer and where to start writing; grows it (never past the cap) when a partial line fills it. */
  space(): { buf: Buffer; at: number; room: number } {
    let buf = this.holder.buf;
    if (this.len === buf.length) {
      // len ≤ maxLine here (a longer partial line is dropped in commit), so the buffer always gets bigger.
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, this.maxLine + 1));
      buf.copy(bigger, 0, 0, this.len);
      this.holder.buf = buf = bigger;
    }
    if (buf.length > this.peakBuffer) this.peakBuffer = buf.length;
    return { buf, at: this.len, room: buf.length - this.len };
  }

  /** `n` new bytes were written at `space().at`: emit every whole line among them, keep the rest. */
  commit(n: number): void {
    const buf = this.holder.buf;
    const stop = this.len + n;
    const view = buf.subarray(0, stop);
    let start = 0;
    // The kept partial line has no newline, so the search starts at the new bytes.
    let nl = view.indexOf(NL, this.len);
    if (this.dropped > 0) {
      // Inside an oversized line: everything up to its newline goes (len is 0 while dropping).
      if (nl === -1) {
        this.dropped += stop;
        this.len = 0;
        return;
      }
      this.skipLine(this.dropped); // the rest of it, up to the newline, is counted with `start` below
      this.dropped = 0;
      start = nl + 1;
      nl = view.indexOf(NL, start);
    }
    while (nl !== -1) {
      let end = nl;
      if (end > start && buf[end - 1] === CR) end--;
      if (end - start > this.maxLine) this.skipLine(0);
      else {
        this.lineNo++;
        if (end > start) this.onLine(buf.subarray(start, end), this.lineNo);
      }
      start = nl + 1;
      nl = view.indexOf(NL, start);
    }
    this.consumed += start;
    const rest = stop - start;
    if (rest > this.maxLine) {
      // Past the cap without a newline: drop what is held and keep dropping until the line ends.
      this.dropped = rest;
      this.len = 0;
      return;
    }
    if (start > 0 && start < stop) buf.copy(buf, 0, start, stop);
    this.len = rest;
  }

  /** Counts one oversized line; `bytes` of it were dropped outside the current view (they count as consumed). */
  private skipLine(bytes: number): void {
    this.lineNo++;
    this.oversized++;
    this.consumed += bytes;
  }

  /** Copies a chunk in (for streams that hand out their own buffers). */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const s = this.space();
      const n = Math.min(s.room, chunk.length - at);
      s.buf.set(chunk.subarray(at, at + n), s.at);
      this.commit(n);
      at += n;
    }
  }

  /** Bytes of the trailing partial line not yet emitted (dropped bytes of an oversized one included). */
  get pending(): number {
    return this.len + this.dropped;
  }

  /** Emits the trailing partial line as a line: only for documents known to be complete (a .zst file). */
  finish(): void {
    if (this.dropped > 0) {
      this.skipLine(this.dropped + this.len);
      this.dropped = 0;
      this.len = 0;
      return;
    }
    if (this.len === 0) return;
    this.lineNo++;
    this.onLine(this.holder.buf.subarray(0, this.len), this.lineNo);
    this.consumed += this.len;
    this.len = 0;
  }

  /** Drops a buffer grown for a huge line, so one such line does not pin memory for the process. */
  release(): void {
    if (this.holder.buf.length > KEEP_BUFFER) this.holder.buf = Buffer.allocUnsafe(INITIAL_BUFFER);
  }
}

/** One buffer for every plain-file read in the process; reads are synchronous, so it is never shared at once. */
const shared = { buf: Buffer.allocUnsafe(INITIAL_BUFFER) };

/**
 * Reads the whole lines of `path` between `from.offset` and `end` (the size stat saw; bytes appended after
 * the stat wait for the next cycle), calling `onLine` for each. Throws the fs error if the file cannot be
 * opened or read (the caller marks the session gone).
 */
export function readLines(path: string, from: ReadPosition, end: number, onLine: LineHandler, maxLine = MAX_LINE_BYTES): ReadOutcome {
  const fd = openSync(path, "r");
  const splitter = new LineSplitter(onLine, from.lineNo, shared, maxLine);
  let pos = from.offset;
  let bytesRead = 0;
  try {
    while (pos < end) {
      const s = splitter.space();
      const n = readSync(fd, s.buf, s.at, Math.min(s.room, end - pos), pos);
      if (n === 0) break; // shrank under us; the next cycle's stat sees it
      pos += n;
      bytesRead += n;
      splitter.commit(n);
    }
    const offset = from.offset + splitter.consumed;
    const pending = splitter.pending;
    const tail = readTail(path, offset, fd);
    return { offset, lineNo: splitter.lineNo, bytesRead, tail, pending, oversized: splitter.oversized, peakBuffer: splitter.peakBuffer };
  } finally {
    splitter.release();
    closeSync(fd);
  }
}

/** True when `marker` occurs in `line` (a native byte search; no decoding). */
export const hasMarker = (line: Buffer, marker: Buffer): boolean => line.indexOf(marker) !== -1;

/** Decodes and parses one line; a bad line comes back as a LineError (never thrown). */
export function parseLine(line: Buffer, lineNo: number): Record<string, unknown> | LineError {
  let value: unknown;
  try {
    value = JSON.parse(line.toString("utf8"));
  } catch (err) {
    return new LineError(lineNo, `invalid JSON (${(err as Error).message.slice(0, 120)})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return new LineError(lineNo, "not a JSON object");
  }
  return value as Record<string, unknown>;
}
