import { fitColumn, formatTokens } from "../lib/present.ts";
import type { View } from "../messages/view.ts";
import { catalogName, formatCost } from "./pricing.ts";
import type { UsageReport, UsageRow, UsageTotals } from "./usage.ts";

/** Every line of a usage view fits a phone: 40 characters (a table line 38, as plain text indents it by two). */
export const usageWidth = 40;
const tableWidth = usageWidth - 2;
const nameWidth = 10;
const maxRows = 15;

/** A token count in at most four characters: formatTokens ("950", "1.5k", "172k", "1.2M"), whole millions and billions past that. */
export function tokenCell(n: number): string {
  const s = formatTokens(n);
  if (s.length <= 4) return s;
  if (n < 999.5e6) return `${Math.round(n / 1e6)}M`;
  return n < 9.95e9 ? `${(n / 1e9).toFixed(1)}B` : `${Math.round(n / 1e9)}B`;
}

/**
 * A cost cell, seven characters at most: "$12.3", "-" without a price, "~" before it when part of it is
 * "equivalent API cost" (a subscription), "+" after it when some tokens had no price.
 */
export function costCell(t: UsageTotals): string {
  if (t.cost === null) return "-";
  return `${t.equivalentCost > 0 ? "~" : ""}${formatCost(t.cost)}${t.unpricedTokens > 0 ? "+" : ""}`;
}

const numbers = (t: UsageTotals) =>
  `${[t.input, t.output, t.cacheRead, t.cacheWrite].map((n) => ` ${tokenCell(n).padStart(4)}`).join("")} ${costCell(t).padStart(7)}`;

/** Words wrapped to `width` columns (a longer word, such as a model id, is split over lines, never cut). */
export function wrap(text: string, width = usageWidth): string[] {
  const lines: string[] = [];
  let line = "";
  const words = text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => w.match(new RegExp(`.{1,${width}}`, "g")) ?? []);
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** The notes under the table: what "~", "+" and "-" mean, each unpriced model named once, where prices come from. */
function notes(report: UsageReport, subscriptions: readonly string[]): string[] {
  const out: string[] = [];
  if (report.total.equivalentCost > 0) {
    out.push(
      ...wrap(
        `~ equivalent API cost${subscriptions.length ? `: ${subscriptions.join(", ")} ${subscriptions.length > 1 ? "are" : "is"}` : ", part is"} on a subscription.`,
      ),
    );
  }
  if (report.unpriced.length) {
    out.push(...wrap(`${report.total.cost === null ? "-" : "+"} some tokens have no price:`));
    for (const u of report.unpriced.slice(0, 5)) out.push(...wrap(`no price for ${u.model} (${formatTokens(u.tokens)} tokens)`));
    if (report.unpriced.length > 5) out.push(`and ${report.unpriced.length - 5} more models`);
    out.push(...wrap("Price them in usage.prices (USD per million tokens)."));
  }
  out.push(...wrap(`USD from ${catalogName} and usage.prices.`));
  return out;
}

/**
 * The usage table: one row per group (two lines when a name is longer than eight characters), a total,
 * and notes. `window` says which turns, e.g. "last 24h".
 */
export function usageView(report: UsageReport, window: string, subscriptions: readonly string[] = []): View {
  const title = fitColumn(`Usage, ${window}`, usageWidth).trimEnd();
  if (report.total.turns === 0) {
    return { title, sections: [{ lines: wrap(`No turns recorded (${window}). Usage comes from the scanner; is asm run running?`) }] };
  }
  const shown: UsageRow[] = report.rows.slice(0, maxRows);
  const rest = report.rows.slice(maxRows);
  if (rest.length) {
    const others: UsageRow = { key: "", label: `${rest.length} more`, ...sum(rest) };
    shown.push(others);
  }
  const long = shown.some((r) => r.label.length > nameWidth);
  const header = `${fitColumn(report.by.toUpperCase(), nameWidth)}${["IN", "OUT", "C.RD", "C.WR"].map((h) => ` ${h.padStart(4)}`).join("")} ${"COST".padStart(7)}`;
  const lines = [header];
  for (const r of shown) {
    if (long) lines.push(fitColumn(r.label, tableWidth).trimEnd(), `${" ".repeat(nameWidth)}${numbers(r)}`);
    else lines.push(`${fitColumn(r.label, nameWidth)}${numbers(r)}`);
  }
  lines.push(`${fitColumn("total", nameWidth)}${numbers(report.total)}`);
  return { title, sections: [{ lines, pre: true }, { lines: notes(report, subscriptions) }] };
}

function sum(rows: UsageRow[]): UsageTotals {
  const t: UsageTotals = { turns: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: null, equivalentCost: 0, unpricedTokens: 0 };
  for (const r of rows) {
    t.turns += r.turns;
    t.input += r.input;
    t.output += r.output;
    t.cacheRead += r.cacheRead;
    t.cacheWrite += r.cacheWrite;
    if (r.cost !== null) t.cost = (t.cost ?? 0) + r.cost;
    t.equivalentCost += r.equivalentCost;
    t.unpricedTokens += r.unpricedTokens;
  }
  return t;
}

/** The cost line of `/session`: "cost: $1.23", "cost: ~$1.23 (equivalent API cost)", or why there is none. */
export function sessionCostLine(u: UsageTotals & { unpriced: string[]; subscription: boolean }): string {
  if (u.turns === 0) return "cost: - (no per-turn usage recorded)";
  const missing = u.unpriced.length ? `no price for ${u.unpriced.join(", ")}` : "";
  if (u.cost === null) return `cost: - (${missing})`;
  const parts = [u.subscription ? "equivalent API cost" : "", missing ? `+ ${missing}` : ""].filter(Boolean);
  return `cost: ${u.subscription ? "~" : ""}${formatCost(u.cost)}${parts.length ? ` (${parts.join("; ")})` : ""}`;
}
