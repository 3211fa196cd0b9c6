import type { Platform } from "../agents/session.ts";
import type { KvStore } from "./kv.ts";

/**
 * Document-level problems that belong to no single session: a sessions.json that is not valid JSON, an
 * unreadable SQLite store, a root that cannot be listed. Sources record them here (kv key
 * `source.problems`, an object keyed by path) and clear them when the document reads cleanly again; the
 * transcript check lists them.
 *
 * ```ts
 * recordSourceProblem(kv, { platform: "openclaw", path, problem: "invalid JSON: ...", since: now });
 * clearSourceProblem(kv, path);   // after a good read
 * ```
 */
export interface SourceProblem {
  platform: Platform;
  path: string;
  problem: string;
  /** When the problem was first seen (epoch ms); kept while the same path keeps failing. */
  since: number;
}

const KEY = "source.problems";

type ProblemMap = Record<string, SourceProblem>;

/** Records (or refreshes) the problem of one document; the first `since` is kept while it persists. */
export function recordSourceProblem(kv: KvStore, p: SourceProblem): void {
  const all = kv.get<ProblemMap>(KEY) ?? {};
  const prior = all[p.path];
  const next: SourceProblem = { ...p, since: prior ? prior.since : p.since };
  if (prior && prior.problem === next.problem && prior.platform === next.platform) return;
  all[p.path] = next;
  kv.set(KEY, all, p.since);
}

/** Forgets the problem of a document that now reads cleanly (a no-op when there was none). */
export function clearSourceProblem(kv: KvStore, path: string, now = Date.now()): void {
  const all = kv.get<ProblemMap>(KEY);
  if (!all || !(path in all)) return;
  delete all[path];
  kv.set(KEY, all, now);
}

/** Every open document problem, oldest first. */
export function listSourceProblems(kv: KvStore): SourceProblem[] {
  return Object.values(kv.get<ProblemMap>(KEY) ?? {}).sort((a, b) => a.since - b.since);
}
