import type { Platform } from "../../agents/session.ts";
import { sessionUid } from "../../agents/session.ts";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import type { BreakerStore } from "../../store/breakers.ts";
import type { FallbackStore } from "../../store/fallback.ts";
import type { WorkerRow, WorkerStore } from "../../store/workers.ts";
import { breakerFailed, breakerNow, breakerSucceeded } from "./breaker.ts";
import { appendDecision, type DecisionLine } from "./decision-log.ts";
import { decideFallback, type FallbackDecisionKind } from "./policy.ts";

/** A switch or retry, as the chat is told ("fell back from X to Y: rate limited"). */
export interface FallbackNotice {
  worker: string;
  action: DecisionLine["action"];
  from: string;
  to: string | null;
  reason: string;
  delayMs: number;
}

/**
 * The fallback chain of managed workers: after a failed run of a chained worker it decides (policy.ts), keeps
 * each model's breaker (SQLite), records the decision as a `fallback_decisions` row and a JSON line
 * (`runner.fallbackLog`), and requeues the worker — the same model after a delay, or the next model. A switch
 * within one CLI keeps the agent session (the CLI is resumed with the new model); across CLIs the next model
 * gets the original prompt plus what the worker did so far.
 */
export class FallbackChain {
  constructor(
    private readonly deps: {
      config: Config;
      log: Logger;
      workers: WorkerStore;
      breakers: BreakerStore;
      decisions: FallbackStore;
      clock: () => number;
      requeue: (worker: string, prompt: string, delayMs: number) => void;
      notice: (w: WorkerRow, n: FallbackNotice) => void;
    },
  ) {}

  private get now() {
    return this.deps.clock();
  }

  /** The breaker of a model as it stands now. */
  breaker(model: string) {
    return breakerNow(this.deps.breakers.get(model), model, this.now);
  }

  succeeded(model: string): void {
    const b = this.breaker(model);
    if (b.state !== "closed" || b.failures) this.deps.breakers.put(breakerSucceeded(b, this.now));
  }

  /** Handles a failed run; true when the worker was requeued (it goes on), false when the chain ends here. */
  failed(w: WorkerRow): boolean {
    const cfg = this.deps.config.runner;
    const model = w.chain[w.chainIndex]!;
    const errorClass = w.errorClass ?? "error";
    this.deps.breakers.put(breakerFailed(this.breaker(model), errorClass, cfg.fallback, this.now));
    const decision = decideFallback(
      { errorClass, message: w.errorMessage },
      { chain: w.chain, index: w.chainIndex, attempt: w.attempt },
      cfg.models,
      (m) => this.breaker(m),
      cfg.fallback,
    );
    this.record(w, decision, errorClass);
    if (decision.kind === "stop") return false;
    if (decision.kind === "retry") {
      this.deps.workers.update(w.id, { status: "queued", attempt: w.attempt + 1, notBefore: this.now + decision.delayMs, endedAt: null }, this.now);
      const prompt = w.sessionId ? "The last request failed on the provider's side; continue with the task where you left off." : w.prompt;
      this.deps.requeue(w.id, prompt, decision.delayMs);
      return true;
    }
    const spec = cfg.models[decision.to]!;
    const sameCli = spec.driver === w.agent && w.sessionId !== null;
    const carried = [
      w.prompt,
      "",
      `(asm: this task was running on ${decision.from}, which failed: ${decision.why}.${sameCli ? "" : " You are taking it over in a fresh session."}`,
      ...(w.lastTool ? [`Its last tool call: ${w.lastTool}`] : []),
      ...(w.outputTail.trim() ? ["Its last output:", w.outputTail.trim().slice(-1500)] : []),
      "Continue the task from there.)",
    ].join("\n");
    this.deps.workers.update(
      w.id,
      {
        status: "queued",
        agent: spec.driver as Platform,
        model: spec.model,
        chainIndex: decision.index,
        attempt: 1,
        notBefore: null,
        endedAt: null,
        sessionId: sameCli ? w.sessionId : null,
        sessionUid: sameCli && w.sessionId ? sessionUid(spec.driver as Platform, null, w.sessionId) : null,
      },
      this.now,
    );
    this.deps.requeue(w.id, sameCli ? `(asm: switched you from ${decision.from} to ${decision.to} because ${decision.why}.) Continue the task.` : carried, 0);
    return true;
  }

  private record(w: WorkerRow, d: FallbackDecisionKind, errorClass: string) {
    const now = this.now;
    const from = w.chain[w.chainIndex]!;
    const next = d.kind === "retry" ? from : d.kind === "next" ? d.to : null;
    const action: DecisionLine["action"] = d.kind === "retry" ? "retry" : d.kind === "next" ? "fallback" : "give_up";
    const dedupKey = `runner:${w.id}:${w.chainIndex}:${w.attempt}:${now}`;
    const reason = d.kind === "retry" ? d.why : `${d.why}${d.skipped.length ? `; skipped ${d.skipped.join(", ")}` : ""}`;
    this.deps.decisions.add([{ ts: now, worker: w.id, originalModel: from, errorType: errorClass, nextModel: next, source: "runner", dedupKey }]);
    const path = this.deps.config.runner.fallbackLog;
    if (path) {
      try {
        appendDecision(
          path,
          {
            timestamp: new Date(now).toISOString(),
            worker: w.id,
            original_model: from,
            error_type: errorClass,
            attempt: w.attempt,
            next_model: next,
            action,
            reason,
            dedup_key: dedupKey,
            source: "asm-runner",
          },
          { maxBytes: this.deps.config.runner.fallback.logMaxBytes, maxFiles: this.deps.config.runner.fallback.logMaxFiles },
        );
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, "fallback decision not written to the log (it is in the store)");
      }
    }
    this.deps.log.info({ audit: "worker.fallback", worker: w.id, from, to: next, action, errorType: errorClass }, "fallback decision");
    this.deps.notice(w, { worker: w.id, action, from, to: next, reason, delayMs: d.kind === "retry" ? d.delayMs : 0 });
  }
}
