/** Small formatting helpers shared by the command views. */

/** "42s", "5m", "3h", "2d" since `ms`; "-" when unknown. */
export function ago(ms: number | null, now: number): string {
  if (ms === null) return "-";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** 172400 → "172k", 950 → "950", 1.2M → "1.2M". */
export function tokens(n: number | null): string {
  if (n === null) return "?";
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

/** ISO minute in UTC: "2026-11-23 19:48". */
export const utc = (ms: number | null) => (ms === null ? "-" : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`);

export const pad = (s: string, n: number) => (s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
