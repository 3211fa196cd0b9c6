import { describe, expect, it } from "vitest";
import { PageCache, pageBudget, paginateView, parsePageData, textLimits, withPageButtons } from "../../src/chat/paginate.ts";
import { type View, viewToText } from "../../src/messages/view.ts";

const rows = (n: number, width = 70) => Array.from({ length: n }, (_, i) => `${String(i).padStart(4, "0")} ${"x".repeat(width - 5)}`);

const bigView = (): View => ({
  title: "Sessions (600; all, urgency)",
  sections: [{ heading: "Table", lines: rows(600), pre: true }, { lines: ["Open one with /session <id-prefix>."] }],
  buttons: [[{ label: "Approve", data: "a:1:0123456789abcdef:y" }]],
  key: "action:1",
});

const allLines = (pages: View[]) => pages.flatMap((p) => p.sections.flatMap((s) => s.lines));

describe("paginateView", () => {
  for (const transport of ["telegram", "discord"] as const) {
    it(`keeps every ${transport} page within ${textLimits[transport]} characters, buttons included, and loses no line`, () => {
      const pages = withPageButtons(paginateView(bigView(), pageBudget(transport)), "0123abcd");
      expect(pages.length).toBeGreaterThan(1);
      for (const p of pages) {
        expect(viewToText(p).length).toBeLessThanOrEqual(textLimits[transport]);
        for (const b of p.buttons!.flat()) expect(Buffer.byteLength(b.data)).toBeLessThanOrEqual(64);
      }
      expect(allLines(pages)).toEqual([...rows(600), "Open one with /session <id-prefix>."]);
      expect(pages[0]!.title).toBe(`Sessions (600; all, urgency) (page 1/${pages.length})`);
      expect(pages[1]!.sections[0]!.heading).toBe("Table (cont.)");
      expect(pages[1]!.sections[0]!.pre).toBe(true);
      // The view's own buttons and key stay on the first page only; every page gets navigation.
      expect(pages[0]!.key).toBe("action:1");
      expect(pages[1]!.key).toBeUndefined();
      expect(pages[0]!.buttons![0]![0]!.label).toBe("Approve");
      expect(pages[1]!.buttons!.flat().map((b) => b.data)).toEqual([`pg:1:0123abcd`, `pg:3:0123abcd`]);
      expect(
        pages
          .at(-1)!
          .buttons!.flat()
          .map((b) => b.data),
      ).toEqual([`pg:${pages.length - 1}:0123abcd`]);
    });
  }

  it("cuts a single line longer than a page", () => {
    const view: View = { sections: [{ lines: ["y".repeat(9000)] }] };
    const pages = paginateView(view, pageBudget("discord"));
    expect(pages.length).toBeGreaterThan(4);
    for (const p of pages) expect(viewToText(p).length).toBeLessThanOrEqual(textLimits.discord);
    expect(allLines(pages).join("")).toBe("y".repeat(9000));
  });

  it("returns a view that fits as it is", () => {
    const view: View = { title: "t", sections: [{ lines: ["short"] }] };
    expect(paginateView(view, pageBudget("discord"))).toEqual([view]);
  });
});

describe("PageCache", () => {
  it("answers page buttons from memory until the entry is too old", () => {
    const cache = new PageCache(10, 1000);
    const first = cache.paginate(bigView(), "discord", 0);
    const next = first.buttons!.at(-1)!.at(-1)!;
    const parsed = parsePageData(next.data)!;
    expect(parsed.page).toBe(2);
    expect(cache.page(parsed.token, 2, 500)!.title).toMatch(/page 2\//);
    expect(cache.page(parsed.token, 99, 500)).toBeUndefined();
    expect(cache.page(parsed.token, 2, 2000)).toBeUndefined();
    expect(cache.page("ffffffff", 1, 0)).toBeUndefined();
  });

  it("keeps a bounded number of answers", () => {
    const cache = new PageCache(2, 60_000);
    const tokens = [0, 1, 2].map(() => parsePageData(cache.paginate(bigView(), "telegram", 0).buttons!.at(-1)![0]!.data)!.token);
    expect(cache.page(tokens[0]!, 1, 0)).toBeUndefined();
    expect(cache.page(tokens[2]!, 1, 0)).toBeDefined();
  });

  it("rejects page data that is not ours", () => {
    for (const bad of ["pg:1:XYZ", "pg:-1:0123abcd", "pg:1:0123abcd:extra", "pg:99999:0123abcd", "a:1:2:y"]) {
      expect(parsePageData(bad)).toBeNull();
    }
  });
});
