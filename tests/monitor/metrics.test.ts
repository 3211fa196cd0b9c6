import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { AsmMetrics, metricNames } from "../../src/monitor/metrics.ts";
import { parseListen, serveMetrics } from "../../src/monitor/metrics-server.ts";
import { startService } from "../../src/monitor/service.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { FallbackStore } from "../../src/store/fallback.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { Capture, rig } from "../core/setup.ts";
import { session } from "../helpers/checks.ts";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function seeded(config: Record<string, unknown> = {}) {
  const t = rig({ host: { name: "box-1" }, ...config });
  closers.push(() => t.rt.close());
  const now = Date.now();
  const s = session({
    platform: "claude",
    sessionId: "7d3f2a10-1111",
    kind: "session",
    model: "claude-sonnet-4-5",
    contextTokens: 150_000,
    contextWindow: 200_000,
    state: "running",
  });
  s.lastActivity = now - 60_000;
  t.rt.sessions.upsert(s);
  const turns = new TurnStore(t.rt.db);
  turns.add({
    sessionUid: s.uid,
    ts: now - 120_000,
    model: "claude-sonnet-4-5",
    input: 1000,
    output: 1_000_000,
    cacheRead: 5000,
    cacheWrite: 0,
    contextTokens: 6000,
  });
  new AlertStore(t.rt.db).insert({
    fingerprint: "f1",
    check: "context",
    subject: s.uid,
    severity: "critical",
    status: "firing",
    summary: "context 75%",
    report: { check: "context", subject: s.uid, severity: "critical", summary: "context 75%", component: "session", action: "compact" },
    firstSeen: now,
    lastSeen: now,
    firedAt: now,
    resolvedAt: null,
    lastNotifiedAt: null,
    notifiedSeverity: null,
    ackedBy: null,
    ackedAt: null,
    missed: 0,
  });
  new FallbackStore(t.rt.db).add([
    {
      ts: now,
      worker: "w1",
      originalModel: "anthropic/claude-opus-4-6",
      errorType: "rate_limit",
      nextModel: "openai/gpt-5.2",
      source: "runner",
      dedupKey: "k1",
    },
  ]);
  return { ...t, s, turns, now };
}

const healthy = () => ({ status: "ok" as const, items: [] });

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
}

