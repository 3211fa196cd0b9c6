/**
 * The one vocabulary for why an agent's model call failed, shared by every transcript fold, the runner's
 * stream parsers, the fallback chain and the quota and fallback checks. Each agent maps its own signals
 * (HTTP status, typed error names, prose) into it in its folder; this module holds the words and the
 * prose classifier used where an agent gives nothing better than text.
 */

/** Every reason, in the order `classifyError` tries them. */
export const errorReasons = [
  /** 429 or "too many requests": the provider asks us to slow down; passes within seconds to minutes. */
  "rate_limit",
  /** Quota, credit or plan usage exhausted (402, "usage limit", "insufficient quota"): waits for a reset or payment. */
  "billing",
  "timeout",
  /** 529/503, "overloaded": the provider is busy. */
  "overloaded",
  /** 5xx other than overload. */
  "server_error",
  /** 401/403, bad or missing key: no retry helps. */
  "auth",
  /** The conversation no longer fits the model's window: hand over, never fall back to a smaller model. */
  "context_overflow",
  /** 400 the provider rejected as malformed. */
  "invalid_request",
  /** The person (or asm) stopped the turn. */
  "aborted",
  /** Anything else. */
  "error",
] as const;

export type ErrorReason = (typeof errorReasons)[number];

/** True when `v` is a member of the vocabulary (for rows read back from the store). */
export const isErrorReason = (v: unknown): v is ErrorReason => typeof v === "string" && (errorReasons as readonly string[]).includes(v);

/** The reason an HTTP status alone implies, or null when the status says nothing specific. */
export function reasonFromStatus(status: number | null | undefined): ErrorReason | null {
  if (status === null || status === undefined) return null;
  if (status === 429) return "rate_limit";
  if (status === 402) return "billing";
  if (status === 401 || status === 403) return "auth";
  if (status === 408 || status === 504) return "timeout";
  if (status === 529 || status === 503) return "overloaded";
  if (status === 413) return "context_overflow";
  if (status >= 500) return "server_error";
  if (status === 400) return "invalid_request";
  return null;
}

/**
 * Classifies an error text by the words agents and providers use in their messages; anything else is
 * plain "error".
 */
export function classifyError(text: string): ErrorReason {
  const t = text.toLowerCase();
  // Google's RESOURCE_EXHAUSTED is its 429; Gemini CLI words it "Resource has been exhausted (e.g. check quota)".
  if (/\b429\b|rate.?limit|too many requests|resource.?(has been )?exhausted/.test(t)) return "rate_limit";
  if (/billing|insufficient.?(credit|balance|funds|quota)|payment|\b402\b|quota|usage.?limit|credit balance/.test(t)) return "billing";
  if (/timed? ?out|timeout|etimedout|deadline/.test(t)) return "timeout";
  if (/overloaded|\b529\b|\b503\b/.test(t)) return "overloaded";
  if (/\b50[0-24]\b|server.?error|internal error|bad gateway/.test(t)) return "server_error";
  if (/\b401\b|\b403\b|unauthori[sz]ed|invalid.?(api.?)?key|authentication|not logged in|forbidden/.test(t)) return "auth";
  if (/context.?(length|window)|too long|maximum context|prompt is too long|ran out of room/.test(t)) return "context_overflow";
  if (/abort|interrupted/.test(t)) return "aborted";
  return "error";
}
