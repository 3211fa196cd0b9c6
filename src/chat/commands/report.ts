import { type ReportWindow, reportWindows } from "../../config/sections/report.ts";
import type { View } from "../../messages/view.ts";
import { type Command, UsageError } from "./spec.ts";

/** Parses `[24h|7d|30d]` (default 7d). */
export function parseReportArgs(args: string[]): ReportWindow {
  if (args.length > 1) throw new UsageError("give one window at most");
  const a = (args[0] ?? "7d").toLowerCase();
  if (!(reportWindows as readonly string[]).includes(a)) throw new UsageError(`"${args[0]!.slice(0, 30)}" is not a window (${reportWindows.join(", ")})`);
  return a as ReportWindow;
}

export const reportCommand: Command = {
  name: "report",
  description: "Charts: context, tokens and cost, alerts, fallbacks",
  usage: "/report [24h|7d|30d] — e.g. /report 24h",
  options: [{ name: "window", description: "7d (default), 24h or 30d", type: "string", choices: [...reportWindows] }],
  async run({ rt, now }, args): Promise<View> {
    const window = parseReportArgs(args);
    // The chart libraries and the price catalog are loaded on first use, not with every command.
    const { buildReport } = await import("../../core/report-view.ts");
    return (await buildReport(rt.db, rt.config, { window, now })).view;
  },
};
