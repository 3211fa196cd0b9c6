import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * One line of `runner.fallbackLog`, in the shape the operators' jq one-liners read:
 * `jq -r '.error_type' fallback_decisions.jsonl | sort | uniq -c`,
 * `jq -r 'select(.original_model == "openai-codex/gpt-5.2")'`.
 */
export interface DecisionLine {
  timestamp: string;
  worker: string;
  original_model: string;
  error_type: string;
  attempt: number;
  /** null when nothing was left to try. */
  next_model: string | null;
  action: "retry" | "fallback" | "give_up";
  reason: string;
  /** The store row's key, so the log observer does not count this decision twice. */
  dedup_key: string;
  source: "asm-runner";
}

/** A log file that could not be written; the decision is still in the store. */
export class DecisionLogError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write the fallback decision log ${path}: ${(cause as Error)?.message ?? cause}`);
    this.name = "DecisionLogError";
  }
}

/**
 * Appends a decision, rotating first when the file would pass `maxBytes`: `f` → `f.1` → … → `f.<maxFiles>`
 * (the oldest dropped), the runbook's "unbounded growth" fixed.
 */
export function appendDecision(path: string, line: DecisionLine, limits: { maxBytes: number; maxFiles: number }): void {
  const text = `${JSON.stringify(line)}\n`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size > 0 && size + Buffer.byteLength(text) > limits.maxBytes) rotate(path, limits.maxFiles);
    appendFileSync(path, text, { mode: 0o600 });
  } catch (err) {
    throw new DecisionLogError(path, err);
  }
}

function rotate(path: string, maxFiles: number) {
  rmSync(`${path}.${maxFiles}`, { force: true });
  for (let i = maxFiles - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  renameSync(path, `${path}.1`);
}
