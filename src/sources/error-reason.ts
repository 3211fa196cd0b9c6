/**
 * Classifies an error text the way the fallback and quota checks group them. The vocabulary is the
 * one agents and providers use in their messages; anything else is plain "error".
 */
export function classifyError(text: string): string {
  const t = text.toLowerCase();
  if (/\b429\b|rate.?limit|too many requests|resource.?exhausted/.test(t)) return "rate_limit";
  if (/billing|insufficient.?(credit|balance|funds|quota)|payment|\b402\b|quota/.test(t)) return "billing";
  if (/timed? ?out|timeout|etimedout|deadline/.test(t)) return "timeout";
  if (/overloaded|\b529\b|\b503\b/.test(t)) return "overloaded";
  if (/\b50[0-24]\b|server.?error|internal error|bad gateway/.test(t)) return "server_error";
  if (/\b401\b|\b403\b|unauthori[sz]ed|invalid.?api.?key|authentication/.test(t)) return "auth";
  if (/context.?(length|window)|too long|maximum context|prompt is too long/.test(t)) return "context_overflow";
  if (/abort/.test(t)) return "aborted";
  return "error";
}
