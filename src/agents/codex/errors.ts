import { classifyError, type ErrorReason } from "../error-reason.ts";

/**
 * Codex's error text (rollout `error` events, `codex exec --json` `error`/`turn.failed`): exec gives only
 * the English message (RUNNER.md §1.2), so the words decide. "You've hit your usage limit" is a plan
 * quota, which the shared vocabulary calls billing. Null when the text says nothing we know.
 */
export function codexErrorReason(text: string): ErrorReason | null {
  const r = classifyError(text);
  return r === "error" ? null : r;
}
