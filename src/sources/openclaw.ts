import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";
import { type OpenClawConfig, OpenClawConfigError, openClawConfigPath, readOpenClawConfig } from "../agents/openclaw/config.ts";
import type { Config } from "../config/schema.ts";
import { isGoneError, statPath, unreadableReason } from "../lib/fs-errors.ts";
import { identity } from "../lib/jsonl-reader.ts";
import { AgentDbError } from "../lib/sqlite-readonly.ts";
import { FileStore } from "../store/files.ts";
import { KvStore } from "../store/kv.ts";
import { clearSourceProblem, listSourceProblems, recordSourceProblem } from "../store/problems.ts";
import { scanFiles } from "./file-scan.ts";
import { dbSource, forgetAgentDb, scanAgentDb } from "./openclaw/db-scan.ts";
import { JsonEra, transcriptSource } from "./openclaw/json-scan.ts";
import { type AgentDatabase, readAgentDatabases } from "./openclaw/sqlite-store.ts";
import { emptyResult, type ScanContext, type Source, type SourceScanResult } from "./source.ts";

/** Where an agent's SQLite store lives under its folder (2026.8+). */
export const agentDbPath = (root: string, agentId: string) => join(root, "agents", agentId, "agent", "openclaw-agent.sqlite");

/**
 * OpenClaw (and its older names Clawdbot / Moltbot): every agent under `<root>/agents/<agentId>/`
 * for each configured root. Both storage eras are read, whichever is present:
 * - the SQLite store `agent/openclaw-agent.sqlite` (2026.8+), read-only, incrementally by
 *   (session id, seq), tables found through sqlite_master;
 * - the JSON store `sessions/sessions.json` with its `<sessionId>.jsonl` transcripts (read by the
 *   shared incremental JSONL reader).
 * A session present in both (imported by `openclaw doctor --fix`) is taken from the SQLite store.
 * openclaw.json (context cap, per-model windows, configured model) is read every cycle; it is small.
 */
export class OpenClawSource implements Source {
  readonly platform = "openclaw" as const;

  constructor(
    private readonly rootList: string[],
    private readonly configPath: string,
  ) {}

  /**
   * The roots and openclaw.json from config. OpenClaw's own overrides are honoured too when asm runs
   * in the same environment: `OPENCLAW_STATE_DIR` is read as an extra root, and `OPENCLAW_CONFIG_PATH`
   * names openclaw.json unless `sources.openclaw.configPath` is set.
   */
  static fromConfig(config: Config, env: Record<string, string | undefined> = process.env): OpenClawSource {
    const s = config.sources.openclaw;
    const roots = [s.root, ...s.legacyRoots];
    const stateDir = env.OPENCLAW_STATE_DIR ? resolve(env.OPENCLAW_STATE_DIR) : null;
    if (stateDir && !roots.includes(stateDir)) roots.unshift(stateDir);
    const configPath = s.configPath ?? (env.OPENCLAW_CONFIG_PATH ? resolve(env.OPENCLAW_CONFIG_PATH) : null) ?? openClawConfigPath(config);
    return new OpenClawSource(roots, configPath);
  }

  roots(): string[] {
    return this.rootList;
  }

