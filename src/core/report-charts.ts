import type { TopLevelSpec } from "vega-lite";
import { type Platform, platforms } from "../agents/session.ts";
import { dayMs, hourMs, type ReportData, type ReportWindow } from "./report.ts";

/**
 * The report's charts as Vega-Lite specs: pure functions of `ReportData`, one per panel, sized for a phone (about
 * 800 px wide, fonts of 21 px and more). `lib/render-chart.ts` turns a spec into a PNG.
 */

/** The panels, top to bottom. */
export const panelNames = ["context", "tokens", "cost", "alerts", "fallback"] as const;
export type PanelName = (typeof panelNames)[number];

/** A panel without its config: a unit or layer spec that `reportSpec` stacks and `panelSpec` stands alone. */
// biome-ignore lint/suspicious/noExplicitAny: vega-lite's concat member type is not exported; specs are plain JSON
export type PanelSpec = Record<string, any>;

/** The font every chart uses; `lib/render-chart.ts` loads only the copy shipped in assets/fonts. */
export const chartFont = "Inter";
/** The plot area's width: with the y axis labels and padding the picture is about 800 px wide. */
const plotWidth = 680;

/** One colour per agent, the same in every panel. */
const agentColors: Record<Platform, string> = {
  claude: "#d9773f",
  codex: "#1f9d74",
  gemini: "#3f7fe0",
  opencode: "#7a5cc7",
  openclaw: "#d6455d",
};

/** Fonts large enough to read on a phone when the 800 px picture is shown at half size. */
const config = {
  font: chartFont,
  background: "#ffffff",
  padding: 24,
  title: { fontSize: 30, fontWeight: "bold", anchor: "start", frame: "group", offset: 16, subtitleFontSize: 21, subtitleColor: "#555555", subtitlePadding: 6 },
  axis: {
    labelFontSize: 21,
    titleFontSize: 21,
    titleFontWeight: "normal",
    labelColor: "#222222",
    gridColor: "#e8e8e8",
    domainColor: "#888888",
    tickColor: "#888888",
  },
  legend: {
    labelFontSize: 21,
    titleFontSize: 21,
    symbolSize: 260,
    symbolStrokeWidth: 4,
    labelLimit: 760,
    orient: "bottom",
    title: null,
    columnPadding: 28,
    rowPadding: 8,
  },
  view: { stroke: null },
  concat: { spacing: 52 },
} as const;

const windowLabel = (w: ReportWindow) => `last ${w}`;
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A period's label on the x axis: "Dec 5" for a day, "14:00" for an hour (UTC). */
export function periodLabel(at: number, bucket: ReportData["bucket"]): string {
  const d = new Date(at);
  return bucket === "day" ? `${months[d.getUTCMonth()]} ${d.getUTCDate()}` : `${String(d.getUTCHours()).padStart(2, "0")}:00`;
}

/** Every period of the window, oldest first: the bars' slots, empty ones included. */
function periods(data: ReportData): number[] {
  const size = data.bucket === "hour" ? hourMs : dayMs;
  const out: number[] = [];
  for (let at = Math.floor(data.since / size) * size; at <= data.until; at += size) out.push(at);
  return out;
}

/** A panel with nothing to draw: its title and one line saying so, instead of an empty plot. */
function emptyPanel(title: string, message: string): PanelSpec {
  return {
    title: { text: title },
    width: plotWidth,
    height: 70,
    data: { values: [{ message }] },
    mark: { type: "text", fontSize: 22, color: "#666666", align: "left", baseline: "middle" },
    encoding: { text: { field: "message", type: "nominal" }, x: { value: 0 }, y: { value: 35 } },
  };
}

/** Room right of the context plot for the threshold names. */
const thresholdLabelWidth = 96;

