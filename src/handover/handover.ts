import { contextWindowFor } from "../agents/context-window.ts";
import { readSessionMessages } from "../agents/messages-reader.ts";
import { blankRecord, type SessionRecord } from "../agents/session.ts";
import { emptyRead, type TranscriptEntry, type TranscriptRead } from "../agents/transcript-entry.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { formatTokens } from "../lib/present.ts";
import type { Db } from "../store/db.ts";
import { KvStore } from "../store/kv.ts";
import { MemoryStore } from "../store/memories.ts";
import type { SessionStore } from "../store/sessions.ts";
import type { WorkerRow } from "../store/workers.ts";
import { buildMemory, type Memory, renderMemory } from "./memory.ts";
import { summarize, writeMemoryFile } from "./save.ts";

/**
 * The automatic handover of managed workers (issue 16): when a worker's context passes `handover.threshold`
 * at a turn boundary, its memory is saved and a new worker starts on the same agent, workspace and model with
 * the memory in its **first** prompt; the new worker is linked to the old one (`resumedFrom`) and takes over
 * its topic. The old session stays resumable.
 *
 * Never a loop:
 * - a worker started by a handover is handed over again only after a turn of its own ended below the
 *   threshold and a later one above it (a memory that alone fills the window does not hand over at once);
 * - the chain is capped at `handover.maxChain`: reaching it is said once (a critical notice), no handover;
 * - when the agent compacted during the last turn (Claude ≈83 %, Codex 90 %, OpenCode near its limit) it
 *   handled the overflow itself: no handover on top.
 */

/** What a handover needs from the rest of asm (the core gives it; tests give fakes). */
export interface HandoverDeps {
  db: Db;
  config: Config;
  log: Logger;
  sessions: SessionStore;
  /** Starts the new worker (the runner's spawn through the core) and returns its row. */
  spawn(req: { agent: WorkerRow["agent"]; workspace: string; model: string | null; prompt: string; requestedBy: string }): WorkerRow;
  /** Links the new worker to the old one and gives it the old one's topic. */
  link(newId: string, old: WorkerRow): void;
  /** Posts one message in the worker's place. */
  post(w: WorkerRow, text: string, tone: "info" | "warning" | "critical"): Promise<void>;
  /** The window its agent's CLI runs the model at, when the agent has its own rule (`Driver.contextWindow`). */
  agentWindow?(w: Pick<WorkerRow, "agent" | "model" | "contextTokens">): number | null;
  clock?: () => number;
}

/** Where a worker stands in a handover chain (kept in kv `handover:<worker id>`). */
interface ChainMark {
  /** The worker it took over from. */
  from: string;
  /** 1 for the first handover of a chain. */
  count: number;
  /** A turn of its own ended below the threshold (it may be handed over again). */
  belowSeen: boolean;
}

export type HandoverOutcome =
  | { kind: "none"; reason: string }
  | { kind: "capped"; count: number }
  | { kind: "handed-over"; to: WorkerRow; memory: Memory; percent: number };

const markKey = (id: string) => `handover:${id}`;

/** The first prompt of the new worker: the memory, framed, with the instruction to verify before acting. */
export function handoverPrompt(memory: Memory, markdown = renderMemory(memory)): string {
  return [
    `You are continuing a task from a previous ${memory.platform} session (${memory.sessionId}) that was handed over to you because its context window was nearly full (handover #${memory.handoverCount}).`,
    "Below is a memory extracted from that session's transcript: the goal, every user message verbatim, the files, commands, plan and errors, and where it stopped.",
    "Before acting, verify the state of the repository (git status, git diff, re-read the files you will change): the memory may be out of date. Then continue the task from where it stopped; do not redo finished work.",
    "",
    markdown.trimEnd(),
  ].join("\n");
}

/** "context 83% (166k/200k) → handed over to w14: 12 files, 3 open todos" */
export function handoverNotice(percent: number, tokens: number, window: number, to: string, m: Memory): string {
  const files = new Set([...m.files.created, ...m.files.edited, ...m.files.deleted].map((f) => f.path)).size;
  const open = m.plan?.filter((p) => p.status !== "completed").length ?? 0;
  return `context ${Math.round(percent)}% (${formatTokens(tokens)}/${formatTokens(window)}) → handed over to ${to}: ${files} file${files === 1 ? "" : "s"}, ${open} open todo${open === 1 ? "" : "s"}`;
}

