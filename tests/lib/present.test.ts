import { describe, expect, it } from "vitest";
import {
  fitColumn,
  formatAge,
  formatAgeCompact,
  formatBytes,
  formatDuration,
  formatLatency,
  formatPercent,
  formatTime,
  formatTokens,
} from "../../src/lib/present.ts";

describe("formatting for findings", () => {
  // The cases of the former tests/checks/format.test.ts, unchanged.
  const cases: [string, string, string][] = [
    [formatTokens(950), "950", "tokens"],
    [formatTokens(172_340), "172k", "tokens"],
    [formatTokens(1_200_000), "1.2M", "tokens"],
    [formatBytes(900), "900 B", "bytes"],
    [formatBytes(512_000), "500 KB", "bytes"],
    [formatBytes(3 * 1024 * 1024), "3 MB", "bytes"],
    [formatBytes(1.5 * 1024 ** 3), "1.5 GB", "bytes"],
    [formatPercent(86.04), "86%", "percent"],
    [formatPercent(0.5), "0.5%", "percent"],
    [formatDuration(45_000), "45s", "duration"],
    [formatDuration(200_000), "3m 20s", "duration"],
    [formatDuration(180_000), "3m", "duration"],
    [formatDuration(7_500_000), "2h 5m", "duration"],
    [formatDuration(3 * 86_400_000 + 4 * 3_600_000), "3d 4h", "duration"],
    [formatLatency(850), "850 ms", "latency"],
    [formatLatency(3500), "3.5s", "latency"],
    [formatLatency(95_000), "1m 35s", "latency"],
    [formatAge(1000, 1500), "just now", "age"],
    [formatAge(0, 240_000), "4m ago", "age"],
  ];
  for (const [got, want, kind] of cases) it(`${kind}: ${want}`, () => expect(got).toBe(want));
});

describe("one reading of a number everywhere", () => {
  it.each<[number | null, string]>([
    [0, "0"],
    [950, "950"],
    [1000, "1k"],
    // The figure that read "2k" in an alert and "1.5k" in /session: the precise form wins.
    [1500, "1.5k"],
    [9_940, "9.9k"],
    [9_960, "10k"],
    [12_345, "12k"],
    [182_000, "182k"],
    [999_600, "1M"],
    [1_000_000, "1M"],
    [2_000_000, "2M"],
    [12_500_000, "12.5M"],
    [-1500, "-1.5k"],
    [null, "?"],
  ])("tokens %s → %s", (n, want) => {
    expect(formatTokens(n)).toBe(want);
  });

  it("percent: one decimal below 10, whole above; or exactly the decimals asked for", () => {
    expect(formatPercent(9.96)).toBe("10%");
    expect(formatPercent(91)).toBe("91%");
    expect(formatPercent(91, 1)).toBe("91.0%");
    expect(formatPercent(91.4, 0)).toBe("91%");
  });

  it("bytes: kilobytes get the same one-decimal rule as tokens", () => {
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(500 * 1024 + 1)).toBe("500 KB");
    expect(formatBytes(1023)).toBe("1023 B");
  });

  it("durations drop the second unit when it is zero and never go negative", () => {
    expect(formatDuration(4 * 3_600_000)).toBe("4h");
    expect(formatDuration(3 * 86_400_000)).toBe("3d");
    expect(formatDuration(-5000)).toBe("0s");
    expect(formatDuration(750_000)).toBe("12m 30s");
  });

  it("to the minute (how long an alert has fired): seconds only below a minute", () => {
    expect(formatDuration(40_000, "minute")).toBe("40s");
    expect(formatDuration(601_000, "minute")).toBe("10m");
    expect(formatDuration(7_530_000, "minute")).toBe("2h 5m");
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000, "minute")).toBe("3d 4h");
    expect(formatAge(0, 601_000, "minute")).toBe("10m ago");
  });

  it("ages: precise for sentences, one rounded unit for table columns", () => {
    const now = 10 * 86_400_000;
    expect(formatAge(now - 1_790_000, now)).toBe("29m 50s ago");
    expect(formatAgeCompact(now - 42_000, now)).toBe("42s");
    expect(formatAgeCompact(now - 89_000, now)).toBe("89s");
    expect(formatAgeCompact(now - 280_000, now)).toBe("5m");
    expect(formatAgeCompact(now - 3 * 3_600_000, now)).toBe("3h");
    expect(formatAgeCompact(now - 2 * 86_400_000, now)).toBe("2d");
    expect(formatAgeCompact(now + 5000, now)).toBe("0s");
    expect(formatAgeCompact(null, now)).toBe("-");
  });

  it("clock times are UTC to the minute", () => {
    expect(formatTime(Date.parse("2026-11-23T19:50:42Z"))).toBe("2026-11-23 19:50 UTC");
    expect(formatTime(null)).toBe("-");
  });

  it("columns are padded or cut to their width", () => {
    expect(fitColumn("claude", 8)).toBe("claude  ");
    expect(fitColumn("openclaw/main", 8)).toBe("opencla…");
  });
});
