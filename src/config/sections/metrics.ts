import { z } from "zod";

/** This machine as every message and metric names it (one `asm` runs per host). */
export const hostSection = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .default(null)
      .describe(
        "This host's name: the host label on every metric and, when set, the tag on every feed message and worker topic (several hosts sharing one feed); null = the machine's hostname, untagged",
      ),
  })
  .prefault({});

/** The Prometheus endpoint (issue 17); the bearer token comes only from the environment (ASM_METRICS_TOKEN). */
export const metricsSection = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/, 'host:port, e.g. "127.0.0.1:9464"')
      .nullable()
      .default(null)
      .describe(
        'Serve /metrics and /healthz at host:port (e.g. "127.0.0.1:9464"); null = off. ASM_METRICS_TOKEN, when set, is the bearer token scrapers must send',
      ),
    sessionsActiveWithinHours: z
      .number()
      .positive()
      .default(24)
      .describe("Per-session context series are exported for present sessions active within this many hours (keeps the series count bounded)"),
  })
  .prefault({});