/** Context % over the window for the most urgent sessions, with the warning and critical thresholds as dashed lines. */
export function contextPanel(data: ReportData): PanelSpec {
  const title = "Context used, most urgent sessions";
  if (data.context.length === 0) return emptyPanel(title, `No context figures recorded (${windowLabel(data.window)}).`);
  const { warning, critical } = data.thresholds;
  const width = plotWidth - thresholdLabelWidth;
  const lines = data.context.flatMap((s) => s.points.map((p) => ({ session: s.label, ts: p.ts, percent: p.percent })));
  const last = data.context.map((s) => ({ session: s.label, ...s.points.at(-1)! }));
  const top = Math.max(100, ...lines.map((p) => p.percent));
  const x = {
    field: "ts",
    type: "temporal",
    scale: { type: "utc", domain: [data.since, data.until] },
    axis: { title: null, format: data.bucket === "hour" ? "%H:%M" : "%b %-d", labelOverlap: "parity", labelSeparation: 12, grid: false, tickCount: 6 },
  };
  const y = {
    field: "percent",
    type: "quantitative",
    scale: { domain: [0, top], nice: false },
    axis: { title: null, labelExpr: "datum.value + '%'", tickCount: 5 },
  };
  const color = { field: "session", type: "nominal", scale: { domain: data.context.map((s) => s.label), scheme: "tableau10" }, legend: { columns: 1 } };
  // The names sit right of the plot, where no line can hide them.
  const threshold = (value: number, name: string, colour: string) => [
    {
      data: { values: [{ y: value }] },
      mark: { type: "rule", color: colour, strokeDash: [10, 6], strokeWidth: 2.5 },
      encoding: { y: { field: "y", type: "quantitative" } },
    },
    {
      data: { values: [{ y: value, text: name }] },
      mark: { type: "text", color: colour, fontSize: 19, fontWeight: "bold", align: "left", baseline: "middle", dx: 8 },
      encoding: { y: { field: "y", type: "quantitative" }, x: { value: width }, text: { field: "text", type: "nominal" } },
    },
  ];
  return {
    title: { text: title, subtitle: `% of each session's window, ${windowLabel(data.window)} (UTC)` },
    width,
    height: 300,
    layer: [
      ...threshold(warning, `${warning}% warn`, "#e8890c"),
      ...threshold(critical, `${critical}% crit`, "#d62728"),
      { data: { values: lines }, mark: { type: "line", strokeWidth: 3.5, interpolate: "linear" }, encoding: { x, y, color } },
      { data: { values: last }, mark: { type: "point", filled: true, size: 160, opacity: 1 }, encoding: { x, y, color } },
    ],
  };
}

/** A stacked bar per period (hour or day, every period of the window in its slot): one colour per `colorField`. */
function periodBars(data: ReportData, values: { at: number }[], field: string, colorField: string, colorScale: object, yAxis: object): object {
  const slots = periods(data).map((at) => periodLabel(at, data.bucket));
  // About seven labels fit 800 px at this size: label every k-th slot, the newest always.
  const every = Math.max(1, Math.ceil(slots.length / 7));
  const shown = slots.filter((_, i) => (slots.length - 1 - i) % every === 0);
  return {
    width: plotWidth,
    height: 270,
    data: { values: values.map((v) => ({ ...v, period: periodLabel(v.at, data.bucket) })) },
    mark: { type: "bar" },
    encoding: {
      x: { field: "period", type: "ordinal", sort: slots, scale: { domain: slots, paddingInner: 0.2 }, axis: { title: null, labelAngle: 0, values: shown } },
      y: { field, type: "quantitative", aggregate: "sum", axis: { title: null, ...yAxis } },
      color: { field: colorField, type: "nominal", scale: colorScale, legend: { direction: "horizontal", columns: 3 } },
    },
  };
}

/** The agents in `rows`, in the usual order, each in its own colour. */
const agentScale = (rows: { agent: Platform }[]) => {
  const seen = platforms.filter((p) => rows.some((u) => u.agent === p));
  return { domain: seen, range: seen.map((p) => agentColors[p]) };
};

/** Tokens per period, stacked by agent (input, output and cache together). */
export function tokensPanel(data: ReportData): PanelSpec {
  const title = `Tokens per ${data.bucket}`;
  if (data.usage.length === 0) return emptyPanel(title, `No turns recorded (${windowLabel(data.window)}).`);
  return {
    title: { text: title, subtitle: "input, output and cache, by agent (UTC)" },
    ...periodBars(data, data.usage, "tokens", "agent", agentScale(data.usage), { labelExpr: "replace(format(datum.value, '~s'), 'G', 'B')", tickCount: 5 }),
  };
}

