import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type ReportWindow, reportWindows } from "../config/sections/report.ts";
import type { Runtime } from "../store/runtime.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, print, printJson } from "./io.ts";

export interface ReportOptions {
  since: string;
  /** The PNG to write; null = `asm-report-<window>.png` here, unless only `--json` was asked for. */
  out: string | null;
  json: boolean;
}

/**
 * `asm report --since 24h|7d|30d [--out FILE.png] [--json]`: the chart report as a PNG file (the picture `/report`
 * posts), and/or the numbers behind it as JSON on stdout. With `--json` alone nothing is drawn.
 */
export async function writeReport(rt: Runtime, io: CliIo, opts: ReportOptions, now = Date.now()): Promise<void> {
  const window = opts.since.trim().toLowerCase();
  if (!(reportWindows as readonly string[]).includes(window)) throw new UsageError(`--since must be one of ${reportWindows.join(", ")}, not "${opts.since}"`);
  if (opts.out !== null && !/\.png$/i.test(opts.out)) throw new UsageError(`--out names a PNG file (ending in .png), not "${opts.out}"`);
  const q = { window: window as ReportWindow, now };
  if (opts.json && opts.out === null) {
    const { gatherReport } = await import("../core/report.ts");
    printJson(io, gatherReport(rt.db, rt.config, q));
    return;
  }
  const { buildReport, reportFilename } = await import("../core/report-view.ts");
  const { view, data } = await buildReport(rt.db, rt.config, q);
  const path = resolve(opts.out ?? reportFilename(q.window));
  writeFileSync(path, view.image!.png);
  if (opts.json) printJson(io, data);
  else print(io, `wrote ${path} (${view.image!.width}×${view.image!.height})`);
}
