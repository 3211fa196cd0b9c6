import { agentOf } from "../../agents/registry.ts";
import { type Platform, platforms, type SessionRecord } from "../../agents/session.ts";
import type { SessionScope, SessionSort } from "../../core/manager.ts";
import { fitColumn, formatAge, formatAgeCompact, formatBytes, formatPercent, formatTime, formatTokens } from "../../lib/present.ts";
import type { Button, View } from "../../messages/view.ts";
import { type Command, idArg, UsageError } from "./spec.ts";

/** At most this many rows in one answer (paginated by the transport); narrow with filters for more. */
export const maxSessionRows = 300;

const sorts: Record<string, SessionSort> = { urgency: "urgency", context: "context", activity: "activity" };

/** Parses `[platform] [active|all] [sort]` in any order. */
export function parseSessionsArgs(args: string[]): { platform?: Platform; scope: SessionScope; sort: SessionSort } {
  const out: { platform?: Platform; scope?: SessionScope; sort?: SessionSort } = {};
  for (const raw of args) {
    const a = raw.toLowerCase();
    if ((platforms as readonly string[]).includes(a)) {
      if (out.platform) throw new UsageError("give one platform at most");
      out.platform = a as Platform;
    } else if (a === "active" || a === "all") {
      if (out.scope) throw new UsageError("give active or all, not both");
      out.scope = a;
    } else if (a in sorts) {
      if (out.sort) throw new UsageError("give one sort at most");
      out.sort = sorts[a]!;
    } else throw new UsageError(`"${raw.slice(0, 40)}" is not a platform (${platforms.join(", ")}), active|all, or a sort (context, activity)`);
  }
  return { ...out, scope: out.scope ?? "active", sort: out.sort ?? "urgency" };
}

const ctx = (s: SessionRecord) => (s.contextPercent === null ? "  - " : formatPercent(s.contextPercent, 0).padStart(4));
const who = (s: SessionRecord) => `${s.platform}${s.agentId ? `/${s.agentId}` : ""}`;
const label = (s: SessionRecord) => s.title ?? s.project ?? s.sessionKey ?? "";

/**
 * How many characters of the session id tell these sessions apart (at least `min`). Ids sharing
 * their first 8 characters are common: Codex ids are UUIDv7, whose first 8 hex digits change only
 * every ~65 s, and a list that shows two sessions alike leaves the user no prefix to type.
 */
export function distinctIdWidth(sessions: SessionRecord[], min = 8): number {
  // The same id on two platforms cannot be told apart by a prefix (the uid does that): count it once.
  const ids = [...new Set(sessions.map((s) => s.sessionId))].sort();
  let width = min;
  for (let i = 1; i < ids.length; i++) {
    const a = ids[i - 1]!;
    const b = ids[i]!;
    let common = 0;
    while (common < a.length && common < b.length && a[common] === b[common]) common++;
    width = Math.max(width, Math.min(common + 1, Math.max(a.length, b.length)));
  }
  return width;
}

/** The header of a list of `sessionRow`s with ids `idWidth` wide. */
export const sessionHeader = (idWidth = 8) => `CTX  PLATFORM       ${"SESSION".padEnd(idWidth)} MODEL              LAST TITLE`;

/** One row of the list: context %, where, id prefix, model, last activity, what it is about. */
export function sessionRow(s: SessionRecord, now: number, idWidth = 8): string {
  return `${ctx(s)} ${fitColumn(who(s), 14)} ${s.sessionId.slice(0, idWidth).padEnd(idWidth)} ${fitColumn(s.model ?? "-", 18)} ${formatAgeCompact(s.lastActivity, now).padStart(4)} ${s.present ? "" : "(gone) "}${label(s).slice(0, 40)}`;
}

