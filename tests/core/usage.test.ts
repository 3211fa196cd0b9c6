import { afterEach, describe, expect, it } from "vitest";
import { parseSince, sessionUsage, UsageWindowError, usageReport } from "../../src/core/usage.ts";
import { sessionCostLine, usageView } from "../../src/core/usage-view.ts";
import { viewToText } from "../../src/messages/view.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { session } from "../helpers/checks.ts";
import { rig } from "./setup.ts";

const now = Date.parse("2026-11-20T12:00:00Z");
const hour = 3_600_000;
const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** Five agents' sessions with turns: a priced model each, one unknown model, one old turn. */
function setup(config: Record<string, unknown> = {}) {
  const { rt } = rig(config);
  open.push(rt);
  const turns = new TurnStore(rt.db);
  const add = (platform: "claude" | "codex" | "gemini" | "opencode" | "openclaw", sessionId: string, project: string, model: string, at: number, n = 1000) => {
    const s = session({ platform, sessionId, project, model });
    rt.sessions.upsert(s);
    turns.add({ sessionUid: s.uid, ts: at, model, input: n, output: n / 10, cacheRead: n * 10, cacheWrite: n / 2, contextTokens: null });
  };
  add("claude", "c1111111-aaaa", "/home/dev/app", "claude-sonnet-4-5-20250929", now - hour);
  add("claude", "c1111111-aaaa", "/home/dev/app", "claude-sonnet-4-5-20250929", now - 2 * hour);
  add("codex", "01a209ee-6dbd", "/home/dev/api", "gpt-5.2-codex", now - 3 * hour);
  add("gemini", "7d3f0000-aaaa", "/home/dev/app", "gemini-2.5-pro", now - 4 * hour);
  add("opencode", "ses_abc123", "/home/dev/web", "anthropic/claude-opus-4-6", now - 5 * hour);
  add("openclaw", "3f1d9c2e-aaaa", "/srv/bot", "mystery-model-9000", now - 6 * hour, 2_000_000);
  add("codex", "01a209ee-6dbd", "/home/dev/api", "gpt-5.2-codex", now - 5 * 86_400_000);
  return rt;
}

