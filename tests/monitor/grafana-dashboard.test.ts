import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configDir } from "../../src/config/load.ts";
import { metricNames } from "../../src/monitor/metrics.ts";

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(configDir, "grafana-dashboard.json"), "utf8")) as {
  panels: Panel[];
  templating: { list: { definition: string }[] };
  __inputs: { name: string }[];
};

/** The metric names a PromQL expression reads (histogram series read through their base name). */
const metricsIn = (expr: string) => [...expr.matchAll(/\b(asm_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));

describe("config/grafana-dashboard.json", () => {
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))),
    ...dashboard.templating.list.map((v) => ({ panel: "variable", expr: v.definition })),
  ];

  it("every query names only metrics asm exports, and at least one", () => {
    expect(exprs.length).toBeGreaterThan(10);
    for (const { panel, expr } of exprs) {
      const used = metricsIn(expr);
      expect(used.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of used) expect(metricNames as readonly string[], `${panel}: ${name}`).toContain(name);
    }
  });

  it("shows every metric asm exports, per host, from a datasource chosen at import", () => {
    const used = new Set(exprs.flatMap((e) => metricsIn(e.expr)));
    expect([...metricNames].filter((m) => !used.has(m))).toEqual([]);
    for (const { panel, expr } of exprs.filter((e) => e.panel !== "variable")) expect(expr, panel).toContain('host=~"$host"');
    expect(dashboard.__inputs.map((i) => i.name)).toEqual(["DS_PROMETHEUS"]);
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"(?!\$\{DS_PROMETHEUS\}|asm-agent-sessions)/);
  });
});