export const sessionsCommand: Command = {
  name: "sessions",
  description: "List sessions, most urgent first",
  usage: "/sessions [platform] [active|all] [context|activity] — e.g. /sessions claude all context",
  options: [
    { name: "platform", description: "Only this platform", type: "string", choices: [...platforms] },
    { name: "scope", description: "active (default) or all", type: "string", choices: ["active", "all"] },
    { name: "sort", description: "urgency (default), context or activity", type: "string", choices: Object.keys(sorts) },
  ],
  run({ manager, now }, args) {
    const q = parseSessionsArgs(args);
    const { rows, total } = manager.sessions({ ...q, limit: maxSessionRows }, now);
    const filters = [q.platform, q.scope === "active" ? `active in ${manager.rt.config.checks.context.activeWithinHours}h` : "all", q.sort]
      .filter(Boolean)
      .join(", ");
    if (rows.length === 0) {
      return { title: "Sessions", sections: [{ lines: [`No sessions (${filters}).${q.scope === "active" ? " Try /sessions all." : ""}`] }] };
    }
    const width = distinctIdWidth(rows);
    const more = total > rows.length ? [`Showing ${rows.length} of ${total}; narrow it with a platform, e.g. /sessions openclaw.`] : [];
    const managed = manager.workers.store.newestBySessionUid(rows.map((s) => s.uid));
    if (managed.size) {
      more.unshift(`Managed by asm: ${[...managed].map(([uid, w]) => `${w.id} (${rows.find((s) => s.uid === uid)!.sessionId.slice(0, width)})`).join(", ")}`);
    }
    return {
      title: `Sessions (${total}; ${filters})`,
      sections: [
        { lines: [sessionHeader(width), ...rows.map((s) => sessionRow(s, now, width))], pre: true },
        { lines: [...more, "Open one with /session <id-prefix>."] },
      ],
    };
  },
};

/** The command that resumes a session in its own agent, to copy into a terminal. */
export function resumeCommand(s: SessionRecord): string {
  return agentOf(s.platform).resumeCommand(s);
}

/** Button data to request a reset of this session, when it fits the 64-byte limit. */
export const resetData = (s: SessionRecord) => {
  const data = `rs:${s.sessionId}`;
  return Buffer.byteLength(data) <= 64 ? data : null;
};