describe("usage report", () => {
  it("adds tokens and cost per agent for all five agents; an unknown model is counted, not priced, and named once", () => {
    const rt = setup();
    const r = usageReport(rt.db, rt.config, { since: now - 24 * hour, by: "agent", now });
    expect(r.rows.map((x) => x.key).sort()).toEqual(["claude", "codex", "gemini", "openclaw", "opencode"]);
    const claude = r.rows.find((x) => x.key === "claude")!;
    expect(claude).toMatchObject({ turns: 2, input: 2000, output: 200, cacheRead: 20_000, cacheWrite: 1000 });
    expect(claude.cost).toBeGreaterThan(0);
    const openclaw = r.rows.find((x) => x.key === "openclaw")!;
    expect(openclaw.cost).toBeNull();
    expect(r.unpriced).toEqual([{ model: "mystery-model-9000", tokens: 2_000_000 * (1 + 0.1 + 10 + 0.5) }]);
    expect(r.total.turns).toBe(6);
    expect(r.total.unpricedTokens).toBe(openclaw.unpricedTokens);
    const week = usageReport(rt.db, rt.config, { since: now - 7 * 86_400_000, by: "agent", now });
    expect(week.total.turns).toBe(7);
  });

  it("groups by model, project and session", () => {
    const rt = setup();
    const since = now - 24 * hour;
    expect(usageReport(rt.db, rt.config, { since, by: "model", now }).rows.map((x) => x.key)).toContain("anthropic/claude-opus-4-6");
    const projects = usageReport(rt.db, rt.config, { since, by: "project", now }).rows;
    expect(projects.find((p) => p.key === "/home/dev/app")).toMatchObject({ label: "app", turns: 3 });
    const sessions = usageReport(rt.db, rt.config, { since: null, by: "session", now }).rows;
    expect(sessions.find((s) => s.label === "01a209ee-6dbd")!.turns).toBe(2);
  });

  it("config prices fill in for the catalog; subscriptions make cost read as equivalent API cost", () => {
    const rt = setup({ usage: { prices: { "mystery-model": { input: 1, output: 1 } }, subscriptions: ["claude", "openai"] } });
    const r = usageReport(rt.db, rt.config, { since: now - 24 * hour, by: "agent", now });
    expect(r.unpriced).toEqual([]);
    expect(r.rows.find((x) => x.key === "openclaw")!.cost).toBeGreaterThan(0);
    const claude = r.rows.find((x) => x.key === "claude")!;
    expect(claude.equivalentCost).toBeCloseTo(claude.cost!, 12);
    expect(r.rows.find((x) => x.key === "codex")!.equivalentCost).toBeGreaterThan(0); // provider openai
    expect(r.rows.find((x) => x.key === "gemini")!.equivalentCost).toBe(0);
    const text = viewToText(usageView(r, "last 24h", rt.config.usage.subscriptions));
    expect(text).toMatch(/~\$/);
    expect(text).toMatch(/equivalent API cost/);
  });

  it("every line of every view fits 40 columns", () => {
    const rt = setup();
    for (const by of ["agent", "model", "project", "session"] as const) {
      for (const since of [now - 24 * hour, null]) {
        const text = viewToText(usageView(usageReport(rt.db, rt.config, { since, by, now }), since ? "last 24h" : "all kept"));
        for (const line of text.split("\n")) expect(line.length, `${by}: "${line}"`).toBeLessThanOrEqual(40);
        expect(text.match(/no price for mystery-model-9000/g)).toHaveLength(1);
      }
    }
    const emptyText = viewToText(usageView(usageReport(rt.db, rt.config, { since: now + 1, by: "agent", now }), "last 24h"));
    expect(emptyText).toMatch(/No turns recorded/);
    for (const line of emptyText.split("\n")) expect(line.length).toBeLessThanOrEqual(40);
  });

  it("the model column shows no cost for an unknown model, and + where part of a row is unpriced", () => {
    const rt = setup();
    const lines = viewToText(usageView(usageReport(rt.db, rt.config, { since: null, by: "model", now }), "all kept")).split("\n");
    const at = lines.findIndex((l) => l.includes("mystery-model-9000"));
    expect(lines[at + 1]!.trimEnd()).toMatch(/ -$/);
    expect(lines.find((l) => l.trimStart().startsWith("total"))).toMatch(/\+$/);
  });

  it("session cost: a line for /session", () => {
    const rt = setup({ usage: { subscriptions: ["claude"] } });
    const uid = rt.sessions.findByPrefix("c1111111")[0]!.uid;
    expect(sessionCostLine(sessionUsage(rt.db, rt.config, uid))).toMatch(/^cost: ~\$\d+\.\d+ \(equivalent API cost\)$/);
    const unknown = rt.sessions.findByPrefix("3f1d9c2e")[0]!.uid;
    expect(sessionCostLine(sessionUsage(rt.db, rt.config, unknown))).toBe("cost: - (no price for mystery-model-9000)");
  });
});

describe("parseSince", () => {
  it("takes durations, dates and all", () => {
    expect(parseSince("24h", now)).toBe(now - 24 * hour);
    expect(parseSince("7d", now)).toBe(now - 7 * 86_400_000);
    expect(parseSince("90m", now)).toBe(now - 90 * 60_000);
    expect(parseSince("2026-11-01", now)).toBe(Date.parse("2026-11-01T00:00:00Z"));
    expect(parseSince("2026-11-01T08:30:00Z", now)).toBe(Date.parse("2026-11-01T08:30:00Z"));
    expect(parseSince("all", now)).toBeNull();
    for (const bad of ["yesterday", "7x", "2027-01-01", "2026-13-45"]) expect(() => parseSince(bad, now), bad).toThrow(UsageWindowError);
  });
});

describe("usage cells", () => {
  it("token cells are four characters at most, in the shared vocabulary where it fits", async () => {
    const { tokenCell, wrap } = await import("../../src/core/usage-view.ts");
    const cases: [number, string][] = [
      [950, "950"],
      [1_500, "1.5k"],
      [172_340, "172k"],
      [1_200_000, "1.2M"],
      [12_500_000, "13M"],
      [234_000_000, "234M"],
      [1_234_000_000, "1.2B"],
      [45_600_000_000, "46B"],
    ];
    for (const [n, text] of cases) expect(tokenCell(n)).toBe(text);
    const long = `no price for ${"x".repeat(50)} (1k tokens)`;
    const lines = wrap(long);
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines.join("")).toContain("x".repeat(50));
  });
});
