import type { WorkerRow } from "../store/workers.ts";
import type { RunnerContext } from "./context.ts";

/** One queued run: the worker and the prompt its next run starts with. */
interface Queued {
  worker: string;
  prompt: string;
  /** Not started before this time (epoch ms): its driver asked it to wait (`Driver.startDelayMs`). */
  notBefore?: number;
}

/**
 * The workers waiting to run, started in order while fewer than `runner.maxConcurrent` run: one run per agent
 * session at a time, and none of an agent the gate holds back (its provider's quota is low; said once per worker).
 * The store keeps the `queued` status; this keeps the order and the prompts.
 */
export class WorkQueue {
  private readonly items: Queued[] = [];
  /** Queued workers the gate holds back (told once). */
  private readonly held = new Set<string>();
  /** Set on a clean stop: nothing more starts. */
  stopping = false;
  /** The next look at the queue for an item that waits on its driver. */
  private wake: ReturnType<typeof setTimeout> | null = null;
  private wakeAt = 0;

  constructor(
    private readonly ctx: RunnerContext,
    /** Starts a run of the worker (it left the queue). */
    private readonly start: (w: WorkerRow, prompt: string) => void,
  ) {}

  /** Queues a run and starts what can start; the listener hears of a worker that has to wait. */
  enqueue(worker: string, prompt: string): void {
    this.items.push({ worker, prompt });
    this.pump();
    const w = this.ctx.get(worker);
    if (w.status === "queued") this.ctx.notify("changed", w);
  }

  /** A worker's next turn, ahead of every other (a message sent while its last turn ran). */
  next(worker: string, prompt: string): void {
    this.items.unshift({ worker, prompt });
    this.pump();
  }

  /** Queues a worker the store says is queued, unless it already is (after a restart, or another process queued it). */
  adopt(w: WorkerRow): boolean {
    if (this.has(w.id)) return false;
    this.items.push({ worker: w.id, prompt: w.prompt });
    return true;
  }

  has(worker: string): boolean {
    return this.items.some((q) => q.worker === worker);
  }

  /** Takes a worker out of the queue (it was interrupted or killed before it started). */
  remove(worker: string): void {
    const i = this.items.findIndex((q) => q.worker === worker);
    if (i >= 0) this.items.splice(i, 1);
  }

  /** Starts queued workers while slots are free; one run per agent session at a time. */
  pump(): void {
    const { ctx } = this;
    if (this.stopping) return;
    for (let i = 0; i < this.items.length && ctx.runs.size < ctx.cfg.maxConcurrent; ) {
      const q = this.items[i]!;
      const w = ctx.deps.store.get(q.worker);
      if (w?.status !== "queued") {
        this.items.splice(i, 1);
        continue;
      }
      const busy = w.sessionId !== null && [...ctx.runs.values()].some((r) => ctx.deps.store.get(r.worker)?.sessionId === w.sessionId);
      if (busy) {
        i++;
        continue;
      }
      const held = ctx.deps.gate?.(w.agent) ?? null;
      if (held) {
        if (!this.held.has(w.id)) {
          this.held.add(w.id);
          ctx.deps.store.addEvent(w.id, ctx.now(), { type: "other", kind: `held: ${held}` });
          ctx.notify("held", ctx.get(w.id), held);
        }
        i++;
        continue;
      }
      this.held.delete(w.id);
      if (this.waits(q, w)) {
        i++;
        continue;
      }
      this.items.splice(i, 1);
      this.start(w, q.prompt);
    }
  }

  /**
   * Whether the worker's driver wants its CLI started later (Gemini resuming in the minute its session began); the
   * first time, the wait is recorded and the queue looked at again when it is over. The slot stays free meanwhile.
   */
  private waits(q: Queued, w: WorkerRow): boolean {
    const { ctx } = this;
    const now = ctx.now();
    if (q.notBefore === undefined) {
      const delay =
        ctx.deps.drivers[w.agent]?.startDelayMs?.(
          { resumeSessionId: w.sessionId, model: w.model, cwd: w.cwd, permissionMode: ctx.cfg.drivers[w.agent].permissionMode },
          now,
        ) ?? 0;
      if (delay <= 0) return false;
      q.notBefore = now + delay;
      ctx.deps.store.addEvent(w.id, now, { type: "other", kind: `start-waits:${Math.ceil(delay / 1000)}s` });
    }
    if (q.notBefore <= now) return false;
    if (!this.wake || q.notBefore < this.wakeAt) {
      if (this.wake) clearTimeout(this.wake);
      this.wakeAt = q.notBefore;
      this.wake = setTimeout(() => {
        this.wake = null;
        this.pump();
      }, q.notBefore - now);
      this.wake.unref?.();
    }
    return true;
  }
}
