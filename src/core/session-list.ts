import type { Platform, SessionRecord, SessionState } from "../agents/session.ts";
import { type ContextSkip, contextSkip, noSkips, type SkipCounts } from "../checks/context-scope.ts";
import type { Config } from "../config/schema.ts";

/** active = the sessions the context check looks at (see context-scope.ts); all = every one, gone ones too. */
export type SessionScope = "active" | "all";
export type SessionSort = "urgency" | "context" | "activity";
/** The states a list can be narrowed to: the ones a person acts on. */
export type StateFilter = Extract<SessionState, "errored" | "waiting">;

export interface SessionListQuery {
  platform?: Platform | undefined;
  scope: SessionScope;
  sort: SessionSort;
  /** Only sessions in this state. */
  state?: StateFilter | undefined;
  /** Only sessions whose project (folder or workspace) contains this text, any case. */
  project?: string | undefined;
  limit: number;
}

/** One row of a list: the session and why its context is not checked (null when it is). */
export interface ListedSession {
  session: SessionRecord;
  skip: ContextSkip | null;
}

export interface SessionList {
  rows: ListedSession[];
  /** How many match in total (rows may be fewer, up to `limit`). */
  total: number;
  /** Sessions of the platform/state/project asked for that the context check leaves out, by reason (left out of an `active` list). */
  skipped: SkipCounts;
}

const byContext = (a: SessionRecord, b: SessionRecord) => (b.contextPercent ?? -1) - (a.contextPercent ?? -1);
const byActivity = (a: SessionRecord, b: SessionRecord) => (b.lastActivity ?? 0) - (a.lastActivity ?? 0);

/**
 * Pure: the sessions a list shows, from every row of the store. Urgency puts the checked sessions first (fullest
 * context first), so a session the checks leave out (ended at 112%) is never ranked above one they watch.
 */
export function listSessions(all: SessionRecord[], q: SessionListQuery, config: Config, now: number): SessionList {
  const project = q.project?.toLowerCase();
  const skipped = noSkips();
  const matching: ListedSession[] = [];
  for (const session of all) {
    if (q.platform && session.platform !== q.platform) continue;
    if (q.state && session.state !== q.state) continue;
    if (project && !(session.project ?? "").toLowerCase().includes(project)) continue;
    const skip = contextSkip(session, config, now);
    if (skip) skipped[skip]++;
    if (skip && q.scope === "active") continue;
    matching.push({ session, skip });
  }
  const order =
    q.sort === "activity"
      ? (a: ListedSession, b: ListedSession) => byActivity(a.session, b.session)
      : q.sort === "context"
        ? (a: ListedSession, b: ListedSession) => byContext(a.session, b.session) || byActivity(a.session, b.session)
        : (a: ListedSession, b: ListedSession) =>
            Number(a.skip !== null) - Number(b.skip !== null) || byContext(a.session, b.session) || byActivity(a.session, b.session);
  matching.sort(order);
  return { rows: matching.slice(0, q.limit), total: matching.length, skipped };
}
