import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { gatherReport } from "../../src/core/report.ts";
import { reportSpec } from "../../src/core/report-charts.ts";
import { ChartRenderError, renderChart, shippedFonts } from "../../src/lib/render-chart.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { reportFixtureNow, seedReportFixture } from "../fixtures/report/seed.ts";
import { tempDir } from "../helpers/tmp.ts";

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PNG signature, then IHDR as the first chunk: its width and height. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(signature)).toBe(true);
  expect(png.toString("latin1", 12, 16)).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** A chart whose only text is its title. */
const titled = (text: string): TopLevelSpec => ({
  config: { font: "Inter" },
  title: { text, fontSize: 40 },
  width: 300,
  height: 100,
  data: { values: [{ x: 1, y: 2 }] },
  mark: "point",
  encoding: { x: { field: "x", type: "quantitative", axis: null }, y: { field: "y", type: "quantitative", axis: null } },
});

describe("renderChart: Vega-Lite → SVG → PNG in-process", () => {
  it("draws the whole report as a valid PNG 800 px wide, the same bytes every time", async () => {
    const db = openStore(join(tempDir("asm-render-"), "asm.db"));
    open.push(db);
    seedReportFixture(db);
    const spec = reportSpec(gatherReport(db, configSchema.parse({}), { window: "7d", now: reportFixtureNow }));
    const first = await renderChart(spec);
    expect(pngSize(first.png)).toEqual({ width: 800, height: first.height });
    expect(first.width).toBe(800);
    // Portrait: five panels stacked for a phone.
    expect(first.height).toBeGreaterThan(1600);
    const second = await renderChart(spec);
    expect(second.png.equals(first.png)).toBe(true);
    const wide = await renderChart(spec, { width: 1200 });
    expect(pngSize(wide.png).width).toBe(1200);
  });

  it("text is drawn with the shipped font, and only with it: no font, no text", async () => {
    const a = await renderChart(titled("Alpha"));
    const b = await renderChart(titled("Omega"));
    expect(a.png.equals(b.png)).toBe(false);
    // Without fonts resvg draws no text at all (system fonts are never loaded): the two titles give the same picture.
    const bareA = await renderChart(titled("Alpha"), { fontFiles: [] });
    const bareB = await renderChart(titled("Omega"), { fontFiles: [] });
    expect(bareA.png.equals(bareB.png)).toBe(true);
    expect(bareA.png.equals(a.png)).toBe(false);
    expect(shippedFonts.map((f) => f.split(/[\\/]/).slice(-3).join("/"))).toEqual(["assets/fonts/Inter-Regular.otf", "assets/fonts/Inter-Bold.otf"]);
  });

  it("fails with a ChartRenderError naming the stage: a missing font file, a spec that does not compile, a data URL", async () => {
    await expect(renderChart(titled("x"), { fontFiles: ["/nonexistent/font.otf"] })).rejects.toMatchObject({ stage: "fonts" });
    await expect(renderChart({ mark: "nonsense" } as unknown as TopLevelSpec)).rejects.toBeInstanceOf(ChartRenderError);
    const remote = { ...titled("x"), data: { url: "http://127.0.0.1:9/data.json" } } as TopLevelSpec;
    await expect(renderChart(remote)).rejects.toMatchObject({ stage: "svg", message: expect.stringContaining("charts load no data from outside") });
  });
});
