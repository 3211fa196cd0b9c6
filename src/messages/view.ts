/**
 * What a command answers and what an alert looks like, independent of any chat platform. Each
 * transport renders a View within its own limits (Telegram 4096 chars and 64-byte callback data,
 * Discord 2000 chars / embeds and 100-char custom ids) and paginates.
 */
export interface View {
  title?: string;
  sections: ViewSection[];
  /** Rows of buttons. `data` is an opaque short ASCII token (≤ 64 bytes), looked up server-side. */
  buttons?: Button[][];
  /** A small hint for transports: only the caller should see it (Discord ephemeral). */
  private?: boolean;
  /** Send without a notification sound (Telegram `disable_notification`). */
  silent?: boolean;
  /** Severity colour/marker for transports that show one. */
  tone?: "info" | "warning" | "critical" | "ok";
  /**
   * Set by the core when it must edit this message later (e.g. "action:12" for an approval
   * request): after sending a reply that carries a key, the transport reports where it landed
   * through `Inbound.delivered(key, ref)`.
   */
  key?: string;
  /**
   * A picture sent with the view (a chart report): Telegram sends it as a photo with the view as its caption,
   * Discord as an attachment shown in the embed, the console writes it to a file and prints the path.
   */
  image?: ViewImage;
}

/** A PNG that travels with a view. The text of the view stays short: it becomes the picture's caption. */
export interface ViewImage {
  png: Uint8Array;
  /** The file name it is sent (or written) under, e.g. "asm-report-7d.png": ASCII letters, digits, `.`, `-`, `_`. */
  filename: string;
  width: number;
  height: number;
  /** What it shows, in words (alt text; the console prints it beside the path). */
  alt: string;
}

export interface ViewSection {
  heading?: string;
  lines: string[];
  /** Render as preformatted/monospace text (tables, commands to copy). */
  pre?: boolean;
}

export interface Button {
  label: string;
  data: string;
  style?: "primary" | "secondary" | "success" | "danger";
}

/** The largest callback payload every platform accepts (Telegram: 64 bytes of UTF-8). */
export const maxButtonDataBytes = 64;

/** A view with a single line, for short answers and refusals. */
export const textView = (line: string, extra: Partial<View> = {}): View => ({ sections: [{ lines: [line] }], ...extra });

/** Plain-text rendering, used by the console and as a fallback. */
export function viewToText(view: View): string {
  const parts: string[] = [];
  if (view.title) parts.push(view.title);
  for (const s of view.sections) {
    const body = s.pre ? s.lines.map((l) => `  ${l}`) : s.lines;
    parts.push([s.heading ? `${s.heading}` : null, ...body].filter((x) => x !== null).join("\n"));
  }
  return parts.join("\n\n");
}
