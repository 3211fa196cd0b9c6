import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runChecks } from "../../src/checks/index.ts";
import { GATEWAY_SERIES } from "../../src/observe/gateway-probe.ts";
import { gatherObservations, LOGS_KV, watchedLogs } from "../../src/observe/gather.ts";
import { runScan } from "../../src/sources/scan.ts";
import { recordSourceProblem } from "../../src/store/problems.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { WorkerStore } from "../../src/store/workers.ts";
import { checkRuntime, HOUR, MIN, session } from "../helpers/checks.ts";
import { tempDir } from "../helpers/tmp.ts";

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/quota") return res.end('{"remaining": 3}');
    // A hung gateway: the connection dies without an answer.
    if (req.url === "/readyz") return req.socket.destroy();
    res.statusCode = 503;
    res.end("starting");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A machine with something wrong in every corner, built from real files and real store rows. */
function brokenMachine() {
  const dir = tempDir();
  const ocRoot = join(dir, "openclaw");
  const logPath = join(dir, "gateway.log");
  const decisions = join(dir, "fallback_decisions.jsonl");
  writeFileSync(
    join(dir, "openclaw.json"),
    `{
    // comments and trailing commas, as people write it
    agents: { defaults: { model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5.5"] } }, list: [{ id: "main" }, { id: "family" }], },
    bindings: [{ agentId: "family", match: { channel: "telegram", peer: { kind: "group", id: "-100123" } } }],
  }`,
  );
  writeFileSync(logPath, "INFO ok\n");
  mkdirSync(ocRoot);
  const rt = checkRuntime(dir, {
    sources: { openclaw: { root: ocRoot, configPath: join(dir, "openclaw.json") } },
    checks: {
      logs: { files: [logPath] },
      gateway: { url: `http://127.0.0.1:${port}/readyz`, timeoutSeconds: 2 },
      fallbackRate: { decisionLogs: [decisions] },
      quota: {
        probes: [{ name: "minimax", url: `http://127.0.0.1:${port}/quota`, jsonPath: "remaining", minRemaining: 10 }],
        plans: [{ platform: "claude", windowHours: 5, tokenLimit: 100_000 }],
      },
    },
  });
  return { dir, rt, logPath, decisions };
}

