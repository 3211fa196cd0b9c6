import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { gatherReport, type ReportData, thin } from "../../src/core/report.ts";
import { contextPanel, fallbackPanel, panelNames, panelSpec, periodLabel, reportSpec } from "../../src/core/report-charts.ts";
import { reportCaption } from "../../src/core/report-view.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { UsageStore } from "../../src/store/usage.ts";
import { reportFixtureNow, seedReportFixture } from "../fixtures/report/seed.ts";
import { tempDir } from "../helpers/tmp.ts";

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function store(): Db {
  const db = openStore(join(tempDir("asm-report-"), "asm.db"));
  open.push(db);
  return db;
}

const config = configSchema.parse({ host: { name: "build-box" }, checks: { context: { percentWarning: 75, percentCritical: 90 } } });
const day = 86_400_000;

/** Every layer of a panel, flattened (a unit spec is its own only layer). */
// biome-ignore lint/suspicious/noExplicitAny: specs are plain JSON
const layers = (panel: any): any[] => panel.layer ?? [panel];

describe("the report's data, gathered from a real store", () => {
  it("context % over time for the most urgent sessions, derived from the per-turn context figures", () => {
    const db = store();
    seedReportFixture(db);
    const data = gatherReport(db, config, { window: "7d", now: reportFixtureNow });
    expect(data.host).toBe("build-box");
    expect(data.thresholds).toEqual({ warning: 75, critical: 90 });
    expect(data.bucket).toBe("day");
    // The five sessions, fullest first (the store's urgency order), each labelled with agent, short id, title and %.
    expect(data.context.map((s) => s.label)).toEqual([
      "claude 7d3f2a10 · fix build (91%)",
      "openclaw 3f1d9c2e · main (83%)",
      "codex 01a209ee · api refactor (64%)",
      "opencode 5a1b2c3d · docs site (47%)",
      "gemini 9c0ffee0 · data pipeline (22%)",
    ]);
    for (const s of data.context) {
      expect(s.points.length).toBeGreaterThan(10);
      expect(s.points[0]!.ts).toBeGreaterThanOrEqual(data.since);
      expect(s.points.at(-1)!.ts).toBeLessThanOrEqual(data.until);
      // The newest point is the session's context now: its last turn's tokens over its window.
      expect(Math.abs(s.points.at(-1)!.percent - s.percent!)).toBeLessThan(0.1);
    }
    const limited = gatherReport(db, configSchema.parse({ report: { sessions: 2 } }), { window: "7d", now: reportFixtureNow });
    expect(limited.context).toHaveLength(2);
  });

  it("tokens and cost per day by agent add up to the stored turns; unpriced models are named, not priced at zero", () => {
    const db = store();
    seedReportFixture(db);
    const data = gatherReport(db, config, { window: "7d", now: reportFixtureNow });
    let tokens = 0;
    for (const t of new UsageStore(db).since(data.since)) if (t.ts <= data.until) tokens += t.input + t.output + t.cacheRead + t.cacheWrite;
    expect(data.usage.reduce((n, u) => n + u.tokens, 0)).toBe(tokens);
    expect(new Set(data.usage.map((u) => u.agent))).toEqual(new Set(["claude", "codex", "gemini", "opencode", "openclaw"]));
    for (const u of data.usage) expect(u.at % day).toBe(0);
    // 7 days back from 08:00 touch 8 calendar days (UTC).
    expect(new Set(data.usage.map((u) => u.at)).size).toBe(8);
    expect(data.unpriced).toEqual(["qwen3-coder-30b-local"]);
    expect(data.usage.filter((u) => u.agent === "opencode").every((u) => u.cost === null)).toBe(true);
    expect(data.usage.filter((u) => u.agent === "claude").every((u) => (u.cost ?? 0) > 0)).toBe(true);
  });

  it("alerts per day by check: each alert once, on the day it fired, and only inside the window", () => {
    const db = store();
    const seeded = seedReportFixture(db);
    const data = gatherReport(db, config, { window: "7d", now: reportFixtureNow });
    const inWindow = new AlertStore(db).firedBetween(data.since, data.until);
    expect(inWindow.length).toBeLessThan(seeded.alerts);
    expect(data.alerts.reduce((n, a) => n + a.count, 0)).toBe(inWindow.length);
    expect(new Set(data.alerts.map((a) => a.check))).toEqual(new Set(["context", "logs", "fallback-rate", "gateway", "quota"]));
    const contextAlerts = inWindow.filter((a) => a.check === "context");
    expect(data.alerts.filter((a) => a.check === "context").reduce((n, a) => n + a.count, 0)).toBe(contextAlerts.length);
  });

  it("fallback rate per model: failures out of failures + turns on that model, highest first", () => {
    const db = store();
    seedReportFixture(db);
    const data = gatherReport(db, config, { window: "30d", now: reportFixtureNow });
    const opus = data.fallback.find((f) => f.model === "claude-opus-4-1")!;
    expect(opus.failures).toBe(14);
    expect(opus.attempts).toBeGreaterThan(14);
    expect(opus.ratePercent).toBeCloseTo((14 / opus.attempts) * 100, 1);
    const rates = data.fallback.map((f) => f.ratePercent);
    expect(rates).toEqual([...rates].sort((a, b) => b - a));
    expect(data.fallback.map((f) => f.model)).toEqual(expect.arrayContaining(["gemini-2.5-pro", "gpt-5-codex"]));
  });

  it("a 24h window counts per hour", () => {
    const db = store();
    seedReportFixture(db);
    const data = gatherReport(db, config, { window: "24h", now: reportFixtureNow });
    expect(data.bucket).toBe("hour");
    expect(data.usage.every((u) => u.at % 3_600_000 === 0 && u.at >= data.since - 3_600_000)).toBe(true);
    expect(periodLabel(Date.UTC(2026, 11, 5, 14), "hour")).toBe("14:00");
    expect(periodLabel(Date.UTC(2026, 11, 5, 14), "day")).toBe("Dec 5");
  });

  it("thin keeps at most 240 points and never smooths a peak away", () => {
    const since = 0;
    const until = 7 * day;
    const points = Array.from({ length: 5000 }, (_, i) => ({ ts: i * ((until - 1) / 5000), percent: i === 2500 ? 99 : 40 }));
    const thinned = thin(points, since, until);
    expect(thinned.length).toBeLessThanOrEqual(240);
    expect(Math.max(...thinned.map((p) => p.percent))).toBe(99);
  });
});

