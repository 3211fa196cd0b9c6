import type { Platform, SessionRecord, SessionState } from "../agents/session.ts";
import { type ContextSkip, contextSkipColumn, noSkips, type SkipCounts } from "../checks/context-scope.ts";
import type { Config } from "../config/schema.ts";
import type { SessionStore } from "../store/sessions.ts";

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

/**
 * The sessions a list shows, ranked and counted in SQL by the context check's own rule. Urgency puts the
 * checked sessions first (fullest context first), so a session the checks leave out (ended at 112%) is never
 * ranked above one they watch.
 */
export function listSessions(store: SessionStore, q: SessionListQuery, config: Config, now: number): SessionList {
  const r = store.scoped(
    { platform: q.platform, state: q.state, project: q.project, watchedOnly: q.scope === "active", sort: q.sort, limit: q.limit },
    contextSkipColumn(config, now),
  );
  const skipped = noSkips();
  for (const k of Object.keys(skipped) as ContextSkip[]) skipped[k] = r.skipped[k] ?? 0;
  return { rows: r.rows.map((x) => ({ session: x.session, skip: x.skip as ContextSkip | null })), total: r.total, skipped };
}
