import type { Config } from "../config/schema.ts";
import { formatTokens } from "../lib/present.ts";
import { renderChart } from "../lib/render-chart.ts";
import type { View } from "../messages/view.ts";
import type { Db } from "../store/db.ts";
import { formatCost } from "./pricing.ts";
import { gatherReport, type ReportData, type ReportWindow } from "./report.ts";
import { reportSpec } from "./report-charts.ts";
import { wrap } from "./usage-view.ts";

/** Lines of the caption fit a phone, like every other view. */
const captionWidth = 40;

/** What the picture shows, in words: its alt text, and what the console prints beside the file's path. */
export const reportAlt = "context % of the most urgent sessions, tokens and cost per period by agent, alerts by check, fallback rate per model";

/** The file name a report is sent or written under. */
export const reportFilename = (window: ReportWindow) => `asm-report-${window}.png`;

/**
 * The caption under the picture: the window and host, then the totals the panels add up to, so the message says the
 * gist even where the picture is not shown (a notification, a screen reader).
 */
export function reportCaption(data: ReportData): View {
  const tokens = data.usage.reduce((n, u) => n + u.tokens, 0);
  const priced = data.usage.filter((u) => u.cost !== null);
  const cost = priced.reduce((n, u) => n + (u.cost ?? 0), 0);
  const byCheck = new Map<string, number>();
  for (const a of data.alerts) byCheck.set(a.check, (byCheck.get(a.check) ?? 0) + a.count);
  const alerts = [...byCheck.values()].reduce((n, c) => n + c, 0);
  const failures = data.fallback.reduce((n, f) => n + f.failures, 0);
  const attempts = data.fallback.reduce((n, f) => n + f.attempts, 0);
  const fullest = data.context[0];
  const lines = [
    `tokens ${formatTokens(tokens)} · cost ${priced.length ? formatCost(cost) : "-"}${data.unpriced.length ? "+" : ""}`,
    ...wrap(
      `alerts ${alerts}${
        alerts
          ? ` (${[...byCheck]
              .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
              .map(([c, n]) => `${c} ${n}`)
              .join(", ")})`
          : ""
      }`,
      captionWidth,
    ),
    attempts ? `fallbacks ${failures}/${attempts} (${Math.round((failures / attempts) * 1000) / 10}%)` : "fallbacks 0",
    ...(fullest ? wrap(`fullest: ${fullest.label}`, captionWidth) : []),
  ];
  const title = `Report, last ${data.window} · ${data.host}`;
  return { title: title.length > captionWidth ? `${title.slice(0, captionWidth - 1)}…` : title, sections: [{ lines }], silent: true };
}

/** The report for `window` ending at `now`: gathered, drawn, and captioned; the data too, for `--json`. */
export async function buildReport(db: Db, config: Config, q: { window: ReportWindow; now: number }): Promise<{ view: View; data: ReportData }> {
  const data = gatherReport(db, config, q);
  const chart = await renderChart(reportSpec(data));
  const view: View = {
    ...reportCaption(data),
    image: { png: chart.png, filename: reportFilename(q.window), width: chart.width, height: chart.height, alt: reportAlt },
  };
  return { view, data };
}
