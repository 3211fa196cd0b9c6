import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ProtocolIO, type RunRequest, UnsafeArgumentError, type WorkerEvent } from "../../../src/agents/driver.ts";
import { gatewayBridgePath, OpenclawGatewaySession, openclawDriverFor, openclawGatewayDriverFor } from "../../../src/agents/openclaw/gateway.ts";
import { localGateway, openclawGatewayEndpoint } from "../../../src/agents/openclaw/gateway-endpoint.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { eventsOf, textOf as joinedText } from "../../helpers/events.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * The gateway session replayed against the real OpenClaw 2026.9.6 gateway exchanges (tests/fixtures/streams/
 * openclaw/gateway-*, recorded by openclaw-gateway-driver.ts with this same session through the bridge): the
 * bridge's stdout lines go to `onLine` at their recorded times (fake timers), the driver's notes are repeated,
 * and every request the session writes must be the one that went to the real gateway (the idempotency key, a
 * fresh UUID per turn, aside).
 */

const dir = new URL("../../fixtures/streams/openclaw/", import.meta.url);
type Entry = { ms: number; dir: "stdin" | "stdout" | "stderr" | "driver"; line: string };
const exchange = (s: string): Entry[] =>
  readFileSync(new URL(`${s}.exchange.jsonl`, dir), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);
const meta = (s: string) => JSON.parse(readFileSync(new URL(`${s}.meta.json`, dir), "utf8")) as { sessionId: string };

interface Replay {
  writes: Record<string, unknown>[];
  stdin: Record<string, unknown>[];
  events: WorkerEvent[];
  fails: { reason: string; message: string }[];
}

/** Drops what differs on every run: the idempotency key (the recorded one is the run id in the gateway's frames). */
const norm = (frame: Record<string, unknown>) => {
  const params = { ...(frame.params as Record<string, unknown>) };
  if ("idempotencyKey" in params) params.idempotencyKey = "<key>";
  return { ...frame, params };
};

function replay(scenario: string, entries = exchange(scenario)): Replay {
  const out: Replay = { writes: [], stdin: [], events: [], fails: [] };
  const io: ProtocolIO = {
    write: (l) => out.writes.push(norm(JSON.parse(l))),
    emit: (evs) => out.events.push(...evs),
    fail: (reason, message) => out.fails.push({ reason, message }),
    debug: () => {},
  };
  const session = new OpenclawGatewaySession(io, meta(scenario).sessionId, null);
  let now = 0;
  for (const e of entries) {
    vi.advanceTimersByTime(Math.max(0, e.ms - now));
    now = e.ms;
    if (e.dir === "stdin") out.stdin.push(norm(JSON.parse(e.line)));
    else if (e.dir === "stdout") session.onLine(e.line);
    else if (e.dir === "driver") {
      if (e.line.startsWith("turn: ")) session.turn(e.line.slice(6));
      else if (e.line.startsWith("reply: ")) {
        const p = out.events.findLast((x) => x.type === "permission");
        if (p?.type === "permission") session.reply(p.requestId, { kind: "permission", allow: e.line === "reply: allow" });
      } else if (e.line === "interrupt") session.interrupt();
      else if (e.line === "close") session.close();
    }
  }
  return out;
}

