/**
 * Output that shares a terminal with an interactive prompt. A line written while `asm> /sess` is on
 * screen would land after the half-typed command and leave no prompt; with a guard set, the prompt line is
 * cleared first and drawn again (with what was typed) after the output.
 */

/** What the interactive prompt does around output it did not write itself. */
export interface PromptGuard {
  /** Clears the prompt line, if a prompt is showing. */
  before(): void;
  /** Draws the prompt again, with what was typed so far, if one was showing. */
  after(): void;
}

let current: PromptGuard | null = null;

/** Set by the console while its prompt reads a terminal; null when it stops. */
export function setPromptGuard(guard: PromptGuard | null): void {
  current = guard;
}

/** Writes `text` above the prompt (cleared, then redrawn), or plainly when no prompt is showing. */
export function writeAbovePrompt(stream: NodeJS.WritableStream, text: string | Uint8Array): void {
  const guard = current;
  guard?.before();
  stream.write(text);
  guard?.after();
}