describe("gatherObservations + runChecks on a real store", () => {
  it("finds every kind of problem", async () => {
    const { rt, logPath, decisions } = brokenMachine();
    const now = Date.now();
    const turns = new TurnStore(rt.db);
    const groupPeer = { peer: "telegram:group:-100123", accountId: null };
    rt.sessions.upsert(
      session({ agentId: "main", sessionId: "g1", kind: "group", contextTokens: 160_000, lastActivity: now - 3 * 24 * HOUR, extra: groupPeer }),
    );
    rt.sessions.upsert(
      session({
        agentId: "family",
        sessionId: "g2",
        kind: "group",
        contextTokens: 1_000,
        lastActivity: now - MIN,
        extra: { ...groupPeer, lastAssistantModel: "gpt-5.5", lastErrorReason: "rate_limit" },
      }),
    );
    rt.sessions.upsert(session({ platform: "claude", agentId: null, sessionId: "c1", lastActivity: now - MIN, contextTokens: 10_000 }));
    rt.sessions.upsert(session({ platform: "claude", agentId: null, sessionId: "old", lastActivity: now - 3 * 24 * HOUR, contextTokens: 199_000 }));
    for (let i = 0; i < 10; i++) {
      turns.add({
        sessionUid: "claude::c1",
        ts: now - (10 - i) * MIN,
        model: "claude-opus-4-6",
        input: 10,
        output: 9_000,
        cacheRead: 0,
        cacheWrite: 1_000,
        contextTokens: 10_000,
      });
    }
    recordSourceProblem(rt.kv, { platform: "openclaw", path: "/o/sessions.json", problem: "invalid JSON", since: now - HOUR });
    rt.kv.set("scan.last", { at: now - MIN, durationMs: 70_000, errors: [] });
    const series = new SeriesStore(rt.db);
    for (let i = 8; i >= 1; i--)
      series.add({ name: GATEWAY_SERIES, subject: "", ts: now - i * 30_000, value: null, ok: false, extra: { detail: "ECONNREFUSED" } });
    writeFileSync(
      decisions,
      [1, 2, 3, 4, 5, 6, 7]
        .map((i) =>
          JSON.stringify({
            time: now - i * MIN,
            worker: "w",
            original_model: "anthropic/claude-opus-4-6",
            error_type: "overloaded",
            next_model: "openai/gpt-5.5",
          }),
        )
        .join("\n") + "\n",
    );

    // First logs pass sets the baseline; the second sees the burst of errors.
    await gatherObservations(rt, now - 10 * MIN, { logs: true });
    writeFileSync(logPath, `INFO ok\n${"ERROR provider 500\n".repeat(20)}`);
    const obs = await gatherObservations(rt, now, { logs: true, probeGateway: true, probeQuota: true, env: {} });

    expect(obs.sessions.map((s) => s.uid).sort()).toEqual(["claude::c1", "openclaw:family:g2", "openclaw:main:g1"]);
    expect(obs.turns["claude::c1"]).toHaveLength(10);
    expect(obs.openclaw.config?.bindings).toHaveLength(1);
    expect(obs.gateway!.samples).toHaveLength(9);
    expect(obs.gateway!.samples.at(-1)).toMatchObject({ ok: false, answered: false });
    expect(obs.logs[0]).toMatchObject({ path: logPath, errorLines: 20, lines: 20 });
    expect(obs.quota.probes[0]).toMatchObject({ name: "minimax", remaining: 3, error: null });
    expect(obs.quota.plans[0]).toMatchObject({ platform: "claude", usedTokens: 100_100, turns: 10 });
    expect(obs.fallback.decisions.length).toBe(7);
    expect(obs.self.jobErrors).toEqual([]);

    const findings = runChecks(obs, rt.config, now);
    const got = findings.map((f) => `${f.check} ${f.subject} ${f.severity}`);
    expect(got).toEqual([
      "context session:openclaw:main:g1 critical",
      "transcript file:/o/sessions.json critical",
      "duplicates peer:telegram:group:-100123 warning",
      "duplicates session:openclaw:main:g1 warning",
      `logs log:${logPath} warning`,
      "gateway gateway critical",
      "fallback-rate model:claude-opus-4-6 warning",
      "fallback-rate session:openclaw:family:g2 warning",
      "quota quota:minimax warning",
      "quota quota:estimate:claude:5h critical",
      "self self:cycle warning",
    ]);
    expect(findings.find((f) => f.subject === "gateway")!.proposedAction).toEqual({ kind: "restart_gateway" });
    rt.close();
  });

  it("cycles that do not probe reuse the recorded results", async () => {
    const { rt, logPath } = brokenMachine();
    const now = Date.now();
    await gatherObservations(rt, now - MIN, { logs: true, probeGateway: true, probeQuota: true, env: {} });
    const obs = await gatherObservations(rt, now, {});
    expect(obs.logs.map((l) => l.path)).toEqual([logPath]);
    expect(rt.kv.get(LOGS_KV)).toEqual(obs.logs);
    expect(obs.gateway!.samples).toHaveLength(1);
    expect(obs.quota.probes.map((p) => p.remaining)).toEqual([3]);
    rt.close();
  });

  it("reads the restart history the actions engine records", async () => {
    const { rt } = brokenMachine();
    const now = Date.now();
    const add = rt.db.prepare(
      `INSERT INTO actions (kind, requested_by, nonce, created_at, expires_at, status, started_at, finished_at)
       VALUES ('restart_gateway', 'check:gateway', 'n', ?, ?, ?, ?, ?)`,
    );
    add.run(now - 50 * MIN, now - 40 * MIN, "failed", now - 49 * MIN, now - 48 * MIN);
    add.run(now - 40 * MIN, now - 30 * MIN, "failed", now - 39 * MIN, now - 38 * MIN);
    add.run(now - 30 * MIN, now - 20 * MIN, "unverified", now - 29 * MIN, now - 28 * MIN);
    add.run(now - 20 * MIN, now - 19 * MIN, "pending", null, null);
    const series = new SeriesStore(rt.db);
    for (let i = 20; i >= 1; i--) series.add({ name: GATEWAY_SERIES, subject: "", ts: now - i * MIN, value: null, ok: false, extra: null });
    const obs = await gatherObservations(rt, now, {});
    expect(obs.gateway!.restarts.map((r) => r.status)).toEqual(["expired", "unverified", "failed", "failed"]);
    const f = runChecks(obs, rt.config, now).filter((x) => x.check === "gateway");
    expect(f.map((x) => x.subject)).toEqual(["gateway:repair", "gateway"]);
    expect(f[1]!.proposedAction).toBeUndefined();
    rt.close();
  });

  it("a live worker whose handover chain is at its cap is a critical context alert; a finished one is not", async () => {
    const dir = tempDir();
    const rt = checkRuntime(dir, { handover: { maxChain: 2 } });
    const workers = new WorkerStore(rt.db);
    const now = Date.now();
    for (const id of ["w3", "w4"]) {
      workers.insert({ id, agent: "claude", model: null, workspace: "app", cwd: dir, prompt: "p", resumedFrom: null, requestedBy: null, sessionId: null, now });
      rt.kv.set(`handover:${id}`, { from: "w1", count: 2, belowSeen: true }, now);
      rt.kv.set(`handover:${id}:capped`, true, now);
    }
    workers.update("w3", { status: "running", contextTokens: 180_000 }, now);
    workers.update("w4", { status: "completed" }, now);
    const obs = await gatherObservations(rt, now, {});
    expect(obs.handoverCapped).toEqual([{ worker: "w3", chain: 2, contextTokens: 180_000, since: now }]);
    const [f] = runChecks(obs, rt.config, now).filter((x) => x.subject.startsWith("worker:"));
    expect(f).toMatchObject({ check: "context", subject: "worker:w3:handover-cap", severity: "critical" });
    expect(f!.summary).toBe("w3: handover chain at its cap (2 of 2); it will not be handed over again");
    rt.close();
  });

  it("no gateway alert on a machine without OpenClaw, unless it was ever up", async () => {
    const dir = tempDir();
    const rt = checkRuntime(dir, {
      sources: { openclaw: { root: join(dir, "none"), legacyRoots: [] } },
      checks: { gateway: { url: `http://127.0.0.1:${port}/readyz` } },
    });
    const series = new SeriesStore(rt.db);
    const now = Date.now();
    for (let i = 20; i >= 1; i--) series.add({ name: GATEWAY_SERIES, subject: "", ts: now - i * MIN, value: null, ok: false, extra: null });
    expect((await gatherObservations(rt, now, {})).gateway).toBeNull();
    expect(rt.config.checks.gateway.enabled).toBe(true);
    series.add({ name: GATEWAY_SERIES, subject: "", ts: now - 30 * MIN, value: 5, ok: true, extra: null });
    expect((await gatherObservations(rt, now, {})).gateway!.lastOkAt).toBe(now - 30 * MIN);
    rt.close();
  });

  it("a missing openclaw.json is normal, a broken one is reported", async () => {
    const { rt, dir } = brokenMachine();
    writeFileSync(join(dir, "openclaw.json"), "{ agents: ");
    const obs = await gatherObservations(rt, Date.now(), {});
    expect(obs.openclaw.config).toBeNull();
    expect(obs.openclaw.error).toMatch(/openclaw\.json: not valid JSON5/);
    expect(runChecks(obs, rt.config, Date.now()).map((f) => f.subject)).toContain("openclaw-config");
    rt.close();
    const other = checkRuntime(tempDir(), { sources: { openclaw: { configPath: join(dir, "absent.json") } } });
    expect((await gatherObservations(other, Date.now(), {})).openclaw).toEqual({ config: null, error: null, path: join(dir, "absent.json") });
    other.close();
  });

  it("real Codex rollouts, read by the real source, feed the quota check", async () => {
    const dir = tempDir();
    cpSync(new URL("../fixtures/codex", import.meta.url), join(dir, "codex"), { recursive: true });
    const off = { enabled: false };
    const rt = checkRuntime(dir, {
      sources: { codex: { root: join(dir, "codex") }, claude: off, openclaw: off, opencode: off, gemini: off },
      checks: { quota: { usedPercentWarning: 40, usedPercentCritical: 90 } },
    });
    const now = Date.parse("2026-11-20T10:30:00Z");
    await runScan(rt, undefined, now);
    const obs = await gatherObservations(rt, now, {});
    expect(obs.sessions.filter((x) => x.platform === "codex").length).toBeGreaterThan(0);
    const quota = runChecks(obs, rt.config, now).filter((f) => f.check === "quota");
    expect(quota.map((f) => [f.subject, f.severity])).toEqual([["quota:codex:primary", "warning"]]);
    expect(quota[0]!.value).toBe("42% used (official: codex session file, 29m 51s ago)");
    rt.close();
  });

  it("a real OpenClaw store, read by the real source, feeds context and selected-vs-active", async () => {
    const dir = tempDir();
    const root = join(dir, ".openclaw");
    cpSync(new URL("../fixtures/real/openclaw/.openclaw", import.meta.url), root, { recursive: true });
    // The operator has since made another model the primary: the sessions still run on fake-coder-1.
    const cfgPath = join(root, "openclaw.json");
    writeFileSync(cfgPath, readFileSync(cfgPath, "utf8").replace('"model": "fakeai/fake-coder-1"', '"model": "fakeai/fake-coder-2"'));
    const off = { enabled: false };
    const rt = checkRuntime(dir, {
      sources: { openclaw: { root, legacyRoots: [] }, claude: off, codex: off, opencode: off, gemini: off },
      checks: { context: { percentWarning: 15 }, gateway: { enabled: false } },
    });
    const now = Date.now();
    await runScan(rt, undefined, now);
    const obs = await gatherObservations(rt, now, {});
    expect(obs.openclaw.config?.primaryModel).toBe("fakeai/fake-coder-2");
    const f = runChecks(obs, rt.config, now);
    const main = obs.sessions.find((x) => x.kind === "main")!;
    const errored = obs.sessions.find((x) => x.extra.lastErrorReason)!;
    expect(f.map((x) => `${x.check} ${x.subject}`).sort()).toEqual(
      [`context session:${main.uid}`, `fallback-rate session:${main.uid}`, `fallback-rate session:${errored.uid}`].sort(),
    );
    expect(f.find((x) => x.check === "context")!.value).toBe("33k tokens (19% of 180k)");
    expect(f.find((x) => x.subject === `session:${errored.uid}` && x.check === "fallback-rate")!.summary).toMatch(
      /runs on fake-coder-1 instead of fakeai\/fake-coder-2 \(server_error\)$/,
    );
    rt.close();
  });

  it("watches the configured logs and globs plus asm's own log file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "openclaw-2026-11-23.log"), "x\n");
    writeFileSync(join(dir, "asm.log"), "x\n");
    const rt = checkRuntime(dir, { log: { file: join(dir, "asm.log") }, checks: { logs: { files: [join(dir, "openclaw-*.log")] } } });
    expect(watchedLogs(rt, Date.now())).toEqual([join(dir, "asm.log"), join(dir, "openclaw-2026-11-23.log")]);
    rt.close();
  });

  it("a broken part becomes a job error, the rest is gathered", async () => {
    const { rt } = brokenMachine();
    rt.db.exec("DROP TABLE outbox");
    const obs = await gatherObservations(rt, Date.now(), { jobErrors: [{ job: "retention", error: "disk full", at: 1 }] });
    expect(obs.self.jobErrors.map((e) => e.job)).toEqual(["retention", "observe:self"]);
    expect(obs.openclaw.config).not.toBeNull();
    rt.close();
  });
});