  async scan(ctx: ScanContext): Promise<SourceScanResult> {
    const result = emptyResult("openclaw");
    const files = new FileStore(ctx.db);
    const kv = new KvStore(ctx.db);
    const oc = this.readConfig(ctx, result);
    const inDb = new Set<string>();
    const era = new JsonEra(ctx, files, oc, inDb);
    const dbsSeen = new Set<string>();
    /** Folders that could not be listed this cycle: what was read under them before is kept. */
    const unlisted = era.unlisted;
    for (const root of this.rootList) {
      if (!existsSync(root)) {
        result.missingRoots.push(root);
        continue;
      }
      const scanDb = async (agentId: string, dbPath: string) => {
        if (dbsSeen.has(dbPath)) return;
        const at = statPath(dbPath);
        if (at.kind === "gone") return;
        dbsSeen.add(dbPath);
        if (at.kind === "unreadable") {
          // Refused (EACCES on agents/<id>/agent, EIO): its sessions keep what we knew; the path is reported.
          recordSourceProblem(kv, { platform: "openclaw", path: dbPath, problem: at.reason, since: ctx.now });
          ctx.log.warn({ path: dbPath, code: at.code }, "OpenClaw agent store unreadable");
          result.errors.push(at.reason);
          return;
        }
        try {
          for (const uid of await scanAgentDb(ctx, files, agentId, dbPath, oc, result)) inDb.add(uid);
          clearSourceProblem(kv, dbPath, ctx.now);
        } catch (err) {
          // Its sessions keep their last known figures (a lock held too long is transient); the
          // problem is recorded for the transcript check until the store reads again.
          const reason = err instanceof AgentDbError ? err.reason : (err as Error).message;
          recordSourceProblem(kv, { platform: "openclaw", path: dbPath, problem: `unreadable SQLite store: ${reason}`, since: ctx.now });
          ctx.log.warn({ path: dbPath, err: (err as Error).message }, "OpenClaw agent store unreadable");
          result.errors.push((err as Error).message);
        }
      };
      for (const agentId of listDirs(join(root, "agents"), result, unlisted)) {
        await scanDb(agentId, agentDbPath(root, agentId));
        era.addAgent(agentId, join(root, "agents", agentId, "sessions"), result);
      }
      // Stores kept outside agents/<id>/agent/: the global store lists every one.
      for (const a of this.listedAgentDbs(ctx, files, root)) await scanDb(a.agentId, a.path);
    }
    // A store that was unreadable and is now gone is no longer a problem.
    for (const p of listSourceProblems(kv)) {
      if (p.platform === this.platform && p.path.endsWith(".sqlite") && statPath(p.path).kind === "gone") clearSourceProblem(kv, p.path, ctx.now);
    }
    const under = (path: string) => unlisted.some((d) => path.startsWith(d + sep));
    for (const [path, cursor] of files.bySource(dbSource)) {
      if (dbsSeen.has(path) || under(path)) continue;
      const agentId = path.split(/[\\/]/).at(-3) ?? "main";
      forgetAgentDb(ctx, files, agentId, path, cursor.state);
    }
    // A transcript of a session the SQLite store now holds may be deleted after the import: that
    // must not mark the (live) session gone, so its cursor is dropped here, before the reader sees it.
    const listed = new Set(era.jobs.map((j) => j.path));
    for (const [path, cursor] of files.bySource(transcriptSource)) {
      if (!listed.has(path) && cursor.sessionUid && inDb.has(cursor.sessionUid)) files.delete(path);
    }
    await scanFiles(ctx, era.adapter(), era.jobs, result, { unlisted });
    files.transaction(() => era.finish());
    return result;
  }

  /**
   * `agent_databases` of `<root>/state/openclaw.sqlite`, paths resolved against the root. The
   * global store is opened only when it (or its WAL) changed; the list is kept in its cursor.
   */
  private listedAgentDbs(ctx: ScanContext, files: FileStore, root: string): AgentDatabase[] {
    const path = join(root, "state", "openclaw.sqlite");
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return [];
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
    const sig = `${st.ino}:${st.size}:${Math.trunc(st.mtimeMs)}:${wal ? `${wal.size}:${Math.trunc(wal.mtimeMs)}` : "-"}`;
    const prev = files.get(path);
    if (prev) {
      const saved = JSON.parse(prev.state || "{}") as { sig?: string; list?: AgentDatabase[] };
      if (saved.sig === sig && saved.list) return saved.list;
    }
    let list: AgentDatabase[] = [];
    try {
      list = readAgentDatabases(path).map((a) => ({ ...a, path: isAbsolute(a.path) ? a.path : resolve(root, a.path) }));
    } catch (err) {
      // The global store is optional for us: the agents/ folders are scanned anyway.
      ctx.log.debug({ path, err: (err as Error).message }, "OpenClaw global store unreadable");
    }
    files.putWhole(path, "openclaw-global", identity(st), { sig, list }, { now: ctx.now });
    return list;
  }

  /** openclaw.json, or null when absent; a broken one is a source problem, not a failed scan. */
  private readConfig(ctx: ScanContext, result: SourceScanResult): OpenClawConfig | null {
    const kv = new KvStore(ctx.db);
    if (!existsSync(this.configPath)) {
      clearSourceProblem(kv, this.configPath, ctx.now);
      return null;
    }
    try {
      const cfg = readOpenClawConfig(this.configPath);
      clearSourceProblem(kv, this.configPath, ctx.now);
      return cfg;
    } catch (err) {
      const reason = err instanceof OpenClawConfigError ? err.reason : (err as Error).message;
      recordSourceProblem(kv, { platform: "openclaw", path: this.configPath, problem: reason, since: ctx.now });
      result.errors.push((err as Error).message);
      return null;
    }
  }
}

function listDirs(dir: string, result: SourceScanResult, unlisted: string[]): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (err) {
    if (!isGoneError(err)) {
      result.errors.push(unreadableReason(dir, err, "list"));
      unlisted.push(dir);
    }
    return [];
  }
}
