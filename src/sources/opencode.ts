import { existsSync, readdirSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { opencodeFigures } from "../agents/opencode/messages.ts";
import { type OpencodeOrigin, opencodeModelLimits, opencodeRecord } from "../agents/opencode/record.ts";
import { sessionUid } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import { isGoneError, statPath, unreadableReason } from "../lib/fs-errors.ts";
import { identity } from "../lib/jsonl-reader.ts";
import { timeSlicer } from "../lib/time-slice.ts";
import { type FileCursor, FileStore } from "../store/files.ts";
import { KvStore } from "../store/kv.ts";
import { clearSourceProblem, listSourceProblems, recordSourceProblem } from "../store/problems.ts";
import { replaceTurns } from "../store/turns.ts";
import { scanOpencodeJson } from "./opencode/json-store.ts";
import { type OpencodeDbSession, readOpencodeDb } from "./opencode/sqlite-store.ts";
import { emptyResult, type ScanContext, type Source, type SourceScanResult } from "./source.ts";

const dbName = /^opencode.*\.db$/;

/** What we remember about one `opencode*.db` between cycles. */
interface DbState {
  /** The largest `time_updated` read so far. */
  watermark: number;
  /** The `-wal` file as last seen: the agent's writes land there first. */
  wal: [number, number] | null;
  ids: string[];
}

/**
 * OpenCode: the SQLite store `opencode*.db` of 1.2+ (read-only, incrementally by `time_updated`),
 * and the JSON files under `storage/` of older versions (re-read only when a file's size or mtime
 * changed). Subagent sessions (`parent_id`) are kind "subagent" linked to their parent.
 */
export class OpencodeSource implements Source {
  readonly platform = "opencode" as const;

  constructor(
    private readonly root: string,
    /** The folder holding opencode.json (model limits); `$XDG_CONFIG_HOME/opencode` by default. */
    private readonly configDir: string,
  ) {}

  static fromConfig(config: Config, env: Record<string, string | undefined> = process.env): OpencodeSource {
    const xdg = env.XDG_CONFIG_HOME || join(env.HOME || "", ".config");
    return new OpencodeSource(config.sources.opencode.root, join(xdg, "opencode"));
  }

  roots(): string[] {
    return [this.root];
  }

  async scan(ctx: ScanContext): Promise<SourceScanResult> {
    const result = emptyResult("opencode");
    // A missing folder is read as an empty one, so the sessions read from it before are marked gone.
    const missing = !existsSync(this.root);
    if (missing) result.missingRoots.push(this.root);
    const files = new FileStore(ctx.db);
    const kv = new KvStore(ctx.db);
    let limits: Record<string, number> | null = null;
    const getLimits = () => {
      limits ??= opencodeModelLimits(this.configDir);
      return limits;
    };
    const known = files.bySource("opencode-db");
    const seen = new Set<string>();
    let names: string[] = [];
    let unlisted = false;
    try {
      if (!missing) names = readdirSync(this.root).filter((n) => dbName.test(n));
    } catch (err) {
      // Unreadable (EACCES, EIO) is not gone: the stores read before keep their sessions.
      unlisted = !isGoneError(err);
      result.errors.push(unreadableReason(this.root, err, "list"));
    }
    for (const name of names) {
      const path = join(this.root, name);
      seen.add(path);
      result.filesSeen++;
      try {
        await this.scanDb(ctx, files, path, known.get(path), result, getLimits);
        clearSourceProblem(kv, path, ctx.now);
      } catch (err) {
        // Its sessions keep their last known figures; the problem is recorded until the store reads again.
        recordSourceProblem(kv, { platform: "opencode", path, problem: (err as Error).message, since: ctx.now });
        ctx.log.warn({ path, err: (err as Error).message }, "OpenCode store unreadable");
        result.errors.push((err as Error).message);
      }
    }
    for (const p of listSourceProblems(kv)) {
      if (p.platform === this.platform && statPath(p.path).kind === "gone") clearSourceProblem(kv, p.path, ctx.now);
    }
    // A store that disappeared: its sessions are gone.
    for (const [path, cursor] of known) {
      if (seen.has(path) || unlisted) continue;
      const ids = (JSON.parse(cursor.state || "{}") as Partial<DbState>).ids ?? [];
      files.transaction(() => {
        for (const id of ids) ctx.sessions.markGone(sessionUid("opencode", null, id), ctx.now);
        files.delete(path);
      });
    }
    scanOpencodeJson(ctx, files, this.root, result, getLimits);
    return result;
  }

  private async scanDb(
    ctx: ScanContext,
    files: FileStore,
    path: string,
    prev: FileCursor | undefined,
    result: SourceScanResult,
    getLimits: () => Record<string, number>,
  ): Promise<void> {
    const st = statSync(path);
    const wal = statOrNull(`${path}-wal`);
    const walSig: [number, number] | null = wal ? [wal.size, Math.trunc(wal.mtimeMs)] : null;
    const old: DbState | null = prev ? (JSON.parse(prev.state || "{}") as DbState) : null;
    const same =
      prev &&
      old &&
      prev.ino === st.ino &&
      prev.size === st.size &&
      prev.mtimeMs === Math.trunc(st.mtimeMs) &&
      JSON.stringify(old.wal) === JSON.stringify(walSig);
    if (same) return;
    // A replaced store (new inode) is read whole again.
    const since = old && prev && prev.ino === st.ino ? old.watermark : 0;
    const limits = getLimits();
    // Each session is written in its own small transaction, with event-loop turns between them; the
    // cursor moves only at the end, so an interrupted cycle is simply read again (idempotently).
    let bad = 0;
    const read = await readOpencodeDb(
      path,
      since,
      (s) => {
        files.transaction(() => this.writeSession(ctx, s, path, limits));
        result.sessionsUpdated++;
        bad += s.badRows;
      },
      timeSlicer(),
    );
    files.transaction(() => {
      result.parseErrors += bad;
      result.filesRead++;
      result.bytesRead += read.bytes;
      if (bad > 0) ctx.log.warn({ path, skipped: bad }, "malformed OpenCode message rows skipped");
      const now = new Set(read.allIds);
      for (const id of old?.ids ?? []) if (!now.has(id)) ctx.sessions.markGone(sessionUid("opencode", null, id), ctx.now);
      const state: DbState = { watermark: read.watermark, wal: walSig, ids: read.allIds };
      files.putWhole(path, "opencode-db", identity(st), state, { now: ctx.now });
    });
  }

  private writeSession(ctx: ScanContext, s: OpencodeDbSession, path: string, limits: Record<string, number>): void {
    const f = opencodeFigures(s.messages);
    const origin: OpencodeOrigin = {
      storage: "sqlite",
      path,
      sizeBytes: s.sizeBytes,
      parseErrors: s.badRows,
      lastParseError: s.lastBadRow,
    };
    const record = opencodeRecord(s, f, origin, limits, ctx.config, ctx.now);
    ctx.sessions.upsert(record);
    replaceTurns(ctx.db, record.uid, f.turns);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
