import { existsSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { type CodexState, codexLine, codexState, freshCodexState, rolloutId } from "../agents/codex/rollout.ts";
import { contextPercent, contextWindowFor } from "../agents/context-window.ts";
import { type SessionRecord, sessionUid } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { isGoneError, unreadableReason } from "../lib/fs-errors.ts";
import { walkFiles } from "../lib/walk.ts";
import { ageSessionStates } from "../store/sessions.ts";
import { type FileAdapter, type FileJob, scanFiles } from "./file-scan.ts";
import { emptyResult, type ScanContext, type Source, type SourceScanResult } from "./source.ts";

interface Found {
  path: string;
  archived: boolean;
  compressed: boolean;
}

/** The Codex source: rollouts under `<root>/sessions` and `<root>/archived_sessions`, incrementally. */
export class CodexSource implements Source {
  readonly platform = "codex" as const;
  /** Folders this cycle could not list: what was read under them before is kept. */
  private unlisted: string[] = [];

  /** `env`: Codex's own `CODEX_HOME`, when set, is read as well as the configured root. */
  constructor(
    private readonly config: Config,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  roots(): string[] {
    const list = [this.config.sources.codex.root];
    const home = this.env.CODEX_HOME ? resolve(this.env.CODEX_HOME) : null;
    if (home && !list.includes(home)) list.push(home);
    return list;
  }

  /** Every rollout file under the roots that exist, one per session: plain over zst, live over archived. */
  private discover(roots: string[], result: SourceScanResult): Map<string, Found> {
    const bySession = new Map<string, Found>();
    const rank = (f: Found) => (f.archived ? 2 : 0) + (f.compressed ? 1 : 0);
    const real = new Set<string>();
    for (const root of roots) {
      let r: string;
      try {
        r = realpathSync(root);
      } catch (err) {
        // Removed since it was seen: its sessions are marked gone below. Unreadable: they are kept.
        if (!isGoneError(err)) {
          result.errors.push(unreadableReason(root, err, "resolve"));
          this.unlisted.push(root);
        }
        continue;
      }
      if (real.has(r)) continue;
      real.add(r);
      this.discoverRoot(root, bySession, rank, result);
    }
    return bySession;
  }

  private discoverRoot(root: string, bySession: Map<string, Found>, rank: (f: Found) => number, result: SourceScanResult): void {
    for (const [folder, archived] of [
      ["sessions", false],
      ["archived_sessions", true],
    ] as const) {
      const problems: { path: string; reason: string }[] = [];
      const paths = walkFiles(join(root, folder), {
        accept: (n) => n.startsWith("rollout-") && (n.endsWith(".jsonl") || n.endsWith(".jsonl.zst")),
        problems,
      });
      for (const p of problems) {
        result.errors.push(`cannot list ${p.path}: ${p.reason}`);
        this.unlisted.push(p.path);
      }
      for (const path of paths) {
        const found = { path, archived, compressed: path.endsWith(".zst") };
        const id = rolloutId(path);
        const prev = bySession.get(id);
        if (!prev || rank(found) < rank(prev)) bySession.set(id, found);
      }
    }
  }

  async scan(ctx: ScanContext): Promise<SourceScanResult> {
    const result = emptyResult("codex");
    this.unlisted = [];
    const present: string[] = [];
    for (const root of this.roots()) {
      if (existsSync(root)) present.push(root);
      else result.missingRoots.push(root);
    }
    // Even with no root left the cycle runs: the sessions of a deleted ~/.codex are then marked gone.
    const found = this.discover(present, result);
    const byPath = new Map<string, Found>();
    const jobs: FileJob[] = [];
    for (const f of found.values()) {
      byPath.set(f.path, f);
      jobs.push({ path: f.path, compressed: f.compressed });
    }
    const config = this.config;
    const adapter: FileAdapter<CodexState> = {
      source: "codex",
      sessionUid: (path) => sessionUid("codex", null, rolloutId(path)),
      fresh: () => freshCodexState(),
      line: codexLine,
      parseErrors: (s) => ({ count: s.parseErrors, last: s.lastParseError }),
      commit: ({ path, uid, state: s, st, now }) => {
        const f = byPath.get(path)!;
        const window = contextWindowFor(s.model, config, s.window ?? s.taskWindow).tokens;
        const parent = s.parentId ?? s.forkedFrom;
        const extra: Record<string, unknown> = { compactions: s.compactions };
        if (s.rateLimits) extra.rateLimits = s.rateLimits;
        if (f.archived) extra.archived = true;
        if (f.compressed) extra.compressed = true;
        if (s.forkedFrom) extra.forkedFrom = s.forkedFrom;
        if (s.originator) extra.originator = s.originator;
        if (s.reasoning) extra.reasoningTokens = s.reasoning;
        if (s.lastError) extra.lastError = s.lastError;
        if (s.lastErrorReason) extra.lastErrorReason = s.lastErrorReason;
        if (s.parseErrorLine !== null) extra.parseErrorLine = s.parseErrorLine;
        const record: SessionRecord = {
          uid,
          platform: "codex",
          agentId: null,
          sessionId: rolloutId(path),
          sessionKey: null,
          kind: s.subagent ? "subagent" : "session",
          parentUid: parent ? sessionUid("codex", null, parent) : null,
          project: s.cwd,
          title: s.title ?? s.firstPrompt ?? null,
          model: s.model,
          firstActivity: s.first,
          lastActivity: s.last ?? Math.trunc(st.mtimeMs),
          messageCount: Math.max(s.legacyMessages, s.itemMessages),
          path,
          sizeBytes: st.size,
          contextTokens: s.context,
          contextWindow: window,
          contextPercent: contextPercent(s.context, window),
          inputTokens: Math.max(0, s.input - s.cached),
          outputTokens: s.output,
          cacheReadTokens: s.cached,
          cacheWriteTokens: s.cacheWrite,
          parseErrors: s.parseErrors,
          lastParseError: s.lastParseError,
          state: codexState(s, f.archived, now),
          present: true,
          extra,
          scannedAt: now,
        };
        ctx.sessions.upsert(record);
      },
    };
    await scanFiles(ctx, adapter, jobs, result, { unlisted: this.unlisted });
    ageSessionStates(ctx.db, "codex", ctx.now);
    return result;
  }
}
