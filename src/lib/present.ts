/**
 * How numbers read in every message asm writes (findings, alerts, chat commands, the CLI), so the same
 * figure reads the same everywhere: 1,500 tokens is "1.5k" in an alert and in `/session` alike.
 *
 * The rule for scaled figures: one decimal below ten of a unit, whole units above it (1.5k, 12k, 0.5%,
 * 86%), except millions and the larger byte units, which keep their decimal (1.2M, 12.5M, 1.5 GB).
 * ```ts
 * `${formatTokens(s.contextTokens)} of ${formatTokens(s.contextWindow)}` // "182k of 200k"
 * `oldest ${formatAge(oldest, now)}`                                  // "oldest 30m ago"
 * ```
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** 950 → "950", 1_500 → "1.5k", 172_340 → "172k", 1_200_000 → "1.2M"; null (unknown) → "?". */
export function formatTokens(n: number | null): string {
  if (n === null) return "?";
  const abs = Math.abs(n);
  if (Math.round(abs / 1000) >= 1000) return `${trim(n / 1_000_000)}M`;
  if (abs >= 1000) return `${scaled(n / 1000)}k`;
  return String(Math.round(n));
}

/**
 * 86.04 → "86%", 0.5 → "0.5%". With `decimals`, exactly that many (a table column, or a detail view
 * that shows the tenth: 91 → "91.0%").
 */
export function formatPercent(p: number, decimals?: number): string {
  return `${decimals === undefined ? scaled(p) : p.toFixed(decimals)}%`;
}

/** 900 → "900 B", 1_536 → "1.5 KB", 512_000 → "500 KB", 3_145_728 → "3 MB", 1.5 GiB → "1.5 GB" (1 KB = 1024 B). */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${trim(n / 1024 ** 3)} GB`;
  if (n >= 1024 ** 2) return `${trim(n / 1024 ** 2)} MB`;
  if (n >= 1024) return `${scaled(n / 1024)} KB`;
  return `${n} B`;
}

/** The smallest unit a duration shows: seconds for a measurement, minutes for how long an alert has been firing. */
export type DurationUnit = "second" | "minute";

/**
 * Milliseconds as "45s", "3m 20s", "2h 5m", "3d 4h": the two largest units, the second left out when zero.
 * With `smallest` "minute", seconds show only below a minute: "3m", "2h 5m".
 */
export function formatDuration(ms: number, smallest: DurationUnit = "second"): string {
  const s = Math.max(0, Math.round(ms / SECOND));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && smallest === "second" ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** A response time: 850 → "850 ms", 3500 → "3.5s", 95_000 → "1m 35s". */
export function formatLatency(ms: number): string {
  if (ms < SECOND) return `${Math.round(ms)} ms`;
  return ms < MINUTE ? `${trim(ms / SECOND)}s` : formatDuration(ms);
}

/** How long ago `at` was: "just now", "4m ago", "2h 5m ago" (`smallest` as for `formatDuration`). */
export function formatAge(at: number, now: number, smallest: DurationUnit = "second"): string {
  const ms = now - at;
  return ms < SECOND ? "just now" : `${formatDuration(ms, smallest)} ago`;
}

/**
 * The same age in one rounded unit, for a narrow table column: "42s", "5m", "3h", "2d"; "-" when unknown.
 * Seconds up to 90, minutes up to 90, hours up to 48.
 */
export function formatAgeCompact(at: number | null, now: number): string {
  if (at === null) return "-";
  const s = Math.max(0, Math.round((now - at) / SECOND));
  if (s < 90) return `${s}s`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** One clock for everyone in the feed, to the minute in UTC: "2026-11-23 19:50 UTC"; "-" when unknown. */
export function formatTime(ms: number | null): string {
  return ms === null ? "-" : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Fits text to a column of `width` characters: padded with spaces, or cut with "…". */
export function fitColumn(s: string, width: number): string {
  return s.length >= width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}

/**
 * A part and its whole, with as much precision as it takes to tell them apart: "182k of 200k", but
 * "1.04M of 1.05M" where both would read "1M" (a session at 99% of a million-token window).
 */
export function formatTokensOf(part: number | null, whole: number | null): string {
  const a = formatTokens(part);
  const b = formatTokens(whole);
  if (a !== b || part === null || whole === null || part === whole) return `${a} of ${b}`;
  for (const digits of [2, 3]) {
    const x = Math.abs(whole) >= 999_500 ? `${(part / 1_000_000).toFixed(digits)}M` : `${(part / 1000).toFixed(digits - 1)}k`;
    const y = Math.abs(whole) >= 999_500 ? `${(whole / 1_000_000).toFixed(digits)}M` : `${(whole / 1000).toFixed(digits - 1)}k`;
    if (x !== y) return `${x} of ${y}`;
  }
  return `${Math.round(part).toLocaleString("en-US")} of ${Math.round(whole).toLocaleString("en-US")}`;
}

/** A path as a person reads it: the home folder as "~" ("/home/ada/app" → "~/app"). */
export function shortPath(path: string, home: string): string {
  if (!home || home === "/") return path;
  if (path === home) return "~";
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** Text on one line (whitespace collapsed), cut to `max` characters with "…". */
export function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

/** One decimal below 10 ("1.5"), whole above ("12"). */
function scaled(x: number): string {
  return Math.abs(x) < 10 ? trim(x) : String(Math.round(x));
}

/** 1.25 → "1.3", 2 → "2". */
function trim(x: number): string {
  return x.toFixed(1).replace(/\.0$/, "");
}
