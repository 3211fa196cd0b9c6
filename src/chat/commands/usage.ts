import type { UsageGroup } from "../../core/usage.ts";
import type { View } from "../../messages/view.ts";
import { type Command, UsageError } from "./spec.ts";

/** The rolling windows `/usage` offers. */
export const usageWindows = ["24h", "7d", "30d", "all"] as const;
export type UsageWindow = (typeof usageWindows)[number];
const usageGroups: readonly UsageGroup[] = ["agent", "model", "project", "session"];

/** Parses `[24h|7d|30d|all] [by agent|model|project|session]` in any order ("by" may be left out). */
export function parseUsageArgs(args: string[]): { window: UsageWindow; by: UsageGroup } {
  let window: UsageWindow | undefined;
  let by: UsageGroup | undefined;
  for (const raw of args) {
    const a = raw.toLowerCase();
    if (a === "by") continue;
    if ((usageWindows as readonly string[]).includes(a)) {
      if (window) throw new UsageError("give one window at most");
      window = a as UsageWindow;
    } else if ((usageGroups as readonly string[]).includes(a)) {
      if (by) throw new UsageError("group by one thing at most");
      by = a as UsageGroup;
    } else throw new UsageError(`"${raw.slice(0, 30)}" is not a window (${usageWindows.join(", ")}) or a grouping (by ${usageGroups.join("|")})`);
  }
  return { window: window ?? "24h", by: by ?? "agent" };
}

export const usageCommand: Command = {
  name: "usage",
  description: "Tokens and cost by agent, model, project or session",
  usage: "/usage [24h|7d|30d|all] [by agent|model|project|session] — e.g. /usage 7d by model",
  options: [
    { name: "window", description: "24h (default), 7d, 30d or all", type: "string", choices: [...usageWindows] },
    { name: "by", description: "agent (default), model, project or session", type: "string", choices: [...usageGroups] },
  ],
  async run({ rt, now }, args): Promise<View> {
    const { window, by } = parseUsageArgs(args);
    // The price catalog (about 15 MiB) is loaded on first use, not with every command.
    const { parseSince, usageReport } = await import("../../core/usage.ts");
    const { usageView } = await import("../../core/usage-view.ts");
    const report = usageReport(rt.db, rt.config, { since: parseSince(window, now), by, now });
    return usageView(report, window === "all" ? "all kept" : `last ${window}`, rt.config.usage.subscriptions);
  },
};
