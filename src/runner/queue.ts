import type { WorkerRow } from "../store/workers.ts";
import type { RunnerContext } from "./context.ts";

/** One queued run: the worker and the prompt its next run starts with. */
interface Queued {
  worker: string;
  prompt: string;
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
      this.items.splice(i, 1);
      this.start(w, q.prompt);
    }
  }
}
