import { type Platform, platforms, type SessionRecord } from "../agents/session.ts";
import { skippedText } from "../checks/context-scope.ts";
import { listSessions } from "../core/session-list.ts";
import { formatAgeCompact, formatPercent, formatTokens } from "../lib/present.ts";
import type { Runtime } from "../store/runtime.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, print, printJson, table } from "./io.ts";

/** The JSON shape of a session for `asm scan --json` and `asm sessions --json`. */
export function sessionJson(s: SessionRecord) {
  return {
    platform: s.platform,
    sessionId: s.sessionId,
    agentId: s.agentId,
    sessionKey: s.sessionKey,
    kind: s.kind,
    parent: s.parentUid,
    project: s.project,
    title: s.title,
    path: s.path,
    model: s.model,
    state: s.state,
    contextTokens: s.contextTokens,
    contextWindow: s.contextWindow,
    contextPercent: s.contextPercent === null ? null : Math.round(s.contextPercent * 10) / 10,
    messageCount: s.messageCount,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    cacheReadTokens: s.cacheReadTokens,
    cacheWriteTokens: s.cacheWriteTokens,
    firstActivity: s.firstActivity === null ? null : new Date(s.firstActivity).toISOString(),
    updatedAt: s.lastActivity === null ? null : new Date(s.lastActivity).toISOString(),
    sizeBytes: s.sizeBytes,
    parseErrors: s.parseErrors,
    lastParseError: s.lastParseError,
    present: s.present,
  };
}

export const parsePlatform = (value: string | undefined): Platform | undefined => {
  if (value === undefined) return undefined;
  if (!(platforms as readonly string[]).includes(value)) {
    throw new UsageError(`unknown platform "${value}" (expected one of: ${platforms.join(", ")})`);
  }
  return value as Platform;
};

export interface SessionsOptions {
  json: boolean;
  platform?: Platform | undefined;
  sort: "context" | "activity" | "urgency";
  all: boolean;
}

/**
 * `asm sessions`: what the store knows, as a table or JSON. Reads only SQLite. Ranked like `/sessions` (the
 * sessions the context check watches first), with a CHECKED column and the same "not checked" counts.
 */
export function printSessions(rt: Runtime, io: CliIo, opts: SessionsOptions, now = Date.now()): void {
  const ranked = listSessions(rt.sessions, { platform: opts.platform, scope: "all", sort: opts.sort, limit: -1 }, rt.config, now);
  const list = opts.all ? ranked : { ...ranked, rows: ranked.rows.filter((r) => r.session.present) };
  const rows = list.rows.map((r) => r.session);
  if (opts.json) return void printJson(io, rows.map(sessionJson));
  if (rows.length === 0) {
    print(io, "No sessions in the store yet. Run `asm scan --once` (or `asm run`) to discover them.");
    return;
  }
  print(
    io,
    table(
      ["PLATFORM", "SESSION", "KIND", "MODEL", "CONTEXT", "STATE", "ACTIVE", "CHECKED", "PROJECT"],
      list.rows.map(({ session: s, skip }) => [
        s.platform + (s.agentId ? `/${s.agentId}` : ""),
        s.sessionId.slice(0, 12),
        s.kind,
        s.model ?? "-",
        s.contextPercent === null ? "-" : `${formatPercent(s.contextPercent, 0)} ${formatTokens(s.contextTokens)}/${formatTokens(s.contextWindow)}`,
        s.present ? s.state : "gone",
        formatAgeCompact(s.lastActivity, now),
        skip === null ? "yes" : `no (${skip})`,
        s.project ?? "-",
      ]),
      [18, 12, 9, 22, 16, 8, 6, 10, 40],
    ),
  );
  const left = skippedText(list.skipped, rt.config);
  if (left) print(io, `context ${left} (see checks.context in the README)`);
}
