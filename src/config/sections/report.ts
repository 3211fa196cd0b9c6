import { dirname, join } from "node:path";
import { z } from "zod";
import { pathString } from "./common.ts";

/** The chart windows `/report`, `asm report` and the daily digest offer. */
export const reportWindows = ["24h", "7d", "30d"] as const;
export type ReportWindow = (typeof reportWindows)[number];

/** The chart report (issue 17): `/report`, `asm report` and the daily digest posted to the feed. */
export const reportSection = z
  .strictObject({
    dailyAt: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day, "HH:MM" (e.g. "09:00")')
      .nullable()
      .default(null)
      .describe('Post the report to the feed every day at this time ("09:00", the machine\'s time zone or TZ); null = no daily digest'),
    dailyWindow: z.enum(reportWindows).default("24h").describe("What the daily digest covers: 24h, 7d or 30d"),
    sessions: z.number().int().min(1).max(8).default(5).describe("The context panel shows this many of the most urgent sessions"),
    dir: pathString.nullable().default(null).describe("Where the console transport writes report pictures; null = a reports/ folder beside the database"),
  })
  .prefault({});

/** Where the console writes report pictures: `report.dir`, or a reports/ folder beside the database. */
export const reportDir = (config: { report: { dir: string | null }; store: { path: string } }): string =>
  config.report.dir ?? join(dirname(config.store.path), "reports");
