import { parseSince, type UsageGroup, UsageWindowError, usageGroups, usageReport } from "../core/usage.ts";
import { usageView } from "../core/usage-view.ts";
import { formatTime } from "../lib/present.ts";
import { viewToText } from "../messages/view.ts";
import type { Runtime } from "../store/runtime.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, print, printJson } from "./io.ts";

/** `asm usage --since <date|duration|all> [--by agent|model|project|session] [--json]`. */
export function printUsage(rt: Runtime, io: CliIo, opts: { since: string; by: string; json: boolean }, now = Date.now()): void {
  if (!(usageGroups as readonly string[]).includes(opts.by)) throw new UsageError(`--by must be one of ${usageGroups.join(", ")}, not "${opts.by}"`);
  let since: number | null;
  try {
    since = parseSince(opts.since, now);
  } catch (err) {
    if (err instanceof UsageWindowError) throw new UsageError(`--since: ${err.message}`);
    throw err;
  }
  const report = usageReport(rt.db, rt.config, { since, by: opts.by as UsageGroup, now });
  if (opts.json) {
    printJson(io, { ...report, subscriptions: rt.config.usage.subscriptions, currency: "USD" });
    return;
  }
  const window = since === null ? "all kept" : /^\d+[mhdw]$/i.test(opts.since.trim()) ? `last ${opts.since.trim()}` : `since ${formatTime(since)}`;
  print(io, viewToText(usageView(report, window, rt.config.usage.subscriptions)));
}
