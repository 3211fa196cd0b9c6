import { z } from "zod";
import { argv, pathString, severity } from "./common.ts";

/**
 * Rejects a warning threshold at or above its critical one (the critical level could then never be reached
 * first): the problem is reported on the critical key, naming both values.
 */
const ordered =
  <K extends string>(warningKey: K, criticalKey: K) =>
  (v: Record<K, number>, ctx: z.RefinementCtx) => {
    if (v[warningKey] >= v[criticalKey]) {
      ctx.addIssue({
        code: "custom",
        path: [criticalKey],
        message: `must be above ${warningKey} (${v[criticalKey]} is not above ${v[warningKey]}); are the two swapped?`,
      });
    }
  };

const limit = (warning: number, critical: number) =>
  z
    .strictObject({ warning: z.number().int().positive(), critical: z.number().int().positive() })
    .superRefine(ordered("warning", "critical"))
    .default({ warning, critical });

export const contextCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    percentWarning: z.number().min(1).max(100).default(80).describe("ASM_CONTEXT_THRESHOLD"),
    percentCritical: z.number().min(1).max(100).default(95),
    tokensByKind: z
      .strictObject({ group: limit(50_000, 150_000), dm: limit(100_000, 150_000), main: limit(150_000, 200_000) })
      .prefault({})
      .describe("Absolute token limits per OpenClaw session kind"),
    growthHorizonMinutes: z.number().positive().default(60).describe("Warn when growth will fill the window within this"),
    activeWithinHours: z.number().positive().default(24).describe("Only sessions active this recently are checked"),
  })
  .superRefine(ordered("percentWarning", "percentCritical"))
  .prefault({});

export const transcriptCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(500 * 1024),
    severity: severity.default("warning"),
    sizePlatforms: z
      .array(z.string())
      .default(["openclaw"])
      .describe("Platforms whose transcript size is checked (Claude/Codex transcripts are large by design)"),
    corruptSeverity: severity.default("critical").describe("Null/missing transcript paths, unreadable session stores"),
  })
  .prefault({});

export const duplicatesCheck = z.strictObject({ enabled: z.boolean().default(true), severity: severity.default("warning") }).prefault({});

export const logsCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    files: z
      .array(pathString)
      .default(["/tmp/openclaw/openclaw-*.log", "~/.openclaw/logs/gateway*.log"])
      .describe("Log files or globs (asm's own log.file is added automatically)"),
    growthPercent: z.number().positive().default(50),
    growthMinBytes: z
      .number()
      .int()
      .nonnegative()
      .default(1024 * 1024)
      .describe("Growth is judged only for files at least this big (a fresh daily log doubles all morning)"),
    errorRatePercent: z.number().positive().default(10),
    errorPatterns: z.array(z.string()).default(["\\bERROR\\b", "\\bFATAL\\b"]),
    durationPattern: z.string().default('(?:duration|took|elapsed)["=: ]+(\\d+(?:\\.\\d+)?)\\s*(ms|s)\\b').describe("Regex: group 1 = number, group 2 = unit"),
    slowMs: z.number().positive().default(2000),
    rotationBytes: z
      .number()
      .int()
      .positive()
      .default(50 * 1024 * 1024),
    severity: severity.default("warning"),
  })
  .prefault({});

export const gatewayCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    url: z
      .string()
      .url()
      .nullable()
      .default(null)
      .describe('null = the local gateway openclaw.json declares (gateway.mode "local", gateway.port), else not watched'),
    command: argv.nullable().default(null).describe('Probe by command instead of HTTP, e.g. ["openclaw","health","--json"]'),
    timeoutSeconds: z.number().positive().default(10),
    downAfterSeconds: z.number().positive().default(180).describe("ASM_GATEWAY_TIMEOUT"),
    startupGraceSeconds: z.number().nonnegative().default(300),
    restart: z.enum(["approval", "auto", "off"]).default("approval"),
    maxRestarts: z.number().int().positive().default(3),
    restartWindowMinutes: z.number().positive().default(15),
    repairAfterFailedRestarts: z.number().int().positive().default(3),
  })
  .prefault({});

export const fallbackCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    decisionLogs: z.array(pathString).default(["~/.openclaw/logs/fallback_decisions.jsonl"]),
    ratePercent: z.number().positive().default(30),
    windowMinutes: z.number().positive().default(60),
    maxConsecutiveFailures: z.number().int().positive().default(5),
    minAttempts: z.number().int().positive().default(5).describe("Requests on a model in the window before a rate is judged"),
    severity: severity.default("warning").describe("Rate, streak and selected-vs-active findings; a failed chain is critical"),
  })
  .prefault({});

const quotaProbe = z.strictObject({
  name: z.string().min(1),
  url: z.string().url().nullable().default(null),
  headersFromEnv: z.record(z.string(), z.string()).default({}).describe("Header name -> env var holding its value"),
  jsonPath: z.string().nullable().default(null).describe("Dot path to the remaining number in the JSON answer"),
  command: argv.nullable().default(null),
  limit: z.number().positive().nullable().default(null).describe("The plan's total, so used % can be judged"),
  minRemaining: z
    .number()
    .nonnegative()
    .nullable()
    .default(null)
    .describe("Warn below this many remaining; null = checks.quota.minRemaining (ASM_MINIMAX_QUOTA_THRESHOLD)"),
});

export const quotaCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    usedPercentWarning: z.number().positive().default(80),
    usedPercentCritical: z.number().positive().default(95),
    reportedWithinMinutes: z
      .number()
      .positive()
      .default(60)
      .describe("A rate-limit or billing error an agent recorded this recently is reported (official figure)"),
    probes: z.array(quotaProbe).default([]),
    minRemaining: z.number().nonnegative().default(100).describe("Default for probes; ASM_MINIMAX_QUOTA_THRESHOLD"),
    plans: z
      .array(
        z.strictObject({
          platform: z.string(),
          windowHours: z.number().positive(),
          tokenLimit: z.number().int().positive(),
          includeCacheRead: z.boolean().default(true).describe("Count cache reads toward the limit"),
        }),
      )
      .default([])
      .describe("Token budgets per rolling window, for usage estimated from transcripts"),
  })
  .superRefine(ordered("usedPercentWarning", "usedPercentCritical"))
  .prefault({});

export const selfCheck = z
  .strictObject({
    enabled: z.boolean().default(true),
    outboxBacklog: z.number().int().positive().default(50),
    dbBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024 * 1024),
  })
  .prefault({});

export const checksSection = z
  .strictObject({
    context: contextCheck,
    transcript: transcriptCheck,
    duplicates: duplicatesCheck,
    logs: logsCheck,
    gateway: gatewayCheck,
    fallbackRate: fallbackCheck,
    quota: quotaCheck,
    self: selfCheck,
  })
  .prefault({});

export const monitorSection = z
  .strictObject({
    intervalSeconds: z.number().int().min(5).default(60).describe("Scan + checks; ASM_MONITOR_INTERVAL"),
    logsIntervalSeconds: z.number().int().min(10).default(600),
    gatewayIntervalSeconds: z.number().int().min(5).default(30),
    retentionDays: z
      .strictObject({
        resolvedAlerts: z.number().positive().default(30),
        deliveredOutbox: z.number().positive().default(7),
        series: z.number().positive().default(14),
        turns: z.number().positive().default(30).describe("Per-turn token usage; keep at least your longest quota window"),
        fallbackDecisions: z.number().positive().default(30),
      })
      .prefault({}),
  })
  .prefault({});
