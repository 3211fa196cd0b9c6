import type { RunnerContext } from "./context.ts";
import { isOurProcess, ownerAlive, signalGroup } from "./process.ts";
import type { WorkQueue } from "./queue.ts";

/**
 * Restart safety: what a previous asm process left behind is settled once at start, so there is no ghost
 * `running` row and no orphan burning CPU. A worker another live asm process runs (`asm spawn --wait`) is left alone.
 */

/**
 * After asm restarts: a worker left starting/running/waiting whose process is gone is failed with the reason
 * and offered for resume; a live orphan with our marker (env var + start time, so a reused pid is never
 * touched) is killed and its session resumed. Queued workers start.
 */
export function recoverWorkers(ctx: RunnerContext, queue: WorkQueue, owner: string): { failed: string[]; resumed: string[] } {
  const failed: string[] = [];
  const resumed: string[] = [];
  for (const w of ctx.deps.store.withStatus(["starting", "running", "waiting-for-input"])) {
    if (ctx.runs.has(w.id)) continue;
    if (w.owner && w.owner !== owner && ownerAlive(w.owner)) continue; // another live asm runs it
    const orphan = w.pid !== null && isOurProcess(w.pid, w.pidStart, w.id);
    if (orphan) signalGroup(w.pid!, "SIGKILL");
    ctx.deps.requests.closeFor(w.id, ctx.now());
    if (orphan && w.sessionId) {
      ctx.deps.store.addEvent(w.id, ctx.now(), { type: "other", kind: "orphan-stopped" });
      ctx.deps.store.update(w.id, { status: "queued", waitingReason: null, pid: null, pidStart: null }, ctx.now());
      queue.enqueue(w.id, "asm restarted while you were working; continue where you left off.");
      resumed.push(w.id);
    } else {
      ctx.deps.store.update(
        w.id,
        { status: "failed", errorClass: "restart", errorMessage: "asm restarted while it ran", waitingReason: null, endedAt: ctx.now(), pid: null },
        ctx.now(),
      );
      failed.push(w.id);
      ctx.notify("finished", ctx.get(w.id));
    }
  }
  for (const w of ctx.deps.store.withStatus(["queued"])) {
    queue.adopt(w);
  }
  queue.pump();
  return { failed, resumed };
}
