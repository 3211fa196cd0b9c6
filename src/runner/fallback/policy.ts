import type { Breaker } from "../../store/breakers.ts";
import { breakerAllows } from "./breaker.ts";

/**
 * What to do after a worker's run failed, decided from the error class alone (pure, table-tested). The CLIs
 * retry transient errors inside a turn already (Claude `api_retry`, Codex reconnects, Gemini's attempts), so
 * this acts on the turn's outcome and never multiplies their retries.
 *
 * | class | what happens |
 * |---|---|
 * | overloaded, server_error, timeout, crash | the same model again after `retryDelaySeconds`, up to `maxRetries` tries, then the next |
 * | rate_limit | the same model after its reset when that is at most `rateLimitRetryMaxSeconds` away, else the next |
 * | auth, billing | never retried: the next model (and the breaker opens for hours) |
 * | context_overflow | only a model with a larger window; none left → stop (hand the session over instead) |
 * | spawn, invalid_request, error, anything else | the next model |
 */

/** A model of `runner.models`. */
export interface ModelSpec {
  driver: string;
  model: string;
  contextWindow?: number | undefined;
}

export interface FallbackRules {
  maxRetries: number;
  retryDelaySeconds: number;
  rateLimitRetryMaxSeconds: number;
}

export interface FailureFacts {
  /** The worker's error class (an ErrorReason, or timeout/crash/spawn). */
  errorClass: string;
  /** The error text, for a reset hint ("try again in 30 seconds"). */
  message: string | null;
}

export interface ChainPosition {
  chain: readonly string[];
  index: number;
  /** Tries of chain[index] so far, including the one that failed. */
  attempt: number;
}

export type FallbackDecisionKind =
  | { kind: "retry"; model: string; delayMs: number; why: string }
  | { kind: "next"; from: string; to: string; index: number; why: string; skipped: string[] }
  | { kind: "stop"; from: string; why: string; skipped: string[] };

const transient = new Set(["overloaded", "server_error", "timeout", "crash"]);

/** Seconds until a rate limit resets, when the message says ("retry after 20s", "try again in 2 minutes"). */
export function resetHintSeconds(message: string | null): number | null {
  if (!message) return null;
  const m = /(?:retry[- ]after|try again in|resets? in)\s*:?\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec(?:ond)?s?|m|min(?:ute)?s?|h|hours?)?/i.exec(message);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? "s").toLowerCase();
  if (unit.startsWith("ms") || unit.startsWith("milli")) return n / 1000;
  if (unit.startsWith("h")) return n * 3600;
  if (unit.startsWith("m")) return n * 60;
  return n;
}

/** Human words for a class, for the feed ("fell back from X to Y: rate limited"). */
export const classWords: Record<string, string> = {
  rate_limit: "rate limited",
  overloaded: "overloaded",
  server_error: "server error",
  timeout: "timed out",
  crash: "the CLI crashed",
  auth: "authentication failed",
  billing: "quota or billing exhausted",
  context_overflow: "context window exceeded",
  invalid_request: "invalid request",
  spawn: "the CLI did not start",
};

export function decideFallback(
  facts: FailureFacts,
  pos: ChainPosition,
  models: Readonly<Record<string, ModelSpec>>,
  breakers: (model: string) => Breaker,
  rules: FallbackRules,
): FallbackDecisionKind {
  const from = pos.chain[pos.index]!;
  const words = classWords[facts.errorClass] ?? facts.errorClass;
  const cls = facts.errorClass;
  const currentOpen = !breakerAllows(breakers(from));
  if (!currentOpen && transient.has(cls) && pos.attempt < rules.maxRetries) {
    return { kind: "retry", model: from, delayMs: rules.retryDelaySeconds * 1000, why: `${words}; try ${pos.attempt + 1} of ${rules.maxRetries}` };
  }
  if (!currentOpen && cls === "rate_limit" && pos.attempt < rules.maxRetries) {
    const reset = resetHintSeconds(facts.message);
    if (reset !== null && reset <= rules.rateLimitRetryMaxSeconds) {
      return { kind: "retry", model: from, delayMs: Math.ceil(reset * 1000), why: `${words}, resets in ${Math.ceil(reset)}s` };
    }
  }
  const minWindow = cls === "context_overflow" ? (models[from]?.contextWindow ?? Number.POSITIVE_INFINITY) : 0;
  const skipped: string[] = [];
  for (let i = pos.index + 1; i < pos.chain.length; i++) {
    const id = pos.chain[i]!;
    const spec = models[id];
    if (!spec) {
      skipped.push(`${id} (not in runner.models)`);
      continue;
    }
    if (!breakerAllows(breakers(id))) {
      skipped.push(`${id} (breaker open)`);
      continue;
    }
    if (cls === "context_overflow" && !((spec.contextWindow ?? 0) > minWindow)) {
      skipped.push(`${id} (window not larger)`);
      continue;
    }
    return { kind: "next", from, to: id, index: i, why: words, skipped };
  }
  const why =
    cls === "context_overflow"
      ? `${words}: no model with a larger window is left; hand the session over to a fresh one`
      : `${words}; every model of the chain failed or is cooling off`;
  return { kind: "stop", from, why, skipped };
}

/**
 * The chain for a spawn: `explicit` (from `--chain`) as given, else `runner.fallbackOrder` from `start` on
 * (a model not in the order goes first, then the whole order).
 */
export function chainFor(start: string, order: readonly string[], explicit?: readonly string[] | null): string[] {
  if (explicit?.length) return [...new Set(explicit)];
  const i = order.indexOf(start);
  return i >= 0 ? order.slice(i) : [start, ...order.filter((m) => m !== start)];
}
