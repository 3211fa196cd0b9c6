import { type Platform, platforms, type SessionRecord } from "../../agents/session.ts";
import { readable } from "../../alerts/readable.ts";
import { skippedParts } from "../../checks/context-scope.ts";
import type { SessionScope, SessionSort, StateFilter } from "../../core/manager.ts";
import type { View } from "../../messages/view.ts";
import { type LastExchange, lastExchange, maxChatReadBytes, sessionLines, sessionListSections, sessionView } from "./sessions-views.ts";
import { type Command, idArg, UsageError } from "./spec.ts";

export { resetData, resumeCommand, sessionView } from "./sessions-views.ts";

/** At most this many sessions in one answer (paginated by the transport); narrow with filters for more. */
export const maxSessionRows = 300;

const sorts: Record<string, SessionSort> = { urgency: "urgency", context: "context", activity: "activity" };
const states: readonly StateFilter[] = ["errored", "waiting"];

export interface SessionsArgs {
  platform?: Platform;
  scope: SessionScope;
  sort: SessionSort;
  state?: StateFilter;
  project?: string;
}

/** Parses `[platform] [active|all] [sort] [errored|waiting] [project <name>]` in any order. */
export function parseSessionsArgs(args: string[]): SessionsArgs {
  const out: Partial<SessionsArgs> = {};
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
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
    } else if ((states as readonly string[]).includes(a)) {
      if (out.state) throw new UsageError("give errored or waiting, not both");
      out.state = a as StateFilter;
    } else if (a === "project") {
      const name = args[++i];
      if (!name) throw new UsageError("give a project name after project, e.g. project alpha");
      if (out.project) throw new UsageError("give one project at most");
      out.project = name.slice(0, 100);
    } else {
      throw new UsageError(
        `"${raw.slice(0, 40)}" is not a platform (${platforms.join(", ")}), active|all, a sort (context, activity), errored|waiting or project <name>`,
      );
    }
  }
  return { ...out, scope: out.scope ?? "active", sort: out.sort ?? "urgency" };
}

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

/** What a list was narrowed to, in a few words: "claude, errored, project alpha, by context". */
function filterWords(q: SessionsArgs): string {
  return [q.platform, q.state, q.project ? `project ${q.project}` : null, q.scope === "all" ? "all" : null, q.sort === "urgency" ? null : `by ${q.sort}`]
    .filter(Boolean)
    .join(", ");
}

export const sessionsCommand: Command = {
  name: "sessions",
  description: "List sessions, most urgent first",
  usage: "/sessions [platform] [active|all] [context|activity] [errored|waiting] [project <name>] — e.g. /sessions claude errored",
  options: [
    { name: "platform", description: "Only this platform", type: "string", choices: [...platforms] },
    { name: "scope", description: "active (default: the checked ones) or all", type: "string", choices: ["active", "all"] },
    { name: "sort", description: "urgency (default), context or activity", type: "string", choices: Object.keys(sorts) },
    { name: "state", description: "Only errored or waiting sessions", type: "string", choices: [...states] },
    { name: "project", description: "Only sessions whose project folder matches this name", type: "string", keyword: "project" },
  ],
  run({ manager, now }, args) {
    const q = parseSessionsArgs(args);
    const config = manager.rt.config;
    const { rows, total, skipped } = manager.sessions({ ...q, limit: maxSessionRows }, now);
    const filters = filterWords(q);
    const left = q.scope === "active" ? skippedParts(skipped, config) : null;
    // What is left out, so the list does not look like all there is (two short lines on a phone).
    const leftLine = left ? ["Not checked (see /sessions all):", left] : [];
    if (rows.length === 0) {
      return { title: "Sessions", sections: [{ lines: [`No sessions${filters ? ` (${filters})` : ""}.`, ...leftLine] }] };
    }
    const width = distinctIdWidth(rows.map((r) => r.session));
    const more = total > rows.length ? [`Showing ${rows.length} of ${total}: narrow it.`] : [];
    const managed = manager.workers.store.newestBySessionUid(rows.map((r) => r.session.uid));
    if (managed.size) {
      more.unshift(
        `Managed by asm: ${[...managed].map(([uid, w]) => `${w.id} (${rows.find((r) => r.session.uid === uid)!.session.sessionId.slice(0, width)})`).join(", ")}`,
      );
    }
    return {
      title: `Sessions: ${total}${filters ? ` (${filters})` : ""}`,
      sections: [...sessionListSections(rows, config, now, width), { lines: [...more, ...leftLine, "Details: /session <id> · /tail <id>"] }],
    };
  },
};

/** What to type to open the first candidate: its distinct prefix, or its uid when another platform has the same id. */
export function suggestion(candidates: SessionRecord[], width: number): string {
  const first = candidates[0]!;
  const twin = candidates.some((s) => s !== first && s.sessionId === first.sessionId);
  return twin ? first.uid : first.sessionId.slice(0, width);
}

/** Sessions a prefix matched, two lines each, for a "give a longer prefix" answer. */
export function candidateLines(
  candidates: SessionRecord[],
  config: Parameters<typeof sessionLines>[1],
  now: number,
  width: number,
  note?: (s: SessionRecord) => string,
): string[] {
  return candidates.flatMap((s) => {
    const [a, b] = sessionLines(s, config, now, width);
    return note ? [a, b, `   ${note(s)}`] : [a, b];
  });
}

/** The answer for a prefix that matched several sessions. */
export function ambiguousView(id: string, candidates: SessionRecord[], config: Parameters<typeof sessionLines>[1], now: number, command: string): View {
  const width = distinctIdWidth(candidates, Math.max(8, id.length + 1));
  return {
    title: `"${id}" matches ${candidates.length}${candidates.length >= 10 ? "+" : ""} sessions`,
    sections: [
      { lines: candidateLines(candidates, config, now, width) },
      { lines: ["Give a longer prefix, e.g.", `/${command} ${suggestion(candidates, width)}`] },
    ],
    private: true,
  };
}

/** Reads a session's transcript for its last prompt and reply; null when it cannot be read (the rest of /session still shows). */
async function readExchange(s: SessionRecord): Promise<LastExchange | null> {
  if (!s.present || !s.path || s.sizeBytes > maxChatReadBytes) return null;
  try {
    const { readSessionMessages } = await import("../../agents/messages-reader.ts");
    return lastExchange(readSessionMessages(s).entries);
  } catch {
    return null;
  }
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
    if (found.kind === "ambiguous") return { ...ambiguousView(id, found.candidates, rt.config, now, "session"), private: false };
    const s = found.session;
    const alerts = manager.alerts.forSession(s.uid, s.sessionId).map((a) => `#${a.id} ${a.severity}: ${readable(a.summary)} (/ack ${a.id})`);
    const view = sessionView(s, manager.recentTurns(s.uid, 5), alerts, now, await readExchange(s));
    const { sessionUsage } = await import("../../core/usage.ts");
    const { sessionCostLine } = await import("../../core/usage-view.ts");
    const cacheAt = view.sections[0]!.lines.findIndex((l) => l.startsWith("cache: "));
    view.sections[0]!.lines.splice(cacheAt + 1, 0, sessionCostLine(sessionUsage(rt.db, rt.config, s.uid)));
    const worker = manager.workers.store.newestBySessionUid([s.uid]).get(s.uid);
    if (worker) view.sections.splice(1, 0, { heading: "Managed worker", lines: [`${worker.id} (${worker.status}) — /worker ${worker.id}`] });
    return view;
  },
};
