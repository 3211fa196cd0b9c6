import type { Stats } from "node:fs";
import { sep } from "node:path";
import type { TurnUsage } from "../agents/session.ts";
import { isUnreadableError, openError, statPath, unreadableReason } from "../lib/fs-errors.ts";
import { identity, planRead, readLines } from "../lib/jsonl-reader.ts";
import { readZstdLines } from "../lib/zstd.ts";
import { FileStore } from "../store/files.ts";
import { TurnStore } from "../store/turns.ts";
import type { ScanContext, SourceScanResult } from "./source.ts";

/**
 * The incremental scan loop shared by the JSONL sources (Claude Code, Codex, and any other append-only
 * transcript): for each file, stat → compare with its cursor → read only the new whole lines → let the
 * adapter fold them into its per-file state → write the session row, the turns and the cursor in one
 * transaction. Files that vanished mark their session gone (unless another file now feeds it, as when
 * Codex compresses `x.jsonl` into `x.jsonl.zst`).
 *
 * An adapter is four small functions over its own state type `S`, which must be JSON-serialisable (it is
 * stored in `files.state` and restored on the next append):
 * ```ts
 * const adapter: FileAdapter<MyState> = {
 *   source: "claude",
 *   sessionUid: (path) => sessionUid("claude", null, basename(path, ".jsonl")),
 *   fresh: (path) => ({ ... }),
 *   line: (s, line, lineNo, emitTurn) => { ...search markers, parse what matters, update s... },
 *   commit: ({ state, path, st, uid, now }) => sessions.upsert(recordFrom(state)),
 *   parseErrors: (s) => ({ count: s.parseErrors, last: s.lastParseError }),
 * };
 * await scanFiles(ctx, adapter, [{ path }, { path: "x.jsonl.zst", compressed: true }], result);
 * ```
 * Writes are batched into one transaction per ~50 ms of work, after which the event loop gets a turn; a
 * file bigger than READ_SLICE is read in slices, each committed with its cursor, so a crash mid-file
 * resumes at the slice and `commit` may run more than once per file (it must be idempotent: it is, when
 * it rebuilds the row from the state).
 */

/** One file to consider this cycle. */
export interface FileJob {
  path: string;
  /** A zstd file: complete by construction, read whole and only when its size or mtime changed. */
  compressed?: boolean;
}

/** A turn as an adapter emits it; the driver adds the session uid. */

export interface CommitArgs<S> {
  path: string;
  uid: string;
  state: S;
  st: Stats;
  /** True when this cycle read the file from byte 0 (new, replaced, shrunk): the row is rebuilt, not added to. */
  restarted: boolean;
  now: number;
}

export interface FileAdapter<S> {
  /** The `files.source` key of this adapter's cursors. */
  source: string;
  /** The session a file feeds, from its path alone (so turns can be dropped before a re-read). */
  sessionUid(path: string): string;
  /** The state of a file about to be read from byte 0. */
  fresh(path: string): S;
  /** Folds one whole line into the state. Must not throw for bad input: count it in the state instead. */
  line(state: S, line: Buffer, lineNo: number, emitTurn: (t: TurnUsage) => void): void;
  /** Writes the session row(s) from the state. Runs inside the cycle's transaction. */
  commit(args: CommitArgs<S>): void;
  /** Parse errors so far and the last one, for the once-per-file-per-cycle log line. */
  parseErrors(state: S): { count: number; last: string | null };
}

/** A transaction is committed (and the event loop given a turn) after this long, so a cold scan never
 * blocks the bot for seconds and never holds a write lock across an await. */
const SLICE_MS = 50;
const TURN_BATCH = 256;
/** Bytes of one file read before the cycle commits and lets the event loop run (a cold 500 MB transcript). */
export const READ_SLICE = 64 * 1024 * 1024;

/**
 * Runs one incremental cycle of `adapter` over `jobs`, adding its counts to `result`. Never throws for a
 * bad file: a file (or, through `unlisted`, a folder) that cannot be read now (EACCES, EIO, ELOOP) lands
 * in `result.errors` and keeps what was known of it; only a file that is gone, or whose content cannot
 * be decoded, marks its session gone.
 */
