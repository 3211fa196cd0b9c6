/**
 * How long `/report` takes to draw (issue 17): the fixture week (five sessions, ~1,500 turns, alerts, fallbacks) in a
 * temp store, then gather (SQLite → data), specs (data → Vega-Lite) and render (Vega-Lite → SVG → PNG) timed apart.
 * The first render pays for loading vega, vega-lite and resvg; the median of the next ones is the steady cost.
 *
 *   node --import tsx bench/report.ts [runs]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema } from "../src/config/schema.ts";
import { gatherReport } from "../src/core/report.ts";
import { reportSpec } from "../src/core/report-charts.ts";
import { renderChart } from "../src/lib/render-chart.ts";
import { openStore } from "../src/store/db.ts";
import { reportFixtureNow, seedReportFixture } from "../tests/fixtures/report/seed.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Times the report's three stages on the fixture week and prints them. */
export async function benchReport(runs = 5): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "asm-bench-report-"));
  const db = openStore(join(dir, "asm.db"));
  try {
    const seeded = seedReportFixture(db);
    const config = configSchema.parse({});
    const gather: number[] = [];
    const specs: number[] = [];
    const render: number[] = [];
    let first = 0;
    let size = "";
    for (let i = 0; i <= runs; i++) {
      let t = performance.now();
      const data = gatherReport(db, config, { window: "7d", now: reportFixtureNow });
      gather.push(performance.now() - t);
      t = performance.now();
      const spec = reportSpec(data);
      specs.push(performance.now() - t);
      t = performance.now();
      const chart = await renderChart(spec);
      const ms = performance.now() - t;
      if (i === 0) first = ms;
      else render.push(ms);
      size = `${chart.width}×${chart.height}, ${Math.round(chart.png.length / 1024)} KiB`;
    }
    console.log(`report (7d, ${seeded.turns} turns, ${seeded.alerts} alerts, ${seeded.decisions} fallbacks): ${size}`);
    console.log(
      `  gather ${median(gather).toFixed(1)} ms · specs ${median(specs).toFixed(1)} ms · render ${median(render).toFixed(0)} ms (first, loading the libraries: ${first.toFixed(0)} ms)`,
    );
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchReport(Number(process.argv[2] ?? 5));
