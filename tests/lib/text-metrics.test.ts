import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { shippedFonts } from "../../src/lib/render-chart.ts";
import { interAdvances, interTextWidth, measuredChars } from "../../src/lib/text-metrics.ts";

/** The ink width of `|text|` at 1000 px in the shipped fonts: with `||` taken off, the advance of `text` in thousandths of an em. */
function inkWidth(text: string, weight: "normal" | "bold"): number {
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/ /g, "&#160;");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="1500"><text x="10" y="1200" font-family="Inter" font-weight="${weight}" font-size="1000">|${escaped}|</text></svg>`;
  return new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [...shippedFonts] } }).getBBox()!.width;
}

describe("the Inter advance widths the charts are laid out with", () => {
  it("match the shipped font files, character by character", () => {
    for (const [weight, table] of [
      ["normal", interAdvances.regular],
      ["bold", interAdvances.bold],
    ] as const) {
      const bars = inkWidth("", weight);
      [...measuredChars].forEach((ch, i) => {
        expect(Math.abs(inkWidth(ch, weight) - bars - table[i]!), `"${ch}" ${weight}`).toBeLessThanOrEqual(1);
      });
    }
  });

  it("add up to a string's width at a font size; unknown characters count as a digit", () => {
    expect(interTextWidth("MMMM", 10)).toBeCloseTo((4 * interAdvances.regular[measuredChars.indexOf("M")]!) / 100);
    expect(interTextWidth("Context used", 30, "bold")).toBeGreaterThan(interTextWidth("Context used", 30));
    expect(interTextWidth("日", 20)).toBeCloseTo(12.4);
  });
});
