import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { healthInputsOf, healthReport } from "../../src/core/health.ts";
import { gatewayWatch } from "../../src/observe/gateway-target.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { recordSourceProblem } from "../../src/store/problems.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { rig, session, type TestRig } from "./setup.ts";

const rigs: TestRig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.rt.close();
});

/** A gateway probe set in config (checks.gateway.url): without one, and no local gateway in openclaw.json, it is not watched. */
const gatewayUrl = "http://127.0.0.1:18789/readyz";

const item = (report: ReturnType<typeof healthReport>, name: string) => report.items.find((i) => i.name === name);

describe("healthReport", () => {
  it("is ok on a fresh store with a recent scan and a gateway that answers", () => {
    const t = rig({ checks: { quota: { probes: [{ name: "minimax", url: "http://127.0.0.1:9/q" }] } } }, gatewayUrl);
    rigs.push(t);
    const now = Date.now();
    mkdirSync(t.rt.config.sources.claude.root, { recursive: true });
    t.rt.kv.set("scan.last", { at: now - 1000, durationMs: 12, errors: [] });
    const series = new SeriesStore(t.rt.db);
    series.add({ name: "gateway", subject: "", ts: now - 2000, value: 3, ok: true, extra: { detail: "HTTP 200" } });
    series.add({ name: "quota", subject: "minimax", ts: now - 2000, value: 5000, ok: true, extra: { minRemaining: 100, error: null } });
    const r = healthReport({ ...healthInputsOf(t.rt), outboxBacklog: () => ({ pending: 2, oldestCreatedAt: now - 5000 }), startedAt: now - 60_000 }, now);
    expect(r.status).toBe("ok");
    expect(item(r, "gateway")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^up \(HTTP 200\) 2s ago$/) });
    expect(item(r, "quota minimax")).toMatchObject({ status: "ok", detail: expect.stringContaining("5000 remaining (minimum 100)") });
    expect(item(r, "source claude")).toMatchObject({ status: "ok" });
    expect(item(r, "source codex")).toMatchObject({ status: "info", detail: expect.stringContaining("(not present)") });
    expect(item(r, "outbox")).toMatchObject({ status: "ok", detail: "2 unsent, oldest 5s" });
    expect(item(r, "self")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^up 60s, pid \d+/) });
  });

  it("is degraded when the gateway is down, a scan is stale, a source has a problem, quota is low or the outbox backs up", () => {
    const t = rig({}, gatewayUrl);
    rigs.push(t);
    const now = Date.now();
    t.rt.kv.set("scan.last", { at: now - 3_600_000, durationMs: 12, errors: [] });
    const storePath = join(t.rt.config.sources.openclaw.root, "agents", "main", "sessions", "sessions.json");
    recordSourceProblem(t.rt.kv, { platform: "openclaw", path: storePath, problem: "invalid JSON at 1:17", since: now - 1000 });
    const series = new SeriesStore(t.rt.db);
    series.add({ name: "gateway", subject: "", ts: now - 600_000, value: 3, ok: true, extra: { detail: "HTTP 200" } });
    series.add({ name: "gateway", subject: "", ts: now - 1000, value: null, ok: false, extra: { detail: "ECONNREFUSED" } });
    series.add({ name: "quota", subject: "minimax", ts: now - 1000, value: 12, ok: true, extra: { minRemaining: 100, error: null } });
    const r = healthReport({ ...healthInputsOf(t.rt), outboxBacklog: () => ({ pending: 500, oldestCreatedAt: now - 60_000 }) }, now);
    expect(r.status).toBe("degraded");
    expect(item(r, "scan")).toMatchObject({ status: "degraded", detail: expect.stringContaining("(stale)") });
    expect(item(r, "gateway")).toMatchObject({ status: "degraded", detail: "DOWN (ECONNREFUSED) 1s ago; last up 10m ago" });
    expect(item(r, "source openclaw")).toMatchObject({ status: "degraded", detail: expect.stringContaining("invalid JSON at 1:17") });
    expect(item(r, "quota minimax")).toMatchObject({ status: "degraded" });
    expect(item(r, "outbox")).toMatchObject({ status: "degraded", detail: "500 unsent, oldest 60s" });
  });

  it("an old gateway reading is stale, not ok (asm run stopped probing)", () => {
    const t = rig({}, gatewayUrl);
    rigs.push(t);
    const now = Date.now();
    const series = new SeriesStore(t.rt.db);
    series.add({ name: "gateway", subject: "", ts: now - 10 * 60_000, value: 3, ok: true, extra: { detail: "HTTP 200" } });
    const r = healthReport(healthInputsOf(t.rt), now);
    expect(item(r, "gateway")).toMatchObject({ status: "degraded", detail: "up (HTTP 200) 10m ago (stale)" });
    expect(r.status).toBe("degraded");
  });

  it("a gateway never seen up is absent on a machine without OpenClaw, and down on one with it", () => {
    const t = rig({}, gatewayUrl);
    rigs.push(t);
    const now = Date.now();
    new SeriesStore(t.rt.db).add({ name: "gateway", subject: "", ts: now - 1000, value: null, ok: false, extra: { detail: "ECONNREFUSED" } });
    const without = healthReport(healthInputsOf(t.rt), now);
    expect(item(without, "gateway")).toMatchObject({ status: "info", detail: expect.stringContaining("no OpenClaw here") });
    expect(without.status).toBe("ok");
    mkdirSync(t.rt.config.sources.openclaw.root, { recursive: true });
    const withIt = healthReport(healthInputsOf(t.rt), now);
    expect(item(withIt, "gateway")).toMatchObject({ status: "degraded", detail: "DOWN (ECONNREFUSED) 1s ago; never seen up" });
    expect(withIt.status).toBe("degraded");
  });

  it("no gateway alarms on a machine without one: OpenClaw present, no gateway in openclaw.json, no checks.gateway.url", () => {
    const t = rig();
    rigs.push(t);
    const now = Date.now();
    mkdirSync(t.rt.config.sources.openclaw.root, { recursive: true });
    writeFileSync(join(t.rt.config.sources.openclaw.root, "openclaw.json"), JSON.stringify({ agents: { defaults: { model: "a/b" } } }));
    t.rt.kv.set("scan.last", { at: now - 1000, durationMs: 12, errors: [] });
    const r = healthReport(healthInputsOf(t.rt), now);
    expect(item(r, "gateway")).toMatchObject({
      status: "info",
      detail: expect.stringMatching(/^not watched: .*openclaw\.json does not say a gateway runs here .*set checks\.gateway\.url/),
    });
    expect(r.status).toBe("ok");
    expect(gatewayWatch(t.rt.config).target).toBeNull();
    // openclaw.json saying a gateway runs here (mode local, its port) turns watching on.
    writeFileSync(join(t.rt.config.sources.openclaw.root, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port: 19001 } }));
    expect(gatewayWatch(t.rt.config)).toEqual({ target: { url: "http://127.0.0.1:19001/readyz" }, from: "openclaw.json" });
    expect(item(healthReport(healthInputsOf(t.rt), now), "gateway")).toMatchObject({ status: "info", detail: "not probed yet" });
    writeFileSync(join(t.rt.config.sources.openclaw.root, "openclaw.json"), "{ gateway: { mode: 'remote' } }");
    expect(gatewayWatch(t.rt.config).target).toBeNull();
  });

  it("summarises open alerts by severity (not ok while a critical one fires) and shows the quota figures agents record", () => {
    const t = rig({}, gatewayUrl);
    rigs.push(t);
    const now = Date.now();
    t.rt.kv.set("scan.last", { at: now - 1000, durationMs: 12, errors: [] });
    expect(item(healthReport(healthInputsOf(t.rt), now), "alerts")).toMatchObject({ status: "ok", detail: "none open" });
    const alerts = new AlertStore(t.rt.db);
    const open = (subject: string, severity: "warning" | "critical", summary: string) =>
      alerts.insert({
        fingerprint: subject,
        check: "context",
        subject,
        severity,
        status: "firing",
        summary,
        report: { check: "context", subject, severity, summary, component: subject, action: "compact" },
        firstSeen: now - 60_000,
        lastSeen: now,
        firedAt: now - 60_000,
        resolvedAt: null,
        lastNotifiedAt: now - 60_000,
        notifiedSeverity: severity,
        ackedBy: null,
        ackedAt: null,
        missed: 0,
      });
    open("a", "warning", "app at 82%");
    open("b", "critical", "api at 97%");
    open("c", "warning", "docs at 85%");
    t.rt.sessions.upsert(
      session(
        {
          platform: "codex",
          sessionId: "01a209ee-6dbd-7cb3-b17e-2c3ae8fb4e22",
          extra: {
            rateLimits: { primary: { usedPercent: 42, windowMinutes: 300, resetsAt: Math.floor((now + 7_200_000) / 1000) }, observedAt: now - 180_000 },
          },
        },
        now,
      ),
    );
    const r = healthReport(healthInputsOf(t.rt), now);
    expect(item(r, "alerts")).toMatchObject({ status: "degraded", detail: "1 critical, 2 warning open; worst: api at 97%" });
    expect(r.status).toBe("degraded");
    expect(item(r, "quota codex primary")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/^42% used \(5h window\), resets in (1h 59m|2h), recorded 3m ago$/),
    });
  });
});