/** The worker's own transcript when the scan knows its session; else what the worker row itself holds. */
function transcriptOf(w: WorkerRow, session: SessionRecord | undefined, answer: string | null): TranscriptRead {
  if (session?.path) {
    const read = readSessionMessages(session);
    if (read.entries.length) return read;
  }
  const read = emptyRead();
  const entries: TranscriptEntry[] = [{ kind: "user", text: w.prompt, ts: w.createdAt }];
  if (answer) entries.push({ kind: "assistant", text: answer, ts: w.updatedAt });
  read.entries = entries;
  read.model = w.model;
  read.cwd = w.cwd;
  return read;
}

/** True when the agent compacted after the last thing the person said: it handled the overflow itself. */
const compactedLastTurn = (entries: TranscriptEntry[]) => {
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]!.kind === "compaction") return true;
    if (entries[i]!.kind === "user") return false;
  }
  return false;
};

export class HandoverOps {
  private readonly kv: KvStore;
  /** Workers being handed over now (a second turn end must not start another). */
  private readonly busy = new Set<string>();

  constructor(private readonly deps: HandoverDeps) {
    this.kv = new KvStore(deps.db);
  }

  private now() {
    return (this.deps.clock ?? Date.now)();
  }

  /** The context %, tokens and window of a worker now, or null when it is not known. */
  contextOf(w: WorkerRow, session: SessionRecord | undefined): { percent: number; tokens: number; window: number } | null {
    const tokens = w.contextTokens ?? session?.contextTokens ?? null;
    if (tokens === null || tokens <= 0) return null;
    const window = this.windowOf(w, session);
    if (!window) return null;
    return { percent: (tokens / window) * 100, tokens, window };
  }

  /**
   * A worker's context window: its scanned session's, else its `runner.models` entry's, else its agent's own rule (the
   * one the scanner will apply), else the model tables'.
   */
  windowOf(w: Pick<WorkerRow, "agent" | "model" | "contextTokens">, session: SessionRecord | undefined): number {
    const configured = Object.values(this.deps.config.runner.models).find((m) => m.driver === w.agent && m.model === w.model)?.contextWindow ?? null;
    return session?.contextWindow ?? configured ?? this.deps.agentWindow?.(w) ?? contextWindowFor(w.model, this.deps.config).tokens;
  }

  /**
   * While a worker runs: true once its context passes the critical level (`checks.context.percentCritical`) and a
   * handover is allowed, so the turn is interrupted rather than waited out (the next tokens may not fit). Said once
   * per worker; the handover itself follows at the interrupted turn's end.
   */
  interruptNow(w: WorkerRow, session: SessionRecord | undefined): { percent: number } | null {
    if (w.status !== "running" || this.busy.has(w.id)) return null;
    const key = `${markKey(w.id)}:interrupting`;
    if (this.kv.get<boolean>(key) || this.kv.get<boolean>(`${markKey(w.id)}:done`)) return null;
    const ctx = this.contextOf(w, session);
    if (!ctx || ctx.percent < this.deps.config.checks.context.percentCritical) return null;
    const mark = this.kv.get<ChainMark>(markKey(w.id));
    if (mark && !mark.belowSeen) return null; // it started that full: a new handover would start as full again
    if ((mark?.count ?? 0) + 1 > this.deps.config.handover.maxChain) return null;
    this.kv.set(key, true, this.now());
    return { percent: ctx.percent };
  }