describe("metrics endpoint", () => {
  it("serves every metric over real HTTP on 127.0.0.1, with host on every series", async () => {
    const t = seeded();
    const metrics = new AsmMetrics({ config: t.rt.config, db: t.rt.db, health: healthy });
    metrics.observeCycle({ scan: { startedAt: t.now, durationMs: 120, results: [] }, durationMs: 300, checkMs: { context: 2, gateway: 1 } });
    const server = await serveMetrics(metrics, { listen: "127.0.0.1:0", health: healthy, log: t.rt.log });
    closers.push(() => server.close());
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const r = await get(`http://${server.address}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/plain/);
    for (const name of metricNames) expect(r.text, name).toContain(`# TYPE ${name} `);
    expect(r.text).toContain('asm_session_context_tokens{agent="claude",kind="session",session="7d3f2a10-1111",host="box-1"} 150000');
    expect(r.text).toContain('asm_session_context_ratio{agent="claude",kind="session",session="7d3f2a10-1111",host="box-1"} 0.75');
    expect(r.text).toContain('asm_sessions{agent="claude",state="running",host="box-1"} 1');
    expect(r.text).toContain('asm_alerts_firing{check="context",severity="critical",host="box-1"} 1');
    expect(r.text).toContain('asm_outbox_backlog{host="box-1"} 0');
    expect(r.text).toContain('asm_tokens_total{agent="claude",model="claude-sonnet-4-5",type="output",host="box-1"} 1000000');
    expect(r.text).toMatch(/asm_cost_usd_total\{agent="claude",model="claude-sonnet-4-5",billing="api",host="box-1"\} 15\.00/);
    expect(r.text).toContain('asm_fallback_decisions_total{model="anthropic/claude-opus-4-6",class="rate_limit",host="box-1"} 1');
    expect(r.text).toContain('asm_check_duration_seconds_count{host="box-1",check="context"} 1');
    expect(r.text).toContain('asm_scan_duration_seconds_sum{host="box-1"} 0.12');
    expect(r.text).toContain('asm_health_ok{host="box-1"} 1');
    for (const line of r.text.split("\n").filter((l) => l && !l.startsWith("#"))) expect(line).toContain('host="box-1"');
    expect((await get(`http://${server.address}/nope`)).status).toBe(404);
  });

  it("counters only grow: new turns add, a transcript read again from 0 does not count twice", async () => {
    const t = seeded();
    const metrics = new AsmMetrics({ config: t.rt.config, db: t.rt.db, health: healthy });
    const output = async () =>
      Number(/asm_tokens_total\{agent="claude",model="claude-sonnet-4-5",type="output",host="box-1"\} (\d+)/.exec(await metrics.text())![1]);
    expect(await output()).toBe(1_000_000);
    const again = t.turns.forSession(t.s.uid);
    t.turns.deleteSession(t.s.uid);
    t.turns.addMany(t.s.uid, again);
    expect(await output()).toBe(1_000_000);
    t.turns.add({ sessionUid: t.s.uid, ts: t.now, model: "claude-sonnet-4-5", input: 1, output: 5, cacheRead: 0, cacheWrite: 0, contextTokens: null });
    expect(await output()).toBe(1_000_005);
  });

  it("asks for the bearer token when one is set; /healthz answers 200 or 503 like asm health", async () => {
    const t = seeded();
    let status: "ok" | "degraded" = "ok";
    const health = () => ({ status, items: [{ name: "scan", status: status === "ok" ? ("ok" as const) : ("degraded" as const), detail: "secret detail" }] });
    const metrics = new AsmMetrics({ config: t.rt.config, db: t.rt.db, health });
    const token = "s3cret-token-value";
    const server = await serveMetrics(metrics, { listen: "127.0.0.1:0", token, health, log: t.rt.log });
    closers.push(() => server.close());
    const base = `http://${server.address}`;
    expect((await get(`${base}/metrics`)).status).toBe(401);
    expect((await get(`${base}/metrics`, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await get(`${base}/metrics`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, text: "ok\n" });
    status = "degraded";
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, text: "degraded: scan\n" });
    expect(t.log.text).toContain("metrics endpoint listening");
    expect(t.log.text).not.toContain(token);
  });

  it("parses metrics.listen", () => {
    expect(parseListen("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListen("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(() => parseListen("9464")).toThrow(/host:port/);
    expect(() => parseListen("localhost:99999")).toThrow(/host:port/);
  });

  it("asm run starts it when metrics.listen is set, feeds the cycle histograms, and stops it", async () => {
    const t = seeded({ metrics: { listen: "127.0.0.1:0" } });
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const service = await startService(t.rt, { consoleIn: input, consoleOut: new Capture(), metricsToken: null });
    let stopped = false;
    closers.push(async () => {
      if (!stopped) await service.stop();
    });
    expect(service.metrics).not.toBeNull();
    const url = `http://${service.metrics!.address}/metrics`;
    const deadline = Date.now() + 15_000;
    let text = "";
    while (Date.now() < deadline) {
      text = (await get(url)).text;
      if (/asm_cycle_duration_seconds_count\{host="box-1"\} [1-9]/.test(text)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toMatch(/asm_cycle_duration_seconds_count\{host="box-1"\} [1-9]/);
    expect(text).toMatch(/asm_check_duration_seconds_count\{host="box-1",check="context"\} [1-9]/);
    expect(text).toMatch(/asm_scan_duration_seconds_count\{host="box-1"\} [1-9]/);
    await service.stop();
    stopped = true;
    await expect(fetch(url)).rejects.toThrow();
  });

  it("is off unless metrics.listen is set", async () => {
    const t = seeded();
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const service = await startService(t.rt, { consoleIn: input, consoleOut: new Capture(), monitorAtStart: false });
    closers.push(() => service.stop());
    expect(service.metrics).toBeNull();
  });
});
