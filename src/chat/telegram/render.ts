import type { InlineKeyboardMarkup } from "grammy/types";
import { type Button, maxButtonDataBytes, type View } from "../../messages/view.ts";

/** One Telegram message ready to send: HTML text (parse_mode "HTML") and an optional inline keyboard. */
export interface RenderedMessage {
  html: string;
  keyboard?: InlineKeyboardMarkup | undefined;
}

/** A piece of HTML that is never cut, and what separates it from the piece before it. */
interface Atom {
  html: string;
  sep: string;
}

/** A view that cannot be sent as it is (a bug in whoever built it, not a network fault). */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly detail: { button?: Button } = {},
  ) {
    super(message);
    this.name = "RenderError";
  }
}

/** Telegram's limit on message text (after entity parsing; HTML length is always at least that). */
export const telegramTextLimit = 4096;

/** Severity at a glance: the first thing on a phone's lock screen. */
export const toneMarks = { critical: "🔴", warning: "🟠", info: "🔵", ok: "✅" } as const;

/** Escapes the three characters Telegram's HTML parse mode reserves (`&` first). */
export const escapeHtml = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A surrogate without its partner: Telegram refuses the whole request ("strings must be encoded in UTF-8"). */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Plain text within `max` UTF-16 units (Telegram's counting, e.g. 200 for a callback answer),
 * cut between code points and with any lone surrogate (an emoji someone cut in half) removed.
 */
export function clipText(text: string, max: number): string {
  const clean = text.replace(loneSurrogate, "");
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const escapedLength = (ch: string) => (ch === "&" ? 5 : ch === "<" || ch === ">" ? 4 : ch.length);

/**
 * Cuts plain text into pieces whose escaped form fits `max` characters. Cuts fall between code
 * points (never inside a surrogate pair) and, since the cut happens before escaping, never inside an
 * entity such as `&amp;`.
 */
export function cutPlain(text: string, max: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  let size = 0;
  for (const ch of text) {
    const n = escapedLength(ch);
    if (size + n > max && piece) {
      pieces.push(piece);
      piece = "";
      size = 0;
    }
    piece += ch;
    size += n;
  }
  if (piece || pieces.length === 0) pieces.push(piece);
  return pieces;
}

const escapedSize = (text: string) => {
  let n = 0;
  for (const ch of text) n += escapedLength(ch);
  return n;
};

/** Preformatted lines as `<pre>` blocks, each within `limit`, cut only between lines unless a line alone is too long. */
function preAtoms(lines: string[], limit: number, sep: string): Atom[] {
  const wrap = (s: string) => `<pre>${escapeHtml(s)}</pre>`;
  const room = limit - "<pre></pre>".length;
  const atoms: Atom[] = [];
  let block: string[] = [];
  let size = 0;
  const flush = () => {
    if (block.length) atoms.push({ html: wrap(block.join("\n")), sep: atoms.length ? "\n" : sep });
    block = [];
    size = 0;
  };
  for (const line of lines) {
    const n = escapedSize(line);
    if (n > room) {
      flush();
      for (const piece of cutPlain(line, room)) atoms.push({ html: wrap(piece), sep: atoms.length ? "\n" : sep });
      continue;
    }
    const extra = block.length ? n + 1 : n;
    if (size + extra > room) flush();
    size += block.length ? n + 1 : n;
    block.push(line);
  }
  flush();
  return atoms;
}

/** Plain lines, escaped; a line too long for one message is cut into several. */
function lineAtoms(lines: string[], limit: number, sep: string): Atom[] {
  const atoms: Atom[] = [];
  for (const line of lines) {
    // Pieces of one cut line are rejoined without a break when they land in the same message.
    cutPlain(line, limit).forEach((piece, j) => {
      atoms.push({ html: escapeHtml(piece), sep: j > 0 ? "" : atoms.length ? "\n" : sep });
    });
  }
  return atoms;
}

/** Every piece of the view in order; each piece is whole HTML (balanced tags, whole entities) within `limit`. */
function viewAtoms(view: View, limit: number): Atom[] {
  const atoms: Atom[] = [];
  const mark = view.tone ? `${toneMarks[view.tone]} ` : "";
  if (view.title) {
    const room = limit - mark.length - "<b></b>".length;
    for (const piece of cutPlain(view.title, room)) atoms.push({ html: `${mark}<b>${escapeHtml(piece)}</b>`, sep: "\n" });
  } else if (mark) {
    atoms.push({ html: mark.trim(), sep: "\n" });
  }
  for (const section of view.sections) {
    const sep = atoms.length ? "\n\n" : "";
    const body = section.pre ? preAtoms(section.lines, limit, sep) : lineAtoms(section.lines, limit, sep);
    if (section.heading) {
      const headRoom = limit - "<b></b>".length;
      const heads = cutPlain(section.heading, headRoom).map((p, i) => ({ html: `<b>${escapeHtml(p)}</b>`, sep: i ? "\n" : sep }));
      const first = body[0];
      const lastHead = heads[heads.length - 1]!;
      // Keep a heading with its first line when they fit together, so a heading never ends a message.
      if (first && lastHead.html.length + 1 + first.html.length <= limit) {
        heads[heads.length - 1] = { html: `${lastHead.html}\n${first.html}`, sep: lastHead.sep };
        body.shift();
      }
      atoms.push(...heads);
    }
    atoms.push(...body);
  }
  if (atoms.length === 0) atoms.push({ html: "–", sep: "" });
  return atoms;
}

/** Byte length of a string in UTF-8. */
const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** The inline keyboard for a view; throws `RenderError` for button data Telegram would refuse. */
export function renderKeyboard(buttons: Button[][] | undefined): InlineKeyboardMarkup | undefined {
  const rows = (buttons ?? []).filter((row) => row.length > 0);
  if (rows.length === 0) return undefined;
  for (const button of rows.flat()) {
    const bytes = utf8Bytes(button.data);
    if (bytes < 1 || bytes > maxButtonDataBytes || !/^[\x20-\x7e]+$/.test(button.data)) {
      throw new RenderError(`button "${button.label}" has data of ${bytes} bytes; it must be 1–${maxButtonDataBytes} bytes of ASCII`, {
        button,
      });
    }
  }
  return { inline_keyboard: rows.map((row) => row.map((b) => ({ text: b.label || "·", callback_data: b.data }))) };
}

/**
 * Renders a view as one or more Telegram HTML messages, each at most `limit` characters. Messages
 * are cut only between whole elements (title, heading, line, `<pre>` block), so no tag or entity is
 * ever split; a single line longer than a message is cut as plain text before escaping. Buttons go
 * on the last message, the one a later edit or a button press refers to.
 */
export function renderView(view: View, limit = telegramTextLimit): RenderedMessage[] {
  const keyboard = renderKeyboard(view.buttons);
  const messages: string[] = [];
  let current = "";
  for (const atom of viewAtoms(view, limit)) {
    const joined = current ? `${current}${atom.sep}${atom.html}` : atom.html;
    if (joined.length <= limit) {
      current = joined;
    } else {
      messages.push(current);
      current = atom.html;
    }
  }
  messages.push(current);
  // Telegram refuses empty text; a view of empty lines still says something.
  return messages.map((html) => (html.trim() ? html : "–")).map((html, i) => ({ html, keyboard: i === messages.length - 1 ? keyboard : undefined }));
}

/**
 * Renders a view as exactly one message, for edits in place: when it does not fit, the first
 * message is kept and marked as cut, since an edit cannot add messages.
 */
export function renderSingle(view: View, limit = telegramTextLimit): RenderedMessage {
  const marker = "\n…";
  const parts = renderView(view, limit - marker.length);
  const last = parts[parts.length - 1]!;
  if (parts.length === 1) return last;
  return { html: `${parts[0]!.html}${marker}`, keyboard: last.keyboard };
}