export async function scanFiles<S>(
  ctx: ScanContext,
  adapter: FileAdapter<S>,
  jobs: FileJob[],
  result: SourceScanResult,
  options: {
    readSlice?: number;
    /** Folders that could not be listed this cycle (EACCES, EIO, ELOOP): the files known under them are kept as they were. */
    unlisted?: readonly string[];
  } = {},
): Promise<void> {
  const readSlice = options.readSlice ?? READ_SLICE;
  const maxLineBytes = ctx.config.sources.maxLineBytes;
  const files = new FileStore(ctx.db);
  const turns = new TurnStore(ctx.db);
  const known = files.index(adapter.source);
  /** Marks a known cursor as present this cycle (its `seenAt` is 0 as loaded by `index`). */
  const SEEN = -1;
  const liveUids = new Set<string>();
  let inTx = false;
  let sliceStart = performance.now();
  const begin = () => {
    // A caller's own open transaction is joined, not nested (BEGIN inside BEGIN is an error in SQLite).
    if (!inTx && !ctx.db.inTransaction) {
      ctx.db.exec("BEGIN");
      inTx = true;
      sliceStart = performance.now();
    }
  };
  const commit = () => {
    if (inTx) {
      ctx.db.exec("COMMIT");
      inTx = false;
    }
  };
  /** A known file we could not look at this cycle: its cursor and session stay as they were. */
  const keepKnown = (path: string) => {
    const prev = known.get(path);
    if (!prev) return;
    prev.seenAt = SEEN;
    if (prev.sessionUid) liveUids.add(prev.sessionUid);
  };
  const pause = async () => {
    commit();
    await new Promise((r) => setImmediate(r));
  };

  try {
    for (const job of jobs) {
      const { path } = job;
      const at = statPath(path);
      if (at.kind === "unreadable") {
        // One entry (a symlink loop, a refused file) is skipped and reported; the rest is scanned, and
        // what we knew from this file stays as it was (unreadable is not gone).
        keepKnown(path);
        result.errors.push(at.reason);
        ctx.log.warn({ path, code: at.code }, "cannot read session file; skipping it this cycle");
        continue;
      }
      if (at.kind === "gone" || !at.stats.isFile()) continue;
      const st = at.stats;
      result.filesSeen++;
      let prev = known.get(path);
      if (prev) prev.seenAt = SEEN;
      const uid = prev?.sessionUid ?? adapter.sessionUid(path);
      liveUids.add(uid);
      // The cursor index carries no tail or parser state: fetch them only for a file whose stat changed.
      if (prev && (st.size !== prev.size || Math.trunc(st.mtimeMs) !== prev.mtimeMs || st.ino !== prev.ino || st.dev !== prev.dev)) {
        const details = files.detailsOf(path);
        if (details) prev = { ...prev, ...details };
      }
      const plan = planRead(path, st, prev);
      if (plan.kind === "skip") {
        if (plan.touched && prev) {
          begin();
          files.put({ ...prev, mtimeMs: Math.trunc(st.mtimeMs), seenAt: ctx.now });
        }
        continue;
      }
      // Refused before anything is touched (EACCES, EIO at open): the session keeps what we knew.
      const refused = openError(path);
      if (refused && isUnreadableError(refused)) {
        keepKnown(path);
        result.errors.push(unreadableReason(path, refused));
        ctx.log.warn({ path, code: (refused as NodeJS.ErrnoException).code }, "cannot read session file; keeping what was known of it");
        continue;
      }
      // A compressed file is read whole: an "append" to it is really a rewrite.
      const restarted = plan.kind === "restart" || job.compressed === true;
      let state: S;
      try {
        state = !restarted && prev ? (JSON.parse(prev.state) as S) : adapter.fresh(path);
      } catch {
        state = adapter.fresh(path);
      }
      const errorsBefore = restarted ? 0 : adapter.parseErrors(state).count;

      if (job.compressed && inTx) await pause();
      begin();
      if (restarted) turns.deleteSession(uid);
      // Turns are written in batches (multi-row INSERTs), never held for a whole file.
      const pending: TurnUsage[] = [];
      const flush = () => {
        turns.addMany(uid, pending);
        pending.length = 0;
      };
      const emit = (t: TurnUsage) => {
        if (pending.push(t) >= TURN_BATCH) flush();
      };
      const onLine = (line: Buffer, lineNo: number) => adapter.line(state, line, lineNo, emit);
      let oversized = 0;
      try {
        let offset: number;
        let lineNo: number;
        let tail = "";
        if (job.compressed) {
          commit(); // the decoder may await: never hold the write lock across it
          const out = await readZstdLines(path, onLine, { maxLineBytes });
          begin();
          result.bytesRead += out.bytesRead;
          oversized += out.oversized;
          offset = st.size;
          lineNo = out.lineNo;
        } else {
          // A huge transcript is read in slices, each committed with its cursor (so a crash resumes exactly
          // there and nothing counts twice), with the event loop let through between them.
          let from = plan.from;
          for (;;) {
            const limit = Math.min(st.size, from.offset + readSlice);
            let out = readLines(path, from, limit, onLine, maxLineBytes);
            // One line longer than a slice (read past it: a line over the cap is skipped as it streams, never held).
            if (out.offset === from.offset && limit < st.size) out = readLines(path, from, st.size, onLine, maxLineBytes);
            result.bytesRead += out.bytesRead;
            oversized += out.oversized;
            ({ offset, lineNo, tail } = out);
            if (limit >= st.size || out.offset === from.offset) break;
            flush();
            adapter.commit({ path, uid, state, st, restarted, now: ctx.now });
            // size = what was read so far: the next look at this cursor sees a file still to finish.
            files.put({
              path,
              source: adapter.source,
              ...identity(st),
              size: out.offset,
              offset,
              lineNo,
              tail,
              sessionUid: uid,
              state: JSON.stringify(state),
              seenAt: ctx.now,
            });
            await pause();
            begin();
            from = out;
          }
        }
        flush();
        result.filesRead++;
        adapter.commit({ path, uid, state, st, restarted, now: ctx.now });
        result.sessionsUpdated++;
        files.put({
          path,
          source: adapter.source,
          ...identity(st),
          offset,
          lineNo,
          tail,
          sessionUid: uid,
          state: JSON.stringify(state),
          seenAt: ctx.now,
        });
        if (oversized > 0) {
          // Counted with the malformed lines: the line's content is unknown, and holding it could cost GBs.
          result.parseErrors += oversized;
          ctx.log.warn({ path, skipped: oversized, maxLineBytes }, "lines longer than sources.maxLineBytes skipped");
        }
        const errs = adapter.parseErrors(state);
        if (errs.count > errorsBefore) {
          result.parseErrors += errs.count - errorsBefore;
          ctx.log.warn({ path, skipped: errs.count - errorsBefore, last: errs.last }, "malformed lines skipped");
        }
      } catch (err) {
        if (!inTx) begin();
        if (isUnreadableError(err) && prev) {
          // A read refused midway (EIO, EACCES since the open): unreadable is not gone; what was committed stays.
          result.errors.push(unreadableReason(path, err));
          ctx.log.warn({ path, err }, "cannot read session file; keeping what was known of it");
        } else {
          // Vanished mid-read, or its content cannot be decoded (damaged zstd): the session is gone until it reads again.
          const reason = `${path}: ${(err as Error)?.message ?? err}`;
          result.errors.push(reason);
          ctx.log.warn({ path, err }, "cannot read session file");
          ctx.sessions.markGone(uid, ctx.now);
          files.delete(path);
          liveUids.delete(uid);
        }
      }
      if (performance.now() - sliceStart > SLICE_MS) await pause();
    }

    begin();
    const unlisted = (options.unlisted ?? []).map((d) => (d.endsWith(sep) ? d : d + sep));
    for (const [path, cursor] of known) {
      if (cursor.seenAt === SEEN) continue;
      // Not listed because its folder is unreadable, not because it is gone.
      if (unlisted.some((d) => path.startsWith(d))) continue;
      files.delete(path);
      if (cursor.sessionUid && !liveUids.has(cursor.sessionUid)) ctx.sessions.markGone(cursor.sessionUid, ctx.now);
    }
    commit();
  } finally {
    if (inTx) ctx.db.exec("ROLLBACK");
  }
}
