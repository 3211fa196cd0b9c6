import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { packageRoot } from "./package-root.ts";
import { interTextWidth } from "./text-metrics.ts";

/** A chart as a picture. */
export interface RenderedChart {
  png: Buffer;
  width: number;
  height: number;
}

export interface RenderOptions {
  /** The picture's width in pixels; the chart is scaled to it (default 800: a phone's portrait width at 2x). */
  width?: number;
  /** Font files to draw text with (default: the ones shipped in assets/fonts). Nothing else is loaded. */
  fontFiles?: string[];
  /** The family used where a spec names none or one that is not loaded. */
  defaultFontFamily?: string;
}

/** A chart that could not be drawn: the spec, the fonts or the native renderer failed. */
export class ChartRenderError extends Error {
  constructor(
    message: string,
    readonly stage: "compile" | "svg" | "png" | "fonts",
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "ChartRenderError";
  }
}

/** The fonts shipped with asm (Inter, OFL-1.1; see assets/fonts/OFL.txt). */
export const shippedFonts: readonly string[] = ["Inter-Regular.otf", "Inter-Bold.otf"].map((f) => join(packageRoot, "assets", "fonts", f));

/**
 * Draws a Vega-Lite spec as a PNG, in-process and without a browser: vega-lite compiles it to Vega, Vega renders
 * SVG headless (`View.toSVG`, no canvas), resvg rasterises it with only the given font files (never the
 * machine's fonts), so the same spec gives the same bytes on a bare server, in Docker or on a laptop.
 * The three libraries (about 10 MiB of code and a native addon) are imported on first use.
 *
 * ```ts
 * const { png, width, height } = await renderChart(spec);   // width 800, height as the spec needs
 * ```
 */
export async function renderChart(spec: TopLevelSpec, options: RenderOptions = {}): Promise<RenderedChart> {
  const fontFiles = options.fontFiles ?? [...shippedFonts];
  const missing = fontFiles.filter((f) => !existsSync(f));
  if (missing.length) throw new ChartRenderError(`font file${missing.length > 1 ? "s" : ""} not found: ${missing.join(", ")}`, "fonts");
  const [vegaLite, vega, { Resvg }] = await Promise.all([import("vega-lite"), import("vega"), import("@resvg/resvg-js")]);

  let compiled: ReturnType<typeof vegaLite.compile>["spec"];
  try {
    // Warnings (a legend property two layers disagree on) are vega-lite's business, not the log's.
    compiled = vegaLite.compile(spec, { logger: vega.logger(vega.None) }).spec;
  } catch (err) {
    throw new ChartRenderError(`vega-lite could not compile the chart: ${(err as Error).message}`, "compile", { cause: err });
  }

  let svg: string;
  // Vega logs a refused data load or an error and carries on with an empty chart: here either is a failure.
  const problems: string[] = [];
  try {
    // Specs carry their data inline: a loader that refuses every URL keeps a chart from reaching the network or disk.
    const loader = vega.loader();
    loader.load = (uri: string) => {
      problems.push(`charts load no data from outside (asked for ${uri.slice(0, 80)})`);
      return Promise.reject(new Error("refused"));
    };
    const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
      if (level === "ERROR") problems.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
    });
    // Lay text out for the font it will be drawn in (Vega's own guess without a canvas is far too wide).
    (vega as unknown as { textMetrics: { width: typeof measureText } }).textMetrics.width = measureText;
    const view = new vega.View(vega.parse(compiled), { renderer: "none", loader, logger });
    svg = await view.toSVG();
    view.finalize();
  } catch (err) {
    throw new ChartRenderError(`vega could not draw the chart: ${(err as Error).message}`, "svg", { cause: err });
  }
  if (problems.length) throw new ChartRenderError(`vega could not draw the chart: ${problems.join("; ")}`, "svg");

  try {
    const resvg = new Resvg(svg, {
      fitTo: { mode: "width", value: options.width ?? 800 },
      font: {
        loadSystemFonts: false,
        fontFiles,
        defaultFontFamily: options.defaultFontFamily ?? "Inter",
        sansSerifFamily: options.defaultFontFamily ?? "Inter",
      },
      background: "#ffffff",
    });
    const image = resvg.render();
    return { png: image.asPng(), width: image.width, height: image.height };
  } catch (err) {
    throw new ChartRenderError(`resvg could not turn the chart into a PNG: ${(err as Error).message}`, "png", { cause: err });
  }
}

/** A text item's width in the shipped font, within its `limit` (Vega truncates longer labels to it). */
function measureText(item: { fontSize?: number; fontWeight?: string | number; limit?: number }, text: unknown): number {
  const value = text === null || text === undefined ? "" : String(text).trim();
  const weight = item.fontWeight === "bold" || Number(item.fontWeight) >= 600 ? "bold" : "regular";
  const width = interTextWidth(value, item.fontSize ?? 11, weight);
  return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
}
