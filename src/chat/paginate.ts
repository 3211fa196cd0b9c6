import { randomBytes } from "node:crypto";
import type { TransportName } from "../messages/transport.ts";
import type { Button, View, ViewSection } from "../messages/view.ts";

/**
 * Longest message text each platform accepts (Telegram 4096 after entity parsing, Discord 2000).
 * The terminal has no limit, and its replies cannot be edited in place, so it is never paginated.
 */
export const textLimits: Record<TransportName, number> = { telegram: 4096, discord: 2000, console: Number.POSITIVE_INFINITY };

/**
 * The character budget for one page: the platform limit less room for markup a transport adds
 * (bold headings, code fences, HTML escapes), so a page never comes back "message is too long".
 */
export const pageBudget = (transport: TransportName) => Math.floor(textLimits[transport] * 0.85);

/** Page button data: `pg:<page>:<token>`, page counted from 1. */
export const pageData = (page: number, token: string) => `pg:${page}:${token}`;
export const parsePageData = (data: string): { page: number; token: string } | null => {
  const m = /^pg:(\d{1,4}):([a-f0-9]{8})$/.exec(data);
  return m ? { page: Number(m[1]), token: m[2]! } : null;
};

const reserveForPageMark = 16; // " (page 99/99)"

/** Splits one line that alone exceeds the budget into pieces that fit. */
function chop(line: string, max: number): string[] {
  if (line.length <= max) return [line];
  const out: string[] = [];
  for (let i = 0; i < line.length; i += max) out.push(line.slice(i, i + max));
  return out;
}

/**
 * Splits a view into pages whose plain-text rendering stays within `budget` characters. Sections
 * continue across pages (their heading repeated with "(cont.)"); a line longer than a page is cut.
 * The first page keeps the view's buttons and key; other fields are copied to every page. A view
 * that fits is returned as the only page, unchanged.
 */
export function paginateView(view: View, budget: number): View[] {
  const titleLen = view.title ? view.title.length + reserveForPageMark + 2 : reserveForPageMark + 2;
  const room = Math.max(40, budget - titleLen);
  const pages: ViewSection[][] = [[]];
  let used = 0;
  for (const section of view.sections) {
    const headLen = section.heading ? section.heading.length + 1 : 0;
    const indent = section.pre ? 2 : 0;
    let current: ViewSection | null = null;
    const open = (cont: boolean) => {
      current = { ...section, heading: section.heading ? `${section.heading}${cont ? " (cont.)" : ""}` : undefined, lines: [] };
      if (!section.heading) delete current.heading;
      pages.at(-1)!.push(current);
      used += 2 + headLen + (cont ? 8 : 0);
    };
    if (used + 2 + headLen > room && pages.at(-1)!.length) {
      pages.push([]);
      used = 0;
    }
    open(false);
    for (const whole of section.lines) {
      for (const line of chop(whole, room - headLen - indent - 10)) {
        const cost = (current!.lines.length ? 1 : 0) + indent + line.length;
        if (used + cost > room && current!.lines.length) {
          pages.push([]);
          used = 0;
          open(true);
        }
        current!.lines.push(line);
        used += (current!.lines.length > 1 ? 1 : 0) + indent + line.length;
      }
    }
  }
  if (pages.length === 1) return [view];
  return pages.map((sections, i) => {
    const page: View = { ...view, sections, title: `${view.title ?? ""} (page ${i + 1}/${pages.length})`.trim() };
    if (i > 0) {
      delete page.buttons;
      delete page.key;
    }
    return page;
  });
}

/** Adds a Prev/Next row to each page, pointing at `token` in a PageCache. */
export function withPageButtons(pages: View[], token: string): View[] {
  if (pages.length < 2) return pages;
  return pages.map((p, i) => {
    const nav: Button[] = [];
    if (i > 0) nav.push({ label: `‹ ${i}/${pages.length}`, data: pageData(i, token) });
    if (i < pages.length - 1) nav.push({ label: `${i + 2}/${pages.length} ›`, data: pageData(i + 2, token) });
    return { ...p, buttons: [...(p.buttons ?? []), nav] };
  });
}

/**
 * Pages of recent long answers, so a page button (which carries only a short token) can be answered
 * from memory. Bounded in size and age; a missing page means "run the command again".
 */
export class PageCache {
  private readonly entries = new Map<string, { pages: View[]; at: number }>();

  constructor(
    private readonly maxEntries = 200,
    private readonly ttlMs = 60 * 60_000,
  ) {}

  /** Paginates a view for a transport; returns the first page (with nav buttons when there are more). */
  paginate(view: View, transport: TransportName, now = Date.now()): View {
    const pages = paginateView(view, pageBudget(transport));
    if (pages.length === 1) return pages[0]!;
    const token = randomBytes(4).toString("hex");
    const nav = withPageButtons(pages, token);
    this.entries.set(token, { pages: nav, at: now });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return nav[0]!;
  }

  /** Page `n` (from 1) of a cached answer, or undefined when it is unknown or too old. */
  page(token: string, n: number, now = Date.now()): View | undefined {
    const e = this.entries.get(token);
    if (!e || now - e.at > this.ttlMs) {
      this.entries.delete(token);
      return undefined;
    }
    return e.pages[n - 1];
  }
}