  /**
   * Called at a turn boundary of a worker (its row as the runner left it). Hands it over when it passed the
   * threshold and nothing forbids it; the outcome says what happened and why.
   */
  async turnEnded(w: WorkerRow, answer: string | null, opts: { force?: boolean } = {}): Promise<HandoverOutcome> {
    const cfg = this.deps.config.handover;
    // A worker we interrupted past the critical level ends `interrupted`: that stop was for this handover.
    const ours = w.status === "interrupted" && this.kv.get<boolean>(`${markKey(w.id)}:interrupting`) === true;
    if (w.status !== "waiting-for-input" && w.status !== "completed" && !ours) return { kind: "none", reason: `worker is ${w.status}` };
    if (w.status === "waiting-for-input" && w.waitingReason !== "turn-finished") return { kind: "none", reason: "waiting for a decision" };
    if (this.busy.has(w.id)) return { kind: "none", reason: "already handing over" };
    const session = w.sessionUid ? this.deps.sessions.get(w.sessionUid) : undefined;
    const known = this.contextOf(w, session);
    const mark = this.kv.get<ChainMark>(markKey(w.id));
    if (this.kv.get<boolean>(`${markKey(w.id)}:done`)) return { kind: "none", reason: "already handed over" };
    // `/handover` asks for it now: no threshold, no wait for a turn below it (the chain cap still holds).
    const ctx = known ?? (opts.force ? { percent: 0, tokens: 0, window: 0 } : null);
    if (!ctx) return { kind: "none", reason: "context unknown" };
    if (!opts.force) {
      if (ctx.percent < cfg.threshold) {
        if (mark && !mark.belowSeen) this.kv.set(markKey(w.id), { ...mark, belowSeen: true }, this.now());
        return { kind: "none", reason: "below the threshold" };
      }
      if (mark && !mark.belowSeen) return { kind: "none", reason: "started above the threshold from a handover" };
    }
    const count = (mark?.count ?? 0) + 1;
    if (count > cfg.maxChain) {
      if (!this.kv.get<boolean>(`${markKey(w.id)}:capped`)) {
        this.kv.set(`${markKey(w.id)}:capped`, true, this.now());
        this.deps.log.warn({ worker: w.id, chain: count - 1 }, "handover chain at its cap; no further handover");
        await this.deps.post(
          w,
          `context ${Math.round(ctx.percent)}% (${formatTokens(ctx.tokens)}/${formatTokens(ctx.window)}): the handover chain is at its cap (handover.maxChain ${cfg.maxChain}); ${w.id} is not handed over again. /memory shows what it knows.`,
          "critical",
        );
      }
      return { kind: "capped", count: count - 1 };
    }
    this.busy.add(w.id);
    try {
      const read = transcriptOf(w, session, answer);
      if (compactedLastTurn(read.entries)) return { kind: "none", reason: "the agent compacted by itself" };
      const sessionId = w.sessionId ?? w.id;
      let memory = buildMemory(read, {
        platform: w.agent,
        sessionId,
        title: w.prompt.split("\n")[0]!.slice(0, 200),
        tokensAtHandover: ctx.tokens,
        contextWindow: ctx.window,
        handoverCount: count,
        memoryTokens: cfg.memoryTokens,
      });
      memory = await summarize(memory, this.deps.config, this.deps.log);
      const markdown = renderMemory(memory);
      const filePath = writeMemoryFile(cfg.memoryDir, memory, this.deps.log);
      const s = session ?? { ...blankRecord(w.agent, null, sessionId, this.now()), uid: w.sessionUid ?? `worker:${w.id}` };
      new MemoryStore(this.deps.db).insert({
        sessionUid: s.uid,
        platform: w.agent,
        sessionId,
        kind: memory.kind,
        tokens: memory.tokens,
        handoverCount: count,
        filePath,
        memoryJson: JSON.stringify(memory),
        createdAt: this.now(),
      });
      const to = this.deps.spawn({
        agent: w.agent,
        workspace: w.workspace,
        model: w.model,
        prompt: handoverPrompt(memory, markdown),
        requestedBy: `handover:${w.id}`,
      });
      this.deps.link(to.id, w);
      this.kv.set(markKey(to.id), { from: w.id, count, belowSeen: false } satisfies ChainMark, this.now());
      this.kv.set(`${markKey(w.id)}:done`, true, this.now());
      this.deps.log.info({ audit: "worker.handover", from: w.id, to: to.id, percent: Math.round(ctx.percent), count, memory: filePath }, "worker handed over");
      const notice = known
        ? handoverNotice(ctx.percent, ctx.tokens, ctx.window, to.id, memory)
        : handoverNotice(0, 0, 0, to.id, memory).replace(/^context 0% \(0\/0\)/, "on request");
      await this.deps.post(w, notice, "info");
      return { kind: "handed-over", to, memory, percent: ctx.percent };
    } finally {
      this.busy.delete(w.id);
    }
  }
}
