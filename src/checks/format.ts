/** Number formatting for findings: short, human, stable enough to read at a glance. */

/** 172_340 → "172k", 1_200_000 → "1.2M", 950 → "950". */
export function formatTokens(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1_000_000) return `${trim(n / 1_000_000)}M`;
  if (abs >= 1_000) return `${Math.round(n / 1_000)}k`;
  return String(Math.round(n));
}

/** 512_000 → "500 KB", 3_145_728 → "3 MB". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${trim(n / (1024 * 1024 * 1024))} GB`;
  if (n >= 1024 * 1024) return `${trim(n / (1024 * 1024))} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}

/** 86.04 → "86%", 0.5 → "0.5%". */
export function formatPercent(p: number): string {
  return `${Math.abs(p) < 10 ? trim(p) : Math.round(p)}%`;
}

/** Milliseconds as "45s", "3m 20s", "2h 5m", "3d 4h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** A response time: 850 → "850 ms", 3500 → "3.5s", 95_000 → "1m 35s". */
export function formatLatency(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 60_000 ? `${trim(ms / 1000)}s` : formatDuration(ms);
}

/** How old a figure is, for "source, age" annotations: "just now", "4m ago". */
export function formatAge(at: number, now: number): string {
  const ms = now - at;
  return ms < 1000 ? "just now" : `${formatDuration(ms)} ago`;
}

/** 1.25 → "1.3", 2 → "2". */
function trim(x: number): string {
  return x.toFixed(1).replace(/\.0$/, "");
}
