/** The text is not JSON even after the JSON5 conveniences were removed. */
export class Json5Error extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "Json5Error";
  }
}

const identStart = /[A-Za-z_$]/;
const identPart = /[A-Za-z0-9_$]/;

/**
 * Turns the JSON5 that OpenClaw users hand-write (comments, trailing commas, unquoted keys,
 * single-quoted strings) into strict JSON text, then parses it. No dependency: the subset people
 * really write in `openclaw.json` is small, and anything beyond it fails with a clear error.
 */
export function parseJson5ish(text: string): unknown {
  try {
    return JSON.parse(toStrictJson(text));
  } catch (err) {
    throw new Json5Error((err as Error).message);
  }
}

/** The strict-JSON rewrite behind `parseJson5ish` (exported for tests). */
export function toStrictJson(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  // Index in `out` of a comma that may turn out to be trailing.
  let pendingComma = -1;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = scanString(text, i);
      out += c === '"' ? text.slice(i, end) : requote(text.slice(i + 1, end - 1));
      pendingComma = -1;
      i = end;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new Json5Error("unterminated /* comment");
      i = end + 2;
      continue;
    }
    if (c === ",") {
      pendingComma = out.length;
      out += c;
      i++;
      continue;
    }
    if (c === "}" || c === "]") {
      if (pendingComma >= 0) out = out.slice(0, pendingComma) + out.slice(pendingComma + 1);
      pendingComma = -1;
      out += c;
      i++;
      continue;
    }
    if (identStart.test(c)) {
      let j = i + 1;
      while (j < n && identPart.test(text[j]!)) j++;
      const word = text.slice(i, j);
      let k = j;
      while (k < n && /\s/.test(text[k]!)) k++;
      out += text[k] === ":" ? JSON.stringify(word) : word;
      pendingComma = -1;
      i = j;
      continue;
    }
    if (!/\s/.test(c)) pendingComma = -1;
    out += c;
    i++;
  }
  return out;
}

/** Index just past the closing quote of the string starting at `start`. */
function scanString(text: string, start: number): number {
  const q = text[start];
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === q) return i + 1;
    if (c === "\n") break;
    i++;
  }
  throw new Json5Error(`unterminated string starting at offset ${start}`);
}

/** The body of a single-quoted string as a double-quoted JSON string. */
function requote(body: string): string {
  let s = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      const next = body[i + 1] ?? "";
      i++;
      s += next === "'" ? "'" : `\\${next}`;
    } else {
      s += c === '"' ? '\\"' : c;
    }
  }
  return `"${s}"`;
}