/** Cost per period in USD, stacked by agent; models without a price are named in the subtitle. */
export function costPanel(data: ReportData): PanelSpec {
  const title = `Cost per ${data.bucket}, USD`;
  const priced = data.usage.filter((u) => u.cost !== null);
  if (priced.length === 0) {
    return emptyPanel(title, data.usage.length ? "No turn had a price (see usage.prices)." : `No turns recorded (${windowLabel(data.window)}).`);
  }
  const missing = data.unpriced.length
    ? `; no price: ${data.unpriced.slice(0, 2).join(", ")}${data.unpriced.length > 2 ? ` +${data.unpriced.length - 2}` : ""}`
    : "";
  return {
    title: { text: title, subtitle: `by agent (UTC)${missing}` },
    ...periodBars(data, priced, "cost", "agent", agentScale(priced), { format: "$,.2~f", tickCount: 5 }),
  };
}

/** Alerts that fired per period, stacked by check. */
export function alertsPanel(data: ReportData): PanelSpec {
  const title = `Alerts per ${data.bucket}`;
  if (data.alerts.length === 0) return emptyPanel(title, `No alerts fired (${windowLabel(data.window)}).`);
  const checks = [...new Set(data.alerts.map((a) => a.check))].sort();
  return {
    title: { text: title, subtitle: "alerts that fired, by check (UTC)" },
    ...periodBars(data, data.alerts, "count", "check", { domain: checks, scheme: "tableau10" }, { format: "d", tickMinStep: 1, tickCount: 5 }),
  };
}

/**
 * Fallback rate per model: one bar each, the model's name above it (no y axis labels: a long model id would push every
 * panel's plot to the right) and "failures/attempts · rate" beside it.
 */
export function fallbackPanel(data: ReportData): PanelSpec {
  const title = "Fallback rate per model";
  if (data.fallback.length === 0) return emptyPanel(title, `No fallbacks (${windowLabel(data.window)}).`);
  const values = data.fallback.map((f) => ({ ...f, label: `${f.failures}/${f.attempts} · ${f.ratePercent}%` }));
  const top = Math.max(10, ...values.map((v) => v.ratePercent)) * 1.6;
  const y = { field: "model", type: "nominal", sort: values.map((v) => v.model), axis: null };
  const x = {
    field: "ratePercent",
    type: "quantitative",
    scale: { domain: [0, top], nice: false },
    axis: { title: null, labelExpr: "datum.value + '%'", tickCount: 4 },
  };
  return {
    title: { text: title, subtitle: `failures out of requests, ${windowLabel(data.window)}` },
    width: plotWidth,
    height: { step: 76 },
    data: { values },
    layer: [
      { mark: { type: "bar", color: "#d6455d", height: 30, yOffset: 14 }, encoding: { x, y } },
      {
        mark: { type: "text", align: "left", baseline: "middle", dx: 10, dy: 14, fontSize: 20, color: "#222222" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
      {
        mark: { type: "text", align: "left", baseline: "middle", dy: -18, fontSize: 21, fontWeight: "bold", color: "#222222" },
        encoding: { x: { value: 0 }, y, text: { field: "model", type: "nominal" } },
      },
    ],
  };
}

const builders: Record<PanelName, (data: ReportData) => PanelSpec> = {
  context: contextPanel,
  tokens: tokensPanel,
  cost: costPanel,
  alerts: alertsPanel,
  fallback: fallbackPanel,
};

/** The report's title: host and window, then the times it covers. */
function heading(data: ReportData): { text: string; subtitle: string } {
  const at = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  return { text: `asm report · ${data.host}`, subtitle: `${windowLabel(data.window)}: ${at(data.since)} → ${at(data.until)} UTC` };
}

const schema = "https://vega.github.io/schema/vega-lite/v6.json";

/** The whole report: every panel, top to bottom, under one heading (one picture, 800 px wide). */
export function reportSpec(data: ReportData): TopLevelSpec {
  return {
    $schema: schema,
    config,
    title: { ...heading(data), fontSize: 34, subtitleFontSize: 22, offset: 28 },
    // Each panel has its own colours and legend (agents, sessions, checks).
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    // Panels start at the left edge, each with its own axis width (not lined up on the widest y labels).
    align: "none",
    center: false,
    vconcat: panelNames.map((name) => builders[name](data)),
  } as unknown as TopLevelSpec;
}

/** One panel as a picture of its own (the README's examples). */
export function panelSpec(data: ReportData, name: PanelName): TopLevelSpec {
  return { $schema: schema, config, ...builders[name](data) } as unknown as TopLevelSpec;
}
