import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { blankRecord } from "../../src/agents/session.ts";
import { alertStores } from "../../src/alerts/lifecycle.ts";
import { runRetention, startMonitoring } from "../../src/monitor/monitor.ts";
import { FallbackStore } from "../../src/store/fallback.ts";
import { openRuntime, type Runtime } from "../../src/store/runtime.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { ViewRecorder } from "../helpers/recorder.ts";
import { tempDir } from "../helpers/tmp.ts";

let rt: Runtime | undefined;
afterEach(() => rt?.close());

function runtime(configJson: unknown): { rt: Runtime; home: string } {
  const home = tempDir();
  const config = join(home, "asm.json");
  writeFileSync(config, JSON.stringify(configJson));
  rt = openRuntime({ configPath: config, env: { HOME: home, ASM_DB: join(home, "asm.db"), ASM_LOG_LEVEL: "silent" }, logStream: new PassThrough() });
  return { rt, home };
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("monitor", () => {
  it("runs scan → checks → alerts → outbox → transport at start, and stop() waits for it", async () => {
    const { rt, home } = runtime({ checks: { transcript: { maxBytes: 1000, sizePlatforms: ["claude"] }, gateway: { enabled: false } } });
    const ids = writeClaudeSessions(home, 3);
    const transport = new ViewRecorder();
    const findings: number[] = [];
    const m = startMonitoring(rt, { transports: [transport], onFindings: (f) => void findings.push(f.length) });
    await until(() => transport.sent.filter((v) => v.title?.includes("transcript is")).length === 3);
    await m.stop();
    for (const id of ids) expect(transport.sent.some((v) => v.sections[0]!.lines.includes(`Component: session claude ${id.slice(0, 8)}`))).toBe(true);
    expect(findings[0]).toBeGreaterThanOrEqual(3);
    expect(m.stores.outbox.backlog().pending).toBe(0);
    expect(m.scheduler.currentFailures()).toEqual([]);
  });

  it("a job that throws raises a self alert in the feed at once, and the process carries on", async () => {
    // An invalid error pattern makes every logs pass throw (config allows any string here).
    const { rt } = runtime({ checks: { logs: { errorPatterns: ["(unclosed"] }, gateway: { enabled: false } } });
    const transport = new ViewRecorder();
    const m = startMonitoring(rt, { transports: [transport] });
    await until(() => transport.sent.some((v) => v.title?.includes('scheduled job "logs" failed')));
    // The cycle at start may still be scanning (in its thread): a second one would be skipped, not run.
    await until(() => !m.scheduler.isRunning("cycle"));
    expect(await m.scheduler.runNow("cycle")).toBe("ran");
    await m.stop();
    const alert = m.stores.alerts.open().find((a) => a.subject === "self:job:logs");
    expect(alert).toMatchObject({ check: "self", status: "firing", severity: "warning" });
    expect(alert!.summary).toMatch(/Invalid regular expression/);
    expect(m.scheduler.currentFailures().map((f) => f.job)).toEqual(["logs"]);
  });

  it("retention drops what is past its days and keeps the rest", () => {
    const { rt } = runtime({ monitor: { retentionDays: { resolvedAlerts: 30, deliveredOutbox: 7, series: 14, turns: 20, fallbackDecisions: 10 } } });
    const day = 86_400_000;
    const now = Date.UTC(2026, 10, 23);
    const insertAlert = (fp: string, status: string, resolvedAt: number | null) =>
      Number(
        rt.db
          .prepare(
            `INSERT INTO alerts(fingerprint, check_name, subject, severity, status, summary, first_seen, last_seen, resolved_at)
             VALUES (?, 'context', ?, 'warning', ?, 's', 0, 0, ?)`,
          )
          .run(fp, fp, status, resolvedAt).lastInsertRowid,
      );
    const old = insertAlert("old", "resolved", now - 31 * day);
    const recent = insertAlert("recent", "resolved", now - 29 * day);
    const open = insertAlert("open", "firing", null);
    const outbox = (alertId: number, status: string, createdAt: number) =>
      rt.db
        .prepare("INSERT INTO outbox(alert_id, alert_ids, transport, kind, payload, status, created_at) VALUES (?, ?, 'console', 'fire', '{}', ?, ?)")
        .run(alertId, `[${alertId}]`, status, createdAt);
    outbox(open, "sent", now - 8 * day);
    outbox(open, "pending", now - 8 * day);
    outbox(recent, "sent", now - 6 * day);
    const series = new SeriesStore(rt.db);
    series.add({ name: "gateway", subject: "", ts: now - 15 * day, value: 1, ok: true, extra: null });
    series.add({ name: "gateway", subject: "", ts: now - 13 * day, value: 1, ok: true, extra: null });
    const turn = (uid: string, ts: number) => ({ sessionUid: uid, ts, model: "m", input: 1, output: 1, cacheRead: 0, cacheWrite: 0, contextTokens: null });
    const session = blankRecord("codex", null, "s1", now);
    new SessionStore(rt.db).upsert(session);
    const turns = new TurnStore(rt.db);
    turns.add(turn(session.uid, now - 21 * day));
    turns.add(turn(session.uid, now - 19 * day));
    const fallback = new FallbackStore(rt.db);
    const decision = (ts: number) => ({ ts, worker: "w", originalModel: "a", errorType: null, nextModel: "b", source: "log:x", dedupKey: `k${ts}` });
    fallback.add([decision(now - 11 * day), decision(now - 9 * day)]);
    const stores = alertStores(rt.db);
    stores.silences.add({ check: "context", endsAt: now - 31 * day, startsAt: now - 32 * day, createdBy: "console", now: now - 32 * day });
    stores.silences.add({ check: "context", endsAt: now + day, createdBy: "console", now });
    expect(runRetention(rt, stores, now)).toEqual({ alerts: 1, outbox: 1, silences: 1, series: 1, turns: 1, fallbackDecisions: 1 });
    expect(stores.alerts.get(old)).toBeUndefined();
    expect(stores.alerts.get(recent)?.status).toBe("resolved");
    expect(stores.alerts.get(open)?.status).toBe("firing");
    expect(stores.outbox.all().map((r) => `${r.alertId}:${r.status}`)).toEqual([`${open}:pending`, `${recent}:sent`]);
    expect(series.since("gateway", "", 0)).toHaveLength(1);
    expect(turns.forSession(session.uid).map((t) => t.ts)).toEqual([now - 19 * day]);
    expect(fallback.since(0).map((d) => d.ts)).toEqual([now - 9 * day]);
    expect(runRetention(rt, stores, now), "idempotent").toEqual({ alerts: 0, outbox: 0, silences: 0, series: 0, turns: 0, fallbackDecisions: 0 });
  });
});