describe("the report's chart specs", () => {
  it("one picture with every panel; the context panel draws the warning and critical thresholds", () => {
    const db = store();
    seedReportFixture(db);
    const data = gatherReport(db, config, { window: "7d", now: reportFixtureNow });
    const spec = reportSpec(data) as unknown as { vconcat: unknown[]; title: { text: string }; config: { font: string } };
    expect(spec.vconcat).toHaveLength(panelNames.length);
    expect(spec.title.text).toBe("asm report · build-box");
    expect(spec.config.font).toBe("Inter");
    const rules = layers(contextPanel(data)).filter((l) => l.mark?.type === "rule");
    expect(rules.map((r) => r.data.values[0].y)).toEqual([75, 90]);
    const lines = layers(contextPanel(data)).find((l) => l.mark?.type === "line");
    expect(new Set(lines.data.values.map((v: { session: string }) => v.session)).size).toBe(5);
    for (const name of panelNames) expect(panelSpec(data, name)).toHaveProperty("$schema");
    const labels = layers(fallbackPanel(data)).find((l) => l.encoding?.text?.field === "label").encoding;
    expect(labels).toBeDefined();
  });

  it("an empty store gives a panel that says so instead of an empty plot", () => {
    const data: ReportData = gatherReport(store(), config, { window: "7d", now: reportFixtureNow });
    expect(data).toMatchObject({ context: [], usage: [], alerts: [], fallback: [] });
    // biome-ignore lint/suspicious/noExplicitAny: specs are plain JSON
    const spec = reportSpec(data) as any;
    const messages = spec.vconcat.map((p: { data: { values: { message: string }[] } }) => p.data.values[0]!.message);
    expect(messages).toEqual([
      "No context figures recorded (last 7d).",
      "No turns recorded (last 7d).",
      "No turns recorded (last 7d).",
      "No alerts fired (last 7d).",
      expect.stringMatching(/^No fallbacks/),
    ]);
  });

  it("the caption sums up the panels within 40 columns", () => {
    const db = store();
    seedReportFixture(db);
    const view = reportCaption(gatherReport(db, config, { window: "7d", now: reportFixtureNow }));
    expect(view.title).toBe("Report, last 7d · build-box");
    const lines = view.sections.flatMap((s) => s.lines);
    for (const line of [view.title!, ...lines]) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toMatch(/^tokens \d+(\.\d)?M · cost \$\d+(\.\d+)?\+$/);
    expect(lines.join(" ")).toMatch(/alerts \d+ \(context \d+, /);
    expect(lines.join(" ")).toMatch(/fallbacks \d+\/\d+ \(\d+(\.\d)?%\)/);
    expect(lines.join(" ")).toContain("fullest: claude 7d3f2a10");
  });
});
