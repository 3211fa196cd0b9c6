import { classifyError, type ErrorReason, reasonFromStatus } from "../error-reason.ts";

/**
 * Claude Code's API error on an assistant line or result: the HTTP status (`apiErrorStatus`,
 * `api_error_status`), the SDK's error word (`authentication_failed | billing_error | rate_limit |
 * invalid_request | server_error | unknown`, RUNNER.md §1.1) and, when the caller has it, the "API Error: …"
 * prose. The status wins where both are present (a real 529 line says `error: "server_error"`); a 400 whose
 * text says the prompt is too long is a context overflow, not a malformed request; the prose decides when
 * neither status nor word does (CLI 2.0.x writes `error: "unknown"` and puts the 529 in the text).
 */
export function claudeErrorReason(status: number | null, error: string | null, text?: string | null): ErrorReason | null {
  const byText = text ? classifyError(text) : null;
  const byStatus = reasonFromStatus(status);
  if (byStatus && byStatus !== "invalid_request") return byStatus;
  if (byText === "context_overflow") return byText;
  switch (error) {
    case "rate_limit":
      return "rate_limit";
    case "authentication_failed":
      return "auth";
    case "billing_error":
      return "billing";
    case "server_error":
      return "server_error";
    case "invalid_request":
      return "invalid_request";
  }
  if (error?.includes("overloaded")) return "overloaded";
  if (byStatus) return byStatus;
  if (byText && byText !== "error") return byText;
  return error || status !== null ? "error" : null;
}
