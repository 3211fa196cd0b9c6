import type { Platform } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Db } from "../store/db.ts";
import type { SessionStore } from "../store/sessions.ts";

/** What a source gets for one scan cycle. */
export interface ScanContext {
  db: Db;
  sessions: SessionStore;
  config: Config;
  log: Logger;
  now: number;
}

/** What one source did in one cycle; summed into the scan report. */
export interface SourceScanResult {
  platform: Platform;
  /** Sessions inserted or updated this cycle. */
  sessionsUpdated: number;
  filesSeen: number;
  /** Files (or SQLite stores) whose new content was read this cycle. */
  filesRead: number;
  bytesRead: number;
  parseErrors: number;
  /** Roots that do not exist (reported once at start by the caller, as information). */
  missingRoots: string[];
  /** Problems that stopped part of the scan (unreadable store, ...); never thrown. */
  errors: string[];
}

/**
 * One agent platform's reader. It detects which storage layouts are present under its roots, reads
 * only what changed since the last cycle (offsets in the `files` table), and writes session rows.
 * A source never throws for bad input: it counts, records and moves on.
 */
export interface Source {
  readonly platform: Platform;
  /** The folders this source reads. */
  roots(): string[];
  scan(ctx: ScanContext): Promise<SourceScanResult>;
}

export const emptyResult = (platform: Platform): SourceScanResult => ({
  platform,
  sessionsUpdated: 0,
  filesSeen: 0,
  filesRead: 0,
  bytesRead: 0,
  parseErrors: 0,
  missingRoots: [],
  errors: [],
});
