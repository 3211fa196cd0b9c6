import { createHash } from "node:crypto";
import type { FallbackDecision } from "../agents/agent.ts";
import { str, toMs } from "../agents/agent.ts";
import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import type { Db } from "../store/db.ts";
import type { FallbackStore } from "../store/fallback.ts";
import { AppendedReadError, expandLogGlobs, readAppended } from "./log-tail.ts";

/** The `files` source under which fallback-log offsets are kept. */
export const FALLBACK_LOG_SOURCE = "fallback-log";

export interface FallbackSyncReport {
  added: number;
  badLines: number;
  /** Logs that could not be read, with the reason. */
  errors: string[];
}

type Json = Record<string, unknown>;
const first = (doc: Json, keys: string[]): unknown => {
  for (const k of keys) if (doc[k] !== undefined && doc[k] !== null) return doc[k];
  return undefined;
};

/**
 * One line of a `fallback_decisions.jsonl` log: `{time, worker, original_model, error_type,
 * next_model}` (camelCase and a few common aliases accepted). A `next_model` of null, "" or "none"
 * means nothing was left to try. Null when the line is not such a decision.
 */
export function parseDecisionLine(line: string, source: string): FallbackDecision | null {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return null;
  const d = doc as Json;
  const ts = toMs(first(d, ["time", "ts", "timestamp", "at"]));
  const originalModel = str(first(d, ["original_model", "originalModel", "from", "failed_model", "model"]));
  if (ts === null || originalModel === null) return null;
  const next = str(first(d, ["next_model", "nextModel", "to", "fallback_model", "fallback"]));
  const nextModel = next === null || next.toLowerCase() === "none" ? null : next;
  const worker = str(first(d, ["worker", "agent", "agentId", "session", "sessionKey"]));
  const errorType = str(first(d, ["error_type", "errorType", "error", "reason"]));
  // asm's runner writes its own key: the row it already stored is the same decision, not a second one.
  const own = str(d.dedup_key);
  const dedupKey = own?.startsWith("runner:") ? own : `${source}:${createHash("sha1").update(line).digest("hex")}`;
  return { ts, worker, originalModel, errorType, nextModel, source: own?.startsWith("runner:") ? "runner" : source, dedupKey };
}

/**
 * The fallbacks the agents record themselves: OpenClaw's fallback notice (selected → active model)
 * or an automatic model override (origin → override), and Claude Code's fallback events. One row per
 * distinct switch per session, dated when first seen.
 */
export function decisionsFromSessions(sessions: SessionRecord[], now: number): FallbackDecision[] {
  return sessions.flatMap((s) => agentOf(s.platform).recordedFallbacks(s, now));
}

/**
 * Brings the `fallback_decisions` table up to date: new lines of every configured decision log (read
 * incrementally, whole history on first sight) and the decisions the sessions' extras record.
 * Re-reading never double-counts (unique dedup keys). Never throws for bad input.
 */
export function syncFallbackDecisions(db: Db, store: FallbackStore, logs: string[], sessions: SessionRecord[], now: number): FallbackSyncReport {
  const report: FallbackSyncReport = { added: 0, badLines: 0, errors: [] };
  for (const path of expandLogGlobs(logs, now, Number.POSITIVE_INFINITY)) {
    const batch: FallbackDecision[] = [];
    try {
      readAppended(
        db,
        path,
        FALLBACK_LOG_SOURCE,
        (raw) => {
          const line = raw.toString("utf8").trim();
          if (!line) return;
          const d = parseDecisionLine(line, `log:${path}`);
          if (d) batch.push(d);
          else report.badLines++;
        },
        now,
        { initialTailBytes: Number.POSITIVE_INFINITY },
      );
    } catch (err) {
      if (!(err instanceof AppendedReadError)) throw err;
      report.errors.push(err.message);
    }
    report.added += store.add(batch);
  }
  report.added += store.add(decisionsFromSessions(sessions, now));
  return report;
}
