import type { View } from "../../src/messages/view.ts";

/** A phone shows 35–45 monospace columns: every view is checked at 40. */
export const PHONE = 40;

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** Columns a line takes on screen: an emoji (with its variation selector or joiners) takes two, anything else one. */
export function displayWidth(line: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(line)) width += /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(segment) ? 2 : 1;
  return width;
}

export interface PhoneOptions {
  /** Prose lines may wrap at spaces (a detail view's sentences): then only each word must fit. Lists and `pre` blocks never wrap. */
  wrap?: boolean;
  /** Lines that must stay whole to be copied (a resume command). */
  allow?: (line: string) => boolean;
}

/**
 * The lines of a view that do not read well `PHONE` columns wide, as `title|heading|line: text`; empty when
 * all fit. A `pre` block's lines must fit as they are; prose lines too, unless `wrap`.
 */
export function tooWide(view: View, options: PhoneOptions = {}): string[] {
  const bad: string[] = [];
  const check = (where: string, line: string, pre: boolean) => {
    if (options.allow?.(line)) return;
    const fits = !pre && options.wrap ? line.split(/\s+/).every((w) => displayWidth(w) <= PHONE) : displayWidth(line) <= PHONE;
    if (!fits) bad.push(`${where}: ${line}`);
  };
  if (view.title) check("title", view.title, false);
  for (const s of view.sections) {
    if (s.heading) check("heading", s.heading, false);
    for (const l of s.lines) for (const part of l.split("\n")) check("line", part, s.pre === true);
  }
  return bad;
}
