/**
 * Reads chosen fields of a JSON object straight from its bytes, without decoding or parsing the rest.
 *
 * Agent transcript lines are mostly one or two huge string values (tool output, file contents, model
 * text) around a handful of small fields we need (type, timestamp, usage). `fields` walks one object
 * level, jumping over strings with a native byte search and over nested values by bracket depth, and
 * returns the byte span of each wanted value; the caller parses only those spans (usually a few dozen
 * bytes). A line is never trusted further than this walk can prove: a malformed object yields `null`.
 *
 * ```ts
 * const f = fields(line, whole(line), ["type", "timestamp", "message"]);
 * if (!f) → malformed;  const type = stringAt(line, f.type);  const msg = f.message; // a Span into `line`
 * const m = fields(line, msg, ["id", "usage"]);  const usage = jsonAt(line, m.usage);
 * ```
 */

/** A value's bytes: `buf[start, end)`. */
export interface Span {
  start: number;
  end: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const COLON = 58;
const COMMA = 44;

export const whole = (b: Buffer): Span => ({ start: 0, end: b.length });

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else break;
  }
  return i;
}

/** End (exclusive) of the string whose opening quote is at `i`, or -1. Short strings (keys, ids, timestamps)
 * are scanned in JS; long ones jump from quote to quote with the native search. */
function skipString(b: Buffer, i: number, end: number): number {
  const near = Math.min(end, i + 48);
  let j = i + 1;
  for (; j < near; j++) {
    const c = b[j];
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) break;
  }
  if (j === near && near === end) return -1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q === -1 || q >= end) return -1;
    let k = q - 1;
    let slashes = 0;
    while (k > i && b[k] === BACKSLASH) {
      slashes++;
      k--;
    }
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** End (exclusive) of the value starting at `i`, or -1. */
function skipValue(b: Buffer, i: number, end: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i, end);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    let j = i;
    while (j < end) {
      const d = b[j]!;
      if (d === QUOTE) {
        j = skipString(b, j, end);
        if (j === -1) return -1;
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  let j = i;
  while (j < end) {
    const d = b[j]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET || d === 32 || d === 10 || d === 13 || d === 9) break;
    j++;
  }
  return j > i ? j : -1;
}

/** Wanted keys as bytes, compiled once per (constant) array: matching never decodes a key. The result
 * object is cloned from a template holding every wanted key, so all results of one call site share a shape. */
interface Compiled {
  keys: Uint8Array[];
  /** Wanted key indexes by key length: most keys of a line are rejected by length alone. */
  byLength: number[][];
  template: Record<string, Span | undefined>;
}
const compiledKeys = new WeakMap<readonly string[], Compiled>();
function compile(wanted: readonly string[]): Compiled {
  let c = compiledKeys.get(wanted);
  if (!c) {
    if (wanted.length > 30) throw new RangeError("fields: at most 30 wanted keys");
    const template: Record<string, Span | undefined> = {};
    for (const w of wanted) template[w] = undefined;
    const keys = wanted.map((w) => Buffer.from(w, "latin1"));
    const byLength: number[][] = [];
    keys.forEach((k, w) => {
      for (let n = byLength.length; n <= k.length; n++) byLength.push([]);
      byLength[k.length]!.push(w);
    });
    c = { keys, byLength, template };
    compiledKeys.set(wanted, c);
  }
  return c;
}

/**
 * The spans of the wanted keys of the object at `span` (first occurrence wins). Returns null when the bytes
 * are not an object this walk can follow (the caller counts a parse error), and leaves keys it did not find
 * undefined. Pass a constant array (module-level): it is compiled once and cached by identity.
 */
export function fields<K extends string>(b: Buffer, span: Span, wanted: readonly K[]): Partial<Record<K, Span>> | null {
  const c = compile(wanted);
  const keys = c.keys;
  const byLength = c.byLength;
  const out = { ...c.template } as Partial<Record<K, Span>>;
  let end = span.end;
  while (end > span.start && (b[end - 1] === 32 || b[end - 1] === 10 || b[end - 1] === 13 || b[end - 1] === 9)) end--;
  // A line cut short (a crash mid-write, then more lines) fails here even if the wanted keys came first.
  if (b[end - 1] !== RBRACE) return null;
  let i = skipWs(b, span.start, end);
  if (b[i] !== LBRACE) return null;
  i = skipWs(b, i + 1, end);
  if (b[i] === RBRACE) return out;
  const all = (1 << keys.length) - 1;
  let found = 0;
  for (;;) {
    if (b[i] !== QUOTE) return null;
    const keyEnd = skipString(b, i, end);
    if (keyEnd === -1) return null;
    const keyLen = keyEnd - i - 2;
    let match = -1;
    const candidates = keyLen < byLength.length ? byLength[keyLen]! : undefined;
    if (candidates !== undefined) {
      for (let x = 0; x < candidates.length; x++) {
        const w = candidates[x]!;
        if (found & (1 << w)) continue;
        const key = keys[w]!;
        let k = 0;
        while (k < keyLen && b[i + 1 + k] === key[k]) k++;
        if (k === keyLen) {
          match = w;
          break;
        }
      }
    }
    i = skipWs(b, keyEnd, end);
    if (b[i] !== COLON) return null;
    i = skipWs(b, i + 1, end);
    const vEnd = skipValue(b, i, end);
    if (vEnd === -1) return null;
    if (match !== -1) {
      out[wanted[match]!] = { start: i, end: vEnd };
      found |= 1 << match;
      // Everything wanted is found: stop walking (the rest of a huge line is never touched).
      if (found === all) return out;
    }
    i = skipWs(b, vEnd, end);
    if (b[i] === COMMA) {
      i = skipWs(b, i + 1, end);
      continue;
    }
    if (b[i] === RBRACE) return out;
    return null;
  }
}

