import { z } from "zod";
import { pathString } from "./common.ts";

export const storeSection = z
  .strictObject({
    path: pathString
      .default("$XDG_DATA_HOME/asm/asm.db")
      .describe("SQLite database file (ASM_DB overrides); default: the per-user data folder, ~/.local/share/asm/asm.db unless XDG_DATA_HOME is set"),
    backupDir: pathString
      .nullable()
      .default(null)
      .describe("Where backups of the database go (daily after a passing integrity check, and before migrations); null = backups/ beside the database"),
    backupKeep: z.number().int().min(1).max(100).default(3).describe("Backups kept of each kind (daily, pre-migration)"),
  })
  .prefault({});

export const logSection = z
  .strictObject({
    level: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
      .nullable()
      .default(null)
      .describe("ASM_LOG_LEVEL. null = info, but warn on a terminal (lines then do not interleave with typing; log.file still gets info)"),
    file: pathString.nullable().default(null).describe("Also append JSON log lines to this file (watched by the logs check)"),
    pretty: z.enum(["auto", "always", "never"]).default("auto").describe("Readable logs: auto = when stderr is a TTY"),
  })
  .prefault({});