const of = <T extends WorkerEvent["type"]>(r: Replay, type: T) => eventsOf(r.events, type);
const textOf = (r: Replay) => joinedText(r.events);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("OpenclawGatewaySession against the recorded gateway", () => {
  it("a plain turn: agent + agent.wait, streamed text, usage from the run's meta, one turn_end", () => {
    const r = replay("gateway-success");
    expect(r.writes).toEqual(r.stdin);
    expect(r.writes.map((w) => w.method)).toEqual(["agent", "agent.wait"]);
    expect(r.writes[0]!.params).toEqual({ message: "Hello, summarize this project", sessionId: "fixture-gateway-1", idempotencyKey: "<key>" });
    expect(r.events[0]).toEqual({ type: "init", sessionId: "fixture-gateway-1", model: null, version: null, agentId: "main" });
    // The first model attempt names the model (a second init with it).
    expect(of(r, "init").map((e) => e.model)).toEqual([null, "fakeai/fake-coder-1"]);
    expect(textOf(r)).toMatch(/^Fake reply #\d+: you said .*Hello, summarize this project.*Nothing else to do here\.$/);
    expect(of(r, "usage")).toEqual([{ type: "usage", input: 4474, output: 40, cacheRead: 27392, cacheWrite: 0, contextTokens: 31866, contextWindow: 180000 }]);
    const end = of(r, "turn_end");
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({ isError: false, interrupted: false, numTurns: 1, costUsd: 0 });
    expect(end[0]!.result).toBe(textOf(r));
    expect(r.events.at(-1)!.type).toBe("turn_end");
    expect(of(r, "model_switch")).toEqual([]);
    expect(r.fails).toEqual([]);
  });

  it("ignores other sessions' runs that every operator client is sent (the interrupt recording has one)", () => {
    const entries = exchange("gateway-interrupt");
    expect(entries.some((e) => e.dir === "stdout" && e.line.includes('"sessionKey":"agent:main:explicit:fixture-gateway-1"'))).toBe(true);
    const r = replay("gateway-interrupt");
    expect(textOf(r)).not.toContain("summarize");
  });

  it("resume: the same session id continues the session", () => {
    const r = replay("gateway-resume");
    expect(r.writes).toEqual(r.stdin);
    expect(r.writes[0]!.params).toMatchObject({ sessionId: "fixture-gateway-1" });
    expect(textOf(r)).toContain("Hello again");
    expect(of(r, "turn_end")[0]).toMatchObject({ isError: false });
  });

  it("a tool call is one tool event with the gateway's summary of the command", () => {
    const r = replay("gateway-tool");
    expect(r.writes).toEqual(r.stdin);
    expect(of(r, "tool")).toEqual([{ type: "tool", name: "exec", detail: "print text → show README.md" }]);
    expect(of(r, "permission")).toEqual([]); // OpenClaw's default exec policy (ask: off) never asked
    expect(of(r, "turn_end")[0]).toMatchObject({ result: "The README says this is a tiny fixture project. Done.", numTurns: 2 });
  });

  it("an exec approval of the run (tools.exec.mode ask) is a permission with the command; allowed → allow-once", () => {
    const r = replay("gateway-tool-allow");
    expect(r.writes).toEqual(r.stdin);
    expect(r.writes.map((w) => w.method)).toEqual(["agent", "agent.wait", "exec.approval.resolve"]);
    const perms = of(r, "permission");
    expect(perms).toHaveLength(1);
    expect(perms[0]).toMatchObject({ tool: "exec", detail: "touch tool-ran.txt", reason: null, action: { kind: "command", command: "touch tool-ran.txt" } });
    expect(r.writes[2]!.params).toEqual({ id: perms[0]!.requestId, decision: "allow-once" });
    expect(of(r, "request_cancelled")).toEqual([]); // our own answer's `resolved` event is not a withdrawal
    expect(of(r, "turn_end")).toEqual([expect.objectContaining({ isError: false, denied: [] })]);
  });

  it("denied → deny, and the turn reports exec as denied", () => {
    const r = replay("gateway-tool-deny");
    expect(r.writes).toEqual(r.stdin);
    expect(r.writes[2]!.params).toEqual({ id: of(r, "permission")[0]!.requestId, decision: "deny" });
    expect(of(r, "turn_end")).toEqual([expect.objectContaining({ isError: false, denied: ["exec"] })]);
  });

  it("OpenClaw's own failover (primary provider down): its retries are notices, the switch is said when it happens", () => {
    const r = replay("gateway-failover");
    expect(r.writes).toEqual(r.stdin);
    const sw = r.events.findIndex((e) => e.type === "model_switch");
    expect(of(r, "model_switch")).toEqual([{ type: "model_switch", from: "deadai/dead-coder-1", to: "fakeai/fake-coder-1", reason: "timeout" }]);
    // before the reply and the final meta, and said once although the meta's trace repeats it
    expect(sw).toBeLessThan(r.events.findIndex((e) => e.type === "text"));
    expect(of(r, "error").every((e) => e.willRetry && e.reason === "timeout")).toBe(true);
    expect(of(r, "turn_end")).toEqual([expect.objectContaining({ isError: false })]);
  });

  it("interrupt: sessions.abort for the run, no error for the abort, turn_end interrupted", () => {
    const r = replay("gateway-interrupt");
    expect(r.writes).toEqual(r.stdin);
    expect(r.writes.map((w) => w.method)).toEqual(["agent", "agent.wait", "sessions.abort"]);
    const accepted = exchange("gateway-interrupt").find((e) => e.line.includes('"status":"accepted"'))!;
    const runId = (JSON.parse(accepted.line) as { payload: { runId: string } }).payload.runId;
    expect(r.writes[2]!.params).toEqual({ runId, key: "agent:main:explicit:fixture-gateway-int" });
    expect(of(r, "error")).toEqual([]);
    expect(of(r, "turn_end")).toEqual([expect.objectContaining({ isError: false, interrupted: true })]);
  });

  it("an interrupt before the gateway named the run aborts it as soon as it is accepted", () => {
    const entries = exchange("gateway-success");
    const at = entries.findIndex((e) => e.dir === "stdout" && e.line.includes('"status":"accepted"'));
    const withEarly = [...entries.slice(0, at), { ms: entries[at]!.ms, dir: "driver" as const, line: "interrupt" }, ...entries.slice(at)];
    const r = replay("gateway-success", withEarly);
    expect(r.writes.map((w) => w.method)).toEqual(["agent", "sessions.abort"]);
  });

  it("a 429: OpenClaw's own retries are notices (willRetry), then one rate_limit error and a failed turn", () => {
    const r = replay("gateway-fail429");
    expect(r.writes).toEqual(r.stdin);
    // agent.wait timed out (60 s slices) while OpenClaw retried for minutes: asked again each time.
    expect(r.writes.filter((w) => w.method === "agent.wait").length).toBeGreaterThan(1);
    const errors = of(r, "error");
    const retries = errors.filter((e) => e.willRetry);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatchObject({ reason: "rate_limit", message: expect.stringMatching(/^Retrying… \d+\/10$/) });
    expect(errors.filter((e) => !e.willRetry)).toEqual([
      expect.objectContaining({ reason: "rate_limit", message: "⚠️ Rate limit reached; Retry-After: 1 seconds" }),
    ]);
    expect(of(r, "turn_end")).toEqual([expect.objectContaining({ isError: true, result: "⚠️ Rate limit reached; Retry-After: 1 seconds" })]);
  });

  it("a refused token fails the session as auth, naming the gateway's reason", () => {
    const r = replay("gateway-badtoken");
    expect(r.writes).toEqual([]);
    expect(r.fails).toEqual([{ reason: "auth", message: expect.stringContaining("gateway token mismatch") }]);
  });

  it("holds the first turn until the bridge is ready, and a turn sent during a run until its end", () => {
    const out: string[] = [];
    const s = new OpenclawGatewaySession({ write: (l) => out.push(l), emit: () => {}, fail: () => {}, debug: () => {} }, "s1", null);
    s.turn("one");
    expect(out).toEqual([]);
    s.onLine(JSON.stringify({ bridge: "ready", scopes: [] }));
    s.turn("two");
    expect(out.map((l) => JSON.parse(l).params.message)).toEqual(["one"]);
  });
});

describe("OpenClaw's own failover, as it happens", () => {
  const run = (lines: object[]) => {
    const events: WorkerEvent[] = [];
    const writes: string[] = [];
    const s = new OpenclawGatewaySession({ write: (l) => writes.push(l), emit: (e) => events.push(...e), fail: () => {}, debug: () => {} }, "s1", null);
    s.onLine(JSON.stringify({ bridge: "ready" }));
    s.turn("hi");
    const id = JSON.parse(writes[0]!).id;
    s.onLine(JSON.stringify({ type: "res", id, ok: true, payload: { runId: "r1", agentId: "main", status: "accepted", acceptedAt: 1 } }));
    for (const l of lines) s.onLine(JSON.stringify(l));
    return { events, id, writes, s };
  };
  const ev = (stream: string, data: object) => ({
    type: "event",
    event: "agent",
    payload: { runId: "r1", sessionKey: "agent:main:explicit:s1", stream, data },
  });

  it("a second model in one run is a model_switch when it starts; the final meta does not repeat it", () => {
    const { events } = run([
      ev("lifecycle", { phase: "model", provider: "anthropic", model: "claude-opus-4-6" }),
      ev("lifecycle", { phase: "model", provider: "openai", model: "gpt-5.2" }),
      {
        type: "res",
        id: "agent-1",
        ok: true,
        payload: {
          runId: "r1",
          status: "ok",
          result: {
            payloads: [{ text: "done" }],
            meta: {
              executionTrace: {
                fallbackUsed: true,
                winnerProvider: "openai",
                winnerModel: "gpt-5.2",
                attempts: [
                  { provider: "anthropic", model: "claude-opus-4-6", result: "error", reason: "rate_limit" },
                  { provider: "openai", model: "gpt-5.2", result: "success" },
                ],
              },
            },
          },
        },
      },
    ]);
    expect(events.filter((e) => e.type === "model_switch")).toEqual([
      { type: "model_switch", from: "anthropic/claude-opus-4-6", to: "openai/gpt-5.2", reason: "fallback" },
    ]);
    const sw = events.findIndex((e) => e.type === "model_switch");
    expect(sw).toBeLessThan(events.findIndex((e) => e.type === "turn_end"));
    expect(events.find((e) => e.type === "text")).toEqual({ type: "text", text: "done" }); // nothing streamed: the payload's text
  });

  it("fallback notices (lifecycle fallback) and a trace-only failover in the final meta", () => {
    const a = run([
      ev("lifecycle", {
        phase: "fallback",
        selectedProvider: "anthropic",
        selectedModel: "opus",
        activeProvider: "openai",
        activeModel: "gpt",
        reasonSummary: "rate limit",
      }),
    ]);
    expect(a.events.filter((e) => e.type === "model_switch")).toEqual([
      { type: "model_switch", from: "anthropic/opus", to: "openai/gpt", reason: "rate limit" },
    ]);
    const b = run([
      {
        type: "res",
        id: "agent-1",
        ok: true,
        payload: {
          status: "ok",
          result: {
            payloads: [],
            meta: { agentMeta: { fallbackNoticeSelectedModel: "a/x", fallbackNoticeActiveModel: "b/y", fallbackNoticeReason: "overloaded" } },
          },
        },
      },
    ]);
    expect(b.events.filter((e) => e.type === "model_switch")).toEqual([{ type: "model_switch", from: "a/x", to: "b/y", reason: "overloaded" }]);
  });

  it("a lifecycle error is classified; a refused agent request ends the turn as an error", () => {
    const { events } = run([ev("lifecycle", { phase: "error", error: "provider rate limited (HTTP 429)" })]);
    expect(events.find((e) => e.type === "error")).toMatchObject({ reason: "rate_limit", status: 429 });
    const writes: string[] = [];
    const got: WorkerEvent[] = [];
    const s = new OpenclawGatewaySession({ write: (l) => writes.push(l), emit: (e) => got.push(...e), fail: () => {}, debug: () => {} }, "s1", null);
    s.onLine(JSON.stringify({ bridge: "ready" }));
    s.turn("hi");
    s.onLine(JSON.stringify({ type: "res", id: JSON.parse(writes[0]!).id, ok: false, error: { code: "FORBIDDEN", message: "missing scope: operator.write" } }));
    expect(got).toEqual([
      expect.objectContaining({ type: "error", reason: "auth" }),
      expect.objectContaining({ type: "turn_end", isError: true, result: "missing scope: operator.write" }),
    ]);
  });

  it("agent.wait: asks again on timeout; a terminal wait ends the turn when the final response never comes", () => {
    const { events, writes, s } = run([]);
    const waits = () => writes.map((l) => JSON.parse(l)).filter((w) => w.method === "agent.wait");
    expect(waits()).toHaveLength(1);
    s.onLine(JSON.stringify({ type: "res", id: waits()[0].id, ok: true, payload: { runId: "r1", status: "timeout" } }));
    expect(waits()).toHaveLength(2);
    s.onLine(
      JSON.stringify({
        type: "res",
        id: waits()[1].id,
        ok: true,
        payload: { runId: "r1", status: "ok", startedAt: 10, endedAt: 70, terminalReply: { text: "all done" } },
      }),
    );
    expect(events.filter((e) => e.type === "turn_end")).toEqual([]); // the final response may still come
    vi.advanceTimersByTime(5000);
    expect(events.filter((e) => e.type === "turn_end")).toEqual([
      expect.objectContaining({ result: "all done", isError: false, durationMs: 60, interrupted: false }),
    ]);
    const failed = run([]);
    const w = failed.writes.map((l) => JSON.parse(l)).find((x) => x.method === "agent.wait");
    failed.s.onLine(JSON.stringify({ type: "res", id: w.id, ok: true, payload: { status: "error", error: "All models failed (2): HTTP 529 overloaded" } }));
    vi.advanceTimersByTime(5000);
    expect(failed.events.filter((e) => e.type === "error" || e.type === "turn_end")).toEqual([
      expect.objectContaining({ type: "error", reason: "overloaded", status: 529 }),
      expect.objectContaining({ type: "turn_end", isError: true }),
    ]);
  });
});

describe("exec approvals", () => {
  const setup = () => {
    const events: WorkerEvent[] = [];
    const writes: Record<string, unknown>[] = [];
    const s = new OpenclawGatewaySession(
      { write: (l) => writes.push(JSON.parse(l)), emit: (e) => events.push(...e), fail: () => {}, debug: () => {} },
      "s1",
      null,
    );
    s.onLine(JSON.stringify({ bridge: "ready" }));
    s.turn("hi");
    s.onLine(JSON.stringify({ type: "res", id: writes[0]!.id, ok: true, payload: { runId: "r1", agentId: "main", status: "accepted" } }));
    return { s, events, writes };
  };
  const requested = (id: string, request: object) =>
    JSON.stringify({ type: "event", event: "exec.approval.requested", payload: { id, request, createdAtMs: 1, expiresAtMs: 2 } });

  it("this run's request becomes a permission with a command action; allow → allow-once, deny → deny", () => {
    const { s, events, writes } = setup();
    s.onLine(requested("ap1", { command: "echo hi > x.txt", runId: "r1", sessionKey: "agent:main:explicit:s1" }));
    s.onLine(requested("ap2", { command: "rm -rf /", runId: "other", sessionKey: "agent:main:main" })); // not ours
    const perms = events.filter((e) => e.type === "permission");
    expect(perms).toEqual([
      expect.objectContaining({ requestId: "ap1", tool: "exec", detail: "echo hi > x.txt", action: { kind: "command", command: "echo hi > x.txt" } }),
    ]);
    s.reply("ap1", { kind: "permission", allow: true });
    s.reply("ap1", { kind: "permission", allow: true }); // answered once only
    s.onLine(requested("ap3", { command: "ls", sessionId: "s1" }));
    s.reply("ap3", { kind: "permission", allow: false });
    expect(writes.filter((w) => w.method === "exec.approval.resolve").map((w) => w.params)).toEqual([
      { id: "ap1", decision: "allow-once" },
      { id: "ap3", decision: "deny" },
    ]);
  });

  it("a request resolved elsewhere (another operator) is withdrawn; open ones are withdrawn at the turn's end", () => {
    const { s, events, writes } = setup();
    s.onLine(requested("ap1", { command: "ls", runId: "r1" }));
    s.onLine(JSON.stringify({ type: "event", event: "exec.approval.resolved", payload: { id: "ap1", decision: "deny" } }));
    s.onLine(requested("ap2", { command: "pwd", runId: "r1" }));
    s.onLine(JSON.stringify({ type: "res", id: writes[0]!.id, ok: true, payload: { runId: "r1", status: "ok", result: { payloads: [], meta: {} } } }));
    expect(events.filter((e) => e.type === "request_cancelled")).toEqual([
      { type: "request_cancelled", requestId: "ap1" },
      { type: "request_cancelled", requestId: "ap2" },
    ]);
  });
});

describe("openclawGatewayDriverFor / openclawDriverFor", () => {
  const endpoint = { url: "ws://127.0.0.1:18789", token: "secret-token" };
  const req: RunRequest = { resumeSessionId: null, newSessionId: "abc-1", model: null, cwd: "/w", permissionMode: null };

  it("runs the bridge with this Node; the token only in the environment; a new session id up front", () => {
    const d = openclawGatewayDriverFor(endpoint);
    const spec = d.runSpec(req);
    expect(d.defaultCommand).toEqual([process.execPath]);
    expect(spec.args).toEqual([gatewayBridgePath()]);
    expect(spec.args.join(" ")).not.toContain("secret-token");
    expect(spec.prompt).toBe("protocol");
    expect(spec.env).toMatchObject({ ASM_OPENCLAW_GATEWAY_URL: endpoint.url, ASM_OPENCLAW_GATEWAY_TOKEN: "secret-token", ASM_OPENCLAW_SESSION_ID: "abc-1" });
    expect(spec.sessionId).toBe("abc-1");
    expect(d.runSpec({ ...req, resumeSessionId: "old-1" }).sessionId).toBeUndefined();
    expect(() => d.runSpec({ ...req, resumeSessionId: "-x" })).toThrow(UnsafeArgumentError);
    expect(() => d.runSpec({ ...req, model: "--evil" })).toThrow(UnsafeArgumentError);
    expect(d.canAsk).toBe(true);
  });

  it("reads the gateway from openclaw.json (the same one the health check watches), loopback only", () => {
    const home = tempDir("asm-oc-gw-");
    const file = join(home, "openclaw.json");
    const cfg = (checks: object = {}) => configSchema.parse({ sources: { openclaw: { root: home } }, checks: { gateway: checks } });
    writeFileSync(file, '{ gateway: { mode: "local", port: 18999, auth: { mode: "token", token: "tok" } }, }');
    expect(localGateway(file)).toEqual({ origin: "http://127.0.0.1:18999", secret: "tok" });
    expect(openclawGatewayEndpoint(cfg())).toEqual({ url: "ws://127.0.0.1:18999", token: "tok" });
    expect(openclawGatewayEndpoint(cfg({ url: "http://localhost:18000/readyz" }))).toEqual({ url: "ws://localhost:18000", token: "tok" });
    expect(openclawGatewayEndpoint(cfg({ url: "http://10.0.0.5:18789/readyz" }))).toBeNull();
    expect(openclawGatewayEndpoint(cfg({ enabled: false }))).toBeNull();
    expect(openclawDriverFor(cfg()).openSession).toBeDefined();
    writeFileSync(file, '{ "gateway": { "mode": "local", "auth": { "mode": "token", "token": { "source": "env", "id": "X" } } } }');
    expect(openclawGatewayEndpoint(cfg())).toBeNull(); // a secret reference, not a value: the CLI path
    expect(openclawDriverFor(cfg()).openSession).toBeUndefined();
    writeFileSync(file, '{ "gateway": { "mode": "remote" } }');
    expect(openclawDriverFor(cfg()).openSession).toBeUndefined();
  });
});