/** The spans of the elements of the array at `span`, or null when it is not an array. */
export function elements(b: Buffer, span: Span): Span[] | null {
  const out: Span[] = [];
  const end = span.end;
  let i = skipWs(b, span.start, end);
  if (b[i] !== LBRACKET) return null;
  i = skipWs(b, i + 1, end);
  if (b[i] === RBRACKET) return out;
  for (;;) {
    const vEnd = skipValue(b, i, end);
    if (vEnd === -1) return null;
    out.push({ start: i, end: vEnd });
    i = skipWs(b, vEnd, end);
    if (b[i] === COMMA) {
      i = skipWs(b, i + 1, end);
      continue;
    }
    return b[i] === RBRACKET ? out : null;
  }
}

/** Parses the value at `span` (undefined span → undefined; invalid JSON → undefined). */
export function jsonAt(b: Buffer, span: Span | undefined): unknown {
  if (!span) return undefined;
  try {
    return JSON.parse(b.toString("utf8", span.start, span.end));
  } catch {
    return undefined;
  }
}

/** The string at `span`, or null when absent or not a string. Fast path for strings without escapes. */
export function stringAt(b: Buffer, span: Span | undefined): string | null {
  if (!span || b[span.start] !== QUOTE) return null;
  const start = span.start + 1;
  const end = span.end - 1;
  for (let i = start; i < end; i++) {
    if (b[i] === BACKSLASH) {
      const v = jsonAt(b, span);
      return typeof v === "string" ? v : null;
    }
  }
  return b.toString("utf8", start, end);
}

/**
 * True when the value at `span` is the JSON string whose raw (escape-free) bytes are `raw`: compares
 * without decoding. `raw` is a Buffer of the string's characters (no quotes), e.g. `Buffer.from("assistant")`.
 */
export function stringIs(b: Buffer, span: Span | undefined, raw: Uint8Array): boolean {
  if (!span || span.end - span.start !== raw.length + 2 || b[span.start] !== QUOTE) return false;
  const o = span.start + 1;
  for (let i = 0; i < raw.length; i++) if (b[o + i] !== raw[i]) return false;
  return true;
}

/** True when the bytes of the values at `span` equal `prev` exactly (a cheap "did it change?" test). */
export function sameBytes(b: Buffer, span: Span | undefined, prev: Uint8Array | null): boolean {
  if (!span || prev === null || span.end - span.start !== prev.length) return false;
  for (let i = 0; i < prev.length; i++) if (b[span.start + i] !== prev[i]) return false;
  return true;
}

const d2 = (b: Buffer, i: number) => (b[i]! - 48) * 10 + (b[i + 1]! - 48);

/**
 * The epoch ms of an ISO-8601 UTC timestamp string at `span` (`"2026-11-20T09:00:03.512Z"`), read from the
 * bytes without building a string; other shapes fall back to Date.parse. NaN when absent or invalid.
 */
export function timeAt(b: Buffer, span: Span | undefined): number {
  if (!span || b[span.start] !== QUOTE) return Number.NaN;
  const i = span.start + 1;
  const len = span.end - span.start - 2;
  if ((len === 24 || len === 20) && b[i + 4] === 45 && b[i + 10] === 84 && b[i + 13] === 58 && b[i + 16] === 58 && b[i + len - 1] === 90) {
    const ms = len === 24 ? (b[i + 20]! - 48) * 100 + d2(b, i + 21) : 0;
    const t = Date.UTC(d2(b, i) * 100 + d2(b, i + 2), d2(b, i + 5) - 1, d2(b, i + 8), d2(b, i + 11), d2(b, i + 14), d2(b, i + 17), ms);
    if (!Number.isNaN(t)) return t;
  }
  const str = stringAt(b, span);
  return str === null ? Number.NaN : Date.parse(str);
}

/** The number at `span`, or null. */
export function numberAt(b: Buffer, span: Span | undefined): number | null {
  if (!span) return null;
  const c = b[span.start]!;
  if (c !== 45 && (c < 48 || c > 57)) return null;
  const n = Number(b.toString("latin1", span.start, span.end));
  return Number.isFinite(n) ? n : null;
}

/** True when the value at `span` is the literal `true`. */
export const isTrue = (b: Buffer, span: Span | undefined): boolean => span !== undefined && span.end - span.start === 4 && b[span.start] === 116;

/** True when the value at `span` is the literal `null` (or absent). */
export const isNullOrAbsent = (b: Buffer, span: Span | undefined): boolean => span === undefined || (span.end - span.start === 4 && b[span.start] === 110);
