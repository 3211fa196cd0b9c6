import { z } from "zod";
import { actionsSection } from "./sections/actions.ts";
import { alertsSection, outboxSection } from "./sections/alerts.ts";
import { consoleSection, discordSection, telegramSection } from "./sections/chat.ts";
import { checksSection, monitorSection } from "./sections/checks.ts";
import { handoverSection } from "./sections/handover.ts";
import { hostSection, metricsSection } from "./sections/metrics.ts";
import { reportSection } from "./sections/report.ts";
import { runnerSection } from "./sections/runner.ts";
import { modelsSection, sourcesSection } from "./sections/sources.ts";
import { logSection, storeSection } from "./sections/store.ts";
import { usageSection } from "./sections/usage.ts";

/**
 * The one truth about asm's configuration. Files and environment are merged, then parsed by this
 * schema; `config/schema.json` and `config/default.json` are generated from it (`asm config schema`).
 * Secrets are not here: they come only from the environment (see `secrets.ts`).
 */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  store: storeSection,
  log: logSection,
  sources: sourcesSection,
  models: modelsSection,
  monitor: monitorSection,
  checks: checksSection,
  alerts: alertsSection,
  outbox: outboxSection,
  actions: actionsSection,
  runner: runnerSection,
  handover: handoverSection,
  host: hostSection,
  usage: usageSection,
  metrics: metricsSection,
  report: reportSection,
  telegram: telegramSection,
  discord: discordSection,
  console: consoleSection,
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
