import { type Json, num, obj } from "../../lib/json-value.ts";
import { classifyError, type ErrorReason, reasonFromStatus } from "../error-reason.ts";

/**
 * Codex's error text (rollout `error` events, `codex exec --json` `error`/`turn.failed`): exec gives only
 * the English message (RUNNER.md §1.2), so the words decide. "You've hit your usage limit" is a plan
 * quota, which the shared vocabulary calls billing. Null when the text says nothing we know.
 */
export function codexErrorReason(text: string): ErrorReason | null {
  const r = classifyError(text);
  return r === "error" ? null : r;
}

/**
 * The unit variants of app-server's typed `codexErrorInfo` (TurnError, 0.169.0 `CodexErrorInfo`) that name a
 * reason on their own. Absent ones (`other`, `sandboxError`, `threadRollbackFailed`, `activeTurnNotSteerable`, …)
 * say nothing about the provider: the message text or the status decides.
 */
const INFO_REASONS: Readonly<Record<string, ErrorReason>> = {
  contextWindowExceeded: "context_overflow",
  usageLimitExceeded: "billing",
  sessionBudgetExceeded: "billing",
  rateLimitExceeded: "rate_limit",
  serverOverloaded: "overloaded",
  flexUnavailable: "overloaded",
  policyCapacityUnavailable: "overloaded",
  internalServerError: "server_error",
  unauthorized: "auth",
  badRequest: "invalid_request",
  modelNotFound: "invalid_request",
};

/** The object variants that carry the provider's HTTP status (`{"httpConnectionFailed":{"httpStatusCode":401}}`). */
const WITH_STATUS = ["httpConnectionFailed", "responseStreamConnectionFailed", "responseStreamDisconnected", "responseTooManyFailedAttempts"];

/**
 * What app-server's `codexErrorInfo` says: its reason and HTTP status, each null when it does not say.
 * The wire form is camelCase: a string for unit variants, `{variant: {httpStatusCode}}` for the others.
 */
export function codexErrorInfo(info: unknown): { reason: ErrorReason | null; status: number | null } {
  if (typeof info === "string") return { reason: INFO_REASONS[info] ?? null, status: null };
  const o = obj(info);
  if (!o) return { reason: null, status: null };
  for (const k of WITH_STATUS) {
    const inner: Json | null = obj(o[k]);
    if (inner) {
      const status = num(inner.httpStatusCode);
      return { reason: reasonFromStatus(status), status };
    }
  }
  return { reason: null, status: null };
}
