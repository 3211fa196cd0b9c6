import type { HealthReport } from "../../core/health.ts";
import type { View } from "../../messages/view.ts";
import type { Command } from "./spec.ts";

const mark = { ok: "ok  ", degraded: "BAD ", info: "·   " } as const;

/** The health report as one screen. */
export function healthView(report: HealthReport): View {
  return {
    title: `asm health: ${report.status}`,
    tone: report.status === "ok" ? "ok" : "warning",
    sections: [{ lines: report.items.map((i) => `${mark[i.status]}${i.name}: ${i.detail}`) }],
  };
}

export const healthCommand: Command = {
  name: "health",
  description: "Sources, last scan, gateway, quota, outbox, self",
  usage: "/health",
  options: [],
  run({ manager, now }) {
    return healthView(manager.health(now));
  },
};
