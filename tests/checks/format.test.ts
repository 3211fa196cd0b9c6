import { describe, expect, it } from "vitest";
import { formatAge, formatBytes, formatDuration, formatLatency, formatPercent, formatTokens } from "../../src/checks/format.ts";

describe("formatting for findings", () => {
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
