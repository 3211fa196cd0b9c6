import { embedLength } from "discord.js";
import { describe, expect, it } from "vitest";
import { DiscordRenderError } from "../../../src/chat/discord/errors.ts";
import { escapeText, limits, pagerPrefix, paginate, parsePagerId, renderPage, toneColors } from "../../../src/chat/discord/render.ts";
import type { View } from "../../../src/messages/view.ts";

const fences = (s: string) => (s.match(/```/g) ?? []).length;

describe("Discord rendering", () => {
  it("keeps a short view on one page, escapes agent text and colours by tone", () => {
    const view: View = {
      title: "Context high",
      sections: [{ heading: "claude 5f0c", lines: ["model *opus* used __all__ of it", "@everyone look"] }],
      tone: "warning",
    };
    const pages = paginate(view);
    expect(pages).toHaveLength(1);
    const body = renderPage(view, pages, null);
    expect(body.embeds[0]).toMatchObject({ title: "Context high", color: toneColors.warning });
    expect(body.embeds[0]!.description).toContain("**claude 5f0c**");
    expect(body.embeds[0]!.description).toContain("model \\*opus\\* used \\_\\_all\\_\\_ of it");
    expect(body.embeds[0]!.footer).toBeUndefined();
    expect(body.components).toEqual([]);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it("escapes Discord markdown so agent text reads as written", () => {
    expect(escapeText("a *b* _c_ ~d~ `e` ||f|| [g](h) <@123> \\ x-y 1.5")).toBe(
      "a \\*b\\* \\_c\\_ \\~d\\~ \\`e\\` \\|\\|f\\|\\| \\[g\\](h) \\<@123> \\\\ x-y 1.5",
    );
    expect(["# h", "  - item", "> quote", "12. n"].map(escapeText)).toEqual(["\\# h", "  \\- item", "\\> quote", "12\\. n"]);
  });

  it("splits long views into pages within Discord's limits, code blocks closed on every page", () => {
    const view: View = {
      title: "T".repeat(400),
      sections: [
        { heading: "table", lines: Array.from({ length: 400 }, (_, i) => `row ${i} ${"y".repeat(40)} \`\`\` end`), pre: true },
        { lines: Array.from({ length: 200 }, (_, i) => `note ${i} ${"z".repeat(60)}`) },
        { lines: ["x".repeat(10_000)] },
      ],
    };
    const pages = paginate(view);
    expect(pages.length).toBeGreaterThan(5);
    pages.forEach((page, i) => {
      expect(page.length).toBeLessThanOrEqual(limits.pageChars);
      expect(fences(page) % 2).toBe(0);
      const body = renderPage(view, pages, { token: "tok", page: i, pages: pages.length });
      expect(embedLength(body.embeds[0]!)).toBeLessThanOrEqual(limits.embedsTotal);
      expect(body.embeds[0]!.title!.length).toBeLessThanOrEqual(limits.title);
      expect(body.embeds[0]!.footer).toEqual({ text: `Page ${i + 1}/${pages.length}` });
    });
    // No line is lost: every row index appears on some page, in order.
    const all = pages.join("\n");
    for (const i of [0, 199, 399]) expect(all).toContain(`row ${i} `);
    expect(all.indexOf("row 10 ")).toBeLessThan(all.indexOf("row 11 "));
    expect(all).not.toMatch(/[^`\n]```[^\n]/); // a literal ``` inside a code block was defused
  });

  it("puts the view's buttons on every page and Prev/Next under them, ids within 100 characters", () => {
    const view: View = {
      sections: [{ lines: Array.from({ length: 500 }, (_, i) => `line ${i} ${"w".repeat(30)}`) }],
      buttons: [
        [
          { label: "Approve", data: "a:1:0123456789abcdef:y", style: "success" },
          { label: "Deny", data: "a:1:0123456789abcdef:n", style: "danger" },
        ],
      ],
    };
    const pages = paginate(view);
    const body = renderPage(view, pages, { token: "AbC_-9", page: 1, pages: pages.length });
    expect(body.components).toHaveLength(2);
    const [actions, pager] = body.components as unknown as { components: { custom_id: string; style: number; disabled?: boolean }[] }[];
    expect(actions!.components.map((b) => [b.custom_id, b.style])).toEqual([
      ["a:1:0123456789abcdef:y", 3],
      ["a:1:0123456789abcdef:n", 4],
    ]);
    const ids = pager!.components.map((b) => b.custom_id);
    expect(ids.every((id) => id.startsWith(pagerPrefix) && id.length <= limits.customId)).toBe(true);
    expect(ids.map((id) => parsePagerId(id))).toEqual([
      { token: "AbC_-9", page: 0 },
      { token: "AbC_-9", page: 2 },
    ]);
    expect(pager!.components.some((b) => b.disabled)).toBe(false);
  });

  it("refuses views Discord cannot show with a clear error", () => {
    const many = { sections: [], buttons: [Array.from({ length: 6 }, (_, i) => ({ label: `b${i}`, data: `d${i}` }))] };
    expect(() => renderPage(many, [""], null)).toThrow(DiscordRenderError);
    const long = { sections: [], buttons: [[{ label: "x", data: "x".repeat(101) }]] };
    expect(() => renderPage(long, [""], null)).toThrow(/1–100 printable ASCII/);
    const spoof = { sections: [], buttons: [[{ label: "x", data: `${pagerPrefix}abc:1:n` }]] };
    expect(() => renderPage(spoof, [""], null)).toThrow(DiscordRenderError);
    const twice = { sections: [], buttons: [[{ label: "Ack", data: "ack:1" }], [{ label: "Ack again", data: "ack:1" }]] };
    expect(() => renderPage(twice, [""], null)).toThrow(/unique per message/);
    expect(parsePagerId("asm:pg:abc:x:n")).toBeNull();
    expect(parsePagerId("a:1:0123456789abcdef:y")).toBeNull();
  });

  it("gives an empty view something to show", () => {
    expect(renderPage({ sections: [] }, paginate({ sections: [] }), null).embeds[0]).toEqual({ description: "—" });
  });
});
