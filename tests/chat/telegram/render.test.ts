import { describe, expect, it } from "vitest";
import { cutPlain, escapeHtml, RenderError, renderSingle, renderView, toneMarks } from "../../../src/chat/telegram/render.ts";
import type { View } from "../../../src/messages/view.ts";
import { parseTelegramHtml } from "../../fakes/telegram-api.ts";

const hostile = `<script>alert("x")</script> & co > 5 &amp; <b>not bold</b>`;

describe("renderView", () => {
  it("escapes every dynamic value and shows the severity first", () => {
    const [msg] = renderView({
      title: `Context high: ${hostile}`,
      tone: "critical",
      sections: [
        { heading: hostile, lines: [hostile] },
        { pre: true, lines: [hostile, "two"] },
      ],
    });
    expect(msg!.html.startsWith(`${toneMarks.critical} <b>`)).toBe(true);
    const text = parseTelegramHtml(msg!.html);
    expect(text).toContain(`Context high: ${hostile}`);
    expect(text.split(hostile)).toHaveLength(5); // title, heading, line, pre block
    expect(msg!.html).toContain(`<pre>${escapeHtml(hostile)}\ntwo</pre>`);
  });

  it("splits long views only between whole elements, every part valid HTML within the limit", () => {
    const lines = Array.from({ length: 400 }, (_, i) => `session ${i} <ctx> & "${"x".repeat(i % 37)}"`);
    const view: View = {
      title: "Sessions",
      tone: "info",
      sections: [
        { heading: "All <sessions>", lines },
        { pre: true, lines },
      ],
      buttons: [[{ label: "Next", data: "pg:abc:2" }]],
    };
    const parts = renderView(view, 1000);
    expect(parts.length).toBeGreaterThan(10);
    let plain = "";
    for (const [i, part] of parts.entries()) {
      expect(part.html.length).toBeLessThanOrEqual(1000);
      plain += `${parseTelegramHtml(part.html)}\n`;
      expect(part.keyboard === undefined).toBe(i !== parts.length - 1);
    }
    for (const line of lines) expect(plain).toContain(line);
    // Every line appears exactly twice (once plain, once preformatted), never cut in half.
    expect(plain.split("session 399 <ctx>")).toHaveLength(3);
  });

  it("cuts a single line longer than a message as plain text, never inside an entity or a surrogate pair", () => {
    const line = "&<>🙂".repeat(3000);
    const parts = renderView({ sections: [{ lines: [line] }, { pre: true, lines: [line] }] }, 4096);
    let joined = "";
    for (const part of parts) {
      expect(part.html.length).toBeLessThanOrEqual(4096);
      joined += parseTelegramHtml(part.html);
    }
    expect(joined.replace(/\n/g, "")).toBe(line + line);
    expect(cutPlain("a&b", 5)).toEqual(["a", "&", "b"]);
  });

  it("renders the default 4096 limit for a huge view and renders an edit as one message", () => {
    const view: View = { title: "Big", sections: [{ lines: Array.from({ length: 2000 }, (_, i) => `line ${i}`) }] };
    const parts = renderView(view);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.html.length).toBeLessThanOrEqual(4096);
    const single = renderSingle(view);
    expect(single.html.length).toBeLessThanOrEqual(4096);
    expect(single.html.endsWith("…")).toBe(true);
    parseTelegramHtml(single.html);
  });

  it("keeps callback data within 64 bytes of ASCII", () => {
    expect(renderView({ sections: [{ lines: ["ok"] }], buttons: [[{ label: "A", data: "a".repeat(64) }]] })[0]!.keyboard).toEqual({
      inline_keyboard: [[{ text: "A", callback_data: "a".repeat(64) }]],
    });
    expect(() => renderView({ sections: [{ lines: ["x"] }], buttons: [[{ label: "A", data: "a".repeat(65) }]] })).toThrow(RenderError);
    expect(() => renderView({ sections: [{ lines: ["x"] }], buttons: [[{ label: "A", data: "é".repeat(20) }]] })).toThrow(/bytes of ASCII/);
    expect(() => renderView({ sections: [{ lines: ["x"] }], buttons: [[{ label: "A", data: "" }]] })).toThrow(RenderError);
  });

  it("never sends empty text", () => {
    expect(renderView({ sections: [{ lines: [""] }] })[0]!.html).toBe("–");
    expect(renderView({ sections: [] })[0]!.html).toBe("–");
  });
});
