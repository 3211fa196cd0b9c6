import type { Transport } from "../messages/transport.ts";
import type { Runtime } from "../store/runtime.ts";
import type { Job } from "./scheduler.ts";

/** "09:00" → the node-cron expression for every day at that time (seconds field first; the process's time zone). */
export function dailyCron(at: string): string {
  const [hours, minutes] = at.split(":").map(Number);
  return `0 ${minutes} ${hours} * * *`;
}

/**
 * The daily digest: at `report.dailyAt` the chart report (`/report report.dailyWindow`) is posted into every transport's
 * feed. Null when `report.dailyAt` is null (the default). A transport that refuses is logged and skipped; a digest that
 * cannot be drawn fails the job, which raises a `self` alert like any failing job.
 */
export function digestJob(rt: Runtime, transports: readonly Transport[]): Job | null {
  const at = rt.config.report.dailyAt;
  if (!at) return null;
  return {
    name: "digest",
    cron: dailyCron(at),
    run: async (now) => {
      // The chart libraries and the price catalog are loaded when the first digest is drawn, not at start.
      const { buildReport } = await import("../core/report-view.ts");
      const { view } = await buildReport(rt.db, rt.config, { window: rt.config.report.dailyWindow, now });
      let posted = 0;
      for (const t of transports) {
        try {
          await t.send(view);
          posted++;
        } catch (err) {
          rt.log.warn({ err, transport: t.name }, "daily digest not posted");
        }
      }
      rt.log.info({ window: rt.config.report.dailyWindow, posted }, "daily digest");
    },
  };
}
