import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { type ClaudeFile, discoverClaudeFiles, subagentMeta } from "../agents/claude/layout.ts";
import { type ClaudeState, claudeLine, claudeState, claudeWindow, freshClaudeState } from "../agents/claude/transcript.ts";
import { contextPercent } from "../agents/context-window.ts";
import { type SessionRecord, sessionUid } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { ageSessionStates } from "../store/sessions.ts";
import { type FileAdapter, type FileJob, scanFiles } from "./file-scan.ts";
import { emptyResult, type ScanContext, type Source, type SourceScanResult } from "./source.ts";

const uidOf = (sessionId: string) => sessionUid("claude", null, sessionId);

/** The Claude Code source: every configured projects root, incrementally. */
export class ClaudeCodeSource implements Source {
  readonly platform = "claude" as const;

  /** `env`: Claude Code's own `CLAUDE_CONFIG_DIR` (a comma-separated list, as ccusage reads it), when set, adds
   * `<dir>/projects` for each folder it names. */
  constructor(
    private readonly config: Config,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  roots(): string[] {
    const c = this.config.sources.claude;
    const fromEnv = (this.env.CLAUDE_CONFIG_DIR ?? "")
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => resolve(d, "projects"));
    return [...new Set([c.root, ...c.extraRoots, ...fromEnv])];
  }

  async scan(ctx: ScanContext): Promise<SourceScanResult> {
    const result = emptyResult("claude");
    const jobs: FileJob[] = [];
    const where = new Map<string, ClaudeFile>();
    const realRoots = new Set<string>();
    const ids = new Set<string>();
    const unlisted: string[] = [];
    for (const root of this.roots()) {
      if (!existsSync(root)) {
        result.missingRoots.push(root);
        continue;
      }
      // ~/.config/claude is often a link to ~/.claude: one folder read twice would count every session twice.
      const real = realpathSync(root);
      if (realRoots.has(real)) continue;
      realRoots.add(real);
      for (const f of discoverClaudeFiles(root, result.errors, unlisted)) {
        if (ids.has(f.sessionId)) continue; // the same session under two roots: the first root wins
        ids.add(f.sessionId);
        where.set(f.path, f);
        jobs.push({ path: f.path });
      }
    }
    const config = this.config;
    const adapter: FileAdapter<ClaudeState> = {
      source: "claude",
      sessionUid: (path) => uidOf(where.get(path)!.sessionId),
      fresh: (path) => freshClaudeState(where.get(path)!.kind),
      line: claudeLine,
      parseErrors: (s) => ({ count: s.parseErrors, last: s.lastParseError }),
      commit: ({ path, uid, state: s, st, now }) => {
        // CLI 2.0.x creates an empty `<new id>.jsonl` on every `--resume` and writes the turns to the resumed
        // session's file: an empty file is no conversation (yet), so it gets no row until a line arrives.
        if (st.size === 0 && !ctx.sessions.get(uid)) return;
        const c = where.get(path)!;
        const parentId = c.parentSessionId ?? (c.kind === "sidechain" ? s.lineSessionId : null);
        const window = claudeWindow(s.model, s.maxContext, config);
        const extra: Record<string, unknown> = {
          apiErrors: s.apiErrors,
          lastApiError: s.lastApiError,
          compactions: s.compactions,
        };
        if (s.lastErrorReason) extra.lastErrorReason = s.lastErrorReason;
        if (s.apiRetries) {
          extra.apiRetries = s.apiRetries;
          extra.lastRetry = s.lastRetry;
        }
        if (s.parseErrorLine !== null) extra.parseErrorLine = s.parseErrorLine;
        const meta = c.kind === "subagent" ? subagentMeta(path) : null;
        if (meta?.agentType) extra.agentType = meta.agentType;
        const record: SessionRecord = {
          uid,
          platform: "claude",
          agentId: null,
          sessionId: c.sessionId,
          sessionKey: null,
          kind: c.kind,
          parentUid: parentId ? uidOf(parentId) : null,
          project: s.cwd,
          title: s.customTitle ?? s.aiTitle ?? s.summary ?? meta?.description ?? s.lastPrompt ?? null,
          model: s.model,
          firstActivity: s.first,
          lastActivity: s.last ?? Math.trunc(st.mtimeMs),
          messageCount: s.messages,
          path,
          sizeBytes: st.size,
          contextTokens: s.context,
          contextWindow: window,
          contextPercent: contextPercent(s.context, window),
          inputTokens: s.input,
          outputTokens: s.output,
          cacheReadTokens: s.cacheRead,
          cacheWriteTokens: s.cacheWrite,
          parseErrors: s.parseErrors,
          lastParseError: s.lastParseError,
          state: claudeState(s, now),
          present: true,
          extra,
          scannedAt: now,
        };
        ctx.sessions.upsert(record);
      },
    };
    await scanFiles(ctx, adapter, jobs, result, { unlisted });
    ageSessionStates(ctx.db, "claude", ctx.now);
    return result;
  }
}
