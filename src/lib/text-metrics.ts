/**
 * How wide text is in the shipped Inter font (assets/fonts), so Vega lays out legends, titles and label limits for the
 * font resvg will draw with. Without a canvas Vega guesses 0.8 em a character, about 50% too wide for Inter: the
 * picture came out near 1000 px wide and was scaled down, fonts with it.
 *
 * Advance widths in thousandths of an em, measured from the font files with resvg (tests/lib/text-metrics.test.ts
 * measures them again, so the table cannot drift from the fonts). Kerning is left out: it moves a label by a pixel or two.
 */

/** The characters measured, in table order: printable ASCII, then the few others the charts use. */
export const measuredChars = `${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("")}·→…×—–’°€`;

const regular = [
  281, 278, 403, 631, 638, 813, 639, 222, 362, 362, 500, 659, 280, 460, 276, 357, 625, 464, 605, 636, 642, 608, 624, 571, 616, 624, 276, 280, 659, 659, 659,
  507, 936, 676, 651, 727, 719, 598, 587, 743, 740, 264, 543, 652, 562, 889, 753, 761, 635, 761, 639, 638, 642, 741, 676, 949, 642, 665, 625, 362, 357, 362,
  469, 486, 497, 564, 621, 558, 621, 582, 361, 609, 591, 237, 237, 544, 237, 869, 585, 597, 609, 609, 372, 523, 375, 581, 557, 813, 540, 557, 541, 362, 327,
  362, 659, 276, 955, 821, 659, 1000, 500, 185, 455, 665,
];
const bold = [
  232, 325, 392, 650, 655, 859, 674, 209, 409, 409, 565, 680, 303, 469, 298, 390, 688, 489, 630, 659, 678, 645, 660, 595, 661, 660, 298, 303, 680, 680, 680,
  563, 1031, 748, 661, 752, 727, 613, 585, 761, 746, 281, 570, 690, 567, 915, 735, 782, 648, 783, 656, 655, 668, 729, 748, 1036, 714, 724, 667, 409, 390, 409,
  488, 511, 497, 580, 635, 587, 635, 598, 386, 633, 624, 272, 272, 582, 272, 912, 622, 614, 632, 632, 409, 562, 400, 622, 586, 850, 574, 586, 572, 409, 374,
  409, 680, 298, 955, 799, 680, 1000, 500, 228, 460, 686,
];

/** Any other character: about the width of a digit. */
const fallback = 620;

const tables = {
  regular: new Map([...measuredChars].map((c, i) => [c, regular[i]!])),
  bold: new Map([...measuredChars].map((c, i) => [c, bold[i]!])),
};

/** The width in pixels of `text` set in Inter at `fontSize` px, regular or bold. */
export function interTextWidth(text: string, fontSize: number, weight: "regular" | "bold" = "regular"): number {
  const table = tables[weight];
  let units = 0;
  for (const ch of text) units += table.get(ch) ?? fallback;
  return (units * fontSize) / 1000;
}

/** The raw tables, for the test that measures the fonts again. */
export const interAdvances = { regular, bold } as const;