const extraLines = (x: Record<string, unknown>): string[] => {
  const out: string[] = [];
  const show = (k: string, label = k) => {
    const v = x[k];
    if (v !== undefined && v !== null && v !== "") out.push(`${label}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  };
  for (const k of [
    "channel",
    "chatType",
    "peer",
    "storage",
    "transcriptProblem",
    "modelOverride",
    "modelOverrideSource",
    "fallbackNoticeSelectedModel",
    "fallbackNoticeActiveModel",
    "fallbackNoticeReason",
    "lastAssistantModel",
    "lastErrorReason",
    "compactionCount",
    "compactions",
    "apiErrors",
    "parseErrorLine",
  ])
    show(k);
  const rl = x.rateLimits as { primary?: { usedPercent?: number; windowMinutes?: number } } | undefined;
  if (rl?.primary?.usedPercent !== undefined) out.push(`rate limit: ${rl.primary.usedPercent}% of ${rl.primary.windowMinutes ?? "?"} min window used`);
  const last = x.lastApiError as { text?: string } | undefined;
  if (last?.text) out.push(`last API error: ${String(last.text).slice(0, 160)}`);
  return out;
};

/** Everything we know about one session. */
export function sessionView(
  s: SessionRecord,
  turns: { ts: number; model: string | null; input: number; output: number; cacheRead: number; cacheWrite: number; contextTokens: number | null }[],
  alerts: string[],
  now: number,
): View {
  const buttons: Button[] = [];
  const rs = agentOf(s.platform).capabilities.resetSessions && s.present ? resetData(s) : null;
  if (rs) buttons.push({ label: "Reset session…", data: rs, style: "danger" });
  return {
    title: `${who(s)} ${s.sessionId}`,
    sections: [
      {
        lines: [
          ...(s.title ? [`title: ${s.title}`] : []),
          ...(s.sessionKey ? [`key: ${s.sessionKey}`] : []),
          `kind: ${s.kind} · state: ${s.present ? s.state : "gone"} · model: ${s.model ?? "-"}`,
          `context: ${s.contextPercent === null ? "unknown" : formatPercent(s.contextPercent, 1)} (${formatTokens(s.contextTokens)} of ${formatTokens(s.contextWindow)})`,
          `tokens: in ${formatTokens(s.inputTokens)} · out ${formatTokens(s.outputTokens)} · cache read ${formatTokens(s.cacheReadTokens)} · cache write ${formatTokens(s.cacheWriteTokens)}`,
          `messages: ${s.messageCount} · started ${formatTime(s.firstActivity)} · last active ${s.lastActivity === null ? "unknown" : formatAge(s.lastActivity, now)}`,
          ...(s.project ? [`project: ${s.project}`] : []),
          ...(s.path ? [`file: ${s.path} (${formatBytes(s.sizeBytes)})`] : []),
          ...(s.parseErrors ? [`parse errors: ${s.parseErrors}${s.lastParseError ? ` (last: ${s.lastParseError.slice(0, 120)})` : ""}`] : []),
          ...extraLines(s.extra),
        ],
      },
      {
        heading: "Recent turns",
        pre: true,
        lines: turns.length
          ? turns.map(
              (t) =>
                `${formatTime(t.ts).slice(11, 16)} ${fitColumn(t.model ?? "-", 18)} in ${formatTokens(t.input)} out ${formatTokens(t.output)} cache ${formatTokens(t.cacheRead)}/${formatTokens(t.cacheWrite)}${t.contextTokens !== null ? ` ctx ${formatTokens(t.contextTokens)}` : ""}`,
            )
          : ["(no per-turn usage recorded)"],
      },
      { heading: "Open alerts", lines: alerts.length ? alerts : ["none"] },
      { heading: "Resume", pre: true, lines: [resumeCommand(s)] },
    ],
    ...(buttons.length ? { buttons: [buttons] } : {}),
  };
}

/** What to type to open the first candidate: its distinct prefix, or its uid when another platform has the same id. */
export function suggestion(candidates: SessionRecord[], width: number): string {
  const first = candidates[0]!;
  const twin = candidates.some((s) => s !== first && s.sessionId === first.sessionId);
  return twin ? first.uid : first.sessionId.slice(0, width);
}

export const sessionCommand: Command = {
  name: "session",
  description: "Everything known about one session",
  usage: "/session <id-or-prefix> — e.g. /session 3f1d9c2e",
  options: [{ name: "id", description: "Session id or a unique prefix", type: "string", required: true, autocomplete: "session" }],
  async run({ rt, manager, now }, args) {
    if (args.length > 1) throw new UsageError("give one session id or prefix");
    const id = idArg(args[0], "session id or prefix");
    const found = manager.findSession(id);
    if (found.kind === "none") return { sections: [{ lines: [`No session matches "${id}". List them with /sessions all.`] }] };
    if (found.kind === "ambiguous") {
      const { candidates } = found;
      const width = distinctIdWidth(candidates, Math.max(8, id.length + 1));
      return {
        title: `"${id}" matches ${candidates.length}${candidates.length >= 10 ? "+" : ""} sessions`,
        sections: [
          { lines: candidates.map((s) => sessionRow(s, now, width)), pre: true },
          { lines: [`Give a longer prefix, e.g. /session ${suggestion(candidates, width)}`] },
        ],
      };
    }
    const s = found.session;
    const alerts = manager.alerts.forSession(s.uid, s.sessionId).map((a) => `#${a.id} ${a.severity}: ${a.summary} (/ack ${a.id})`);
    const view = sessionView(s, manager.recentTurns(s.uid, 5), alerts, now);
    const { sessionUsage } = await import("../../core/usage.ts");
    const { sessionCostLine } = await import("../../core/usage-view.ts");
    const tokensAt = view.sections[0]!.lines.findIndex((l) => l.startsWith("tokens: "));
    view.sections[0]!.lines.splice(tokensAt + 1, 0, sessionCostLine(sessionUsage(rt.db, rt.config, s.uid)));
    const worker = manager.workers.store.newestBySessionUid([s.uid]).get(s.uid);
    if (worker) view.sections.splice(1, 0, { heading: "Managed worker", lines: [`${worker.id} (${worker.status}) — /worker ${worker.id}`] });
    return view;
  },
};
