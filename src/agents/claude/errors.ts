import { type ErrorReason, reasonFromStatus } from "../error-reason.ts";

/**
 * Claude Code's API error on an assistant line or result: the HTTP status (`apiErrorStatus`,
 * `api_error_status`) and the SDK's error word (`authentication_failed | billing_error | rate_limit |
 * invalid_request | server_error | unknown`, RUNNER.md §1.1). The status wins where both are present.
 */
export function claudeErrorReason(status: number | null, error: string | null): ErrorReason | null {
  const byStatus = reasonFromStatus(status);
  if (byStatus && byStatus !== "invalid_request") return byStatus;
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
  return error || status !== null ? "error" : null;
}
