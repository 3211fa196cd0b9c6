import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../../config/schema.ts";
import { type Json, num, obj, text as str } from "../../lib/json-value.ts";
import {
  checkedArg,
  type Driver,
  type ProtocolIO,
  type ProtocolSession,
  type Reply,
  type RunRequest,
  type RunSpec,
  SAFE_MODEL,
  type WorkerEvent,
} from "../driver.ts";
import { type ErrorReason, isErrorReason } from "../error-reason.ts";
import { openclawDriver } from "./driver.ts";
import { type GatewayEndpoint, openclawGatewayEndpoint } from "./gateway-endpoint.ts";
import { openclawErrorReason, parseOpenclawLine, parseOpenclawOutput, statusInOpenclawError } from "./stream.ts";

/**
 * OpenClaw through its gateway (issue 15; RUNNER.md §1.5): the `agent` RPC per turn, its event stream live,
 * `agent.wait` as the terminal backstop, `sessions.abort` to interrupt, exec approvals as permission requests.
 *
 * The runner owns a process and reads its stdout lines, so the worker's process is `gateway-bridge.mjs`: it
 * holds the WebSocket, authenticates with the token from its environment, and relays frames as JSON lines.
 * Verified against OpenClaw 2026.9.6 (`openclaw gateway run` with the fake model server; recordings in
 * tests/fixtures/streams/openclaw/gateway-*.exchange.jsonl):
 * - `agent {message, sessionId, idempotencyKey, model?}` is answered twice under one request id: first
 *   `{runId (= idempotencyKey), agentId, status:"accepted", acceptedAt}`, at the end
 *   `{runId, status:"ok"|"error", summary, result:{payloads, meta}}` — the same document `openclaw agent --json`
 *   prints (`parseOpenclawOutput` reads it: usage, executionTrace failover, stop reason).
 * - events `agent {runId, sessionKey, sessionId?, agentId, stream, data, seq, ts}`: `lifecycle` phases `start`,
 *   `model {provider, model}` (once per model attempt: a second, different one is OpenClaw's own failover),
 *   `fallback`/`fallback_step` (notice fields), `finishing`, `end {stopReason, aborted, terminalReceipt}`,
 *   `error {error}`; `assistant {text (so far), delta}`; `item {kind:"tool", phase, name, toolCallId, meta}`;
 *   `command_output`; `approval {phase:"resolved", kind, status:"denied"|…}`; `usage`; `run_status {phase:"retrying", message:"Retrying… 2/10", reason}` (its own
 *   provider retries). Chat, presence and health broadcasts are dropped by the bridge.
 *   Other sessions' events reach every operator client: only this run's are read.
 * - `agent.wait {runId, timeoutMs}` returns `{status:"ok"|"error"|"timeout"|"pending", stopReason, error?}`;
 *   "timeout" and "pending" mean ask again.
 * - a new `sessionId` becomes session key `agent:main:explicit:<id>`, and the same id continues it.
 */

/** What the bridge itself says (its lines carry a `bridge` key; everything else is a gateway frame). */
type BridgeLine = { bridge: "ready"; scopes?: string[] | null } | { bridge: "error"; code: string; message: string };

/** One turn in flight: the `agent` request, then its run. */
interface Turn {
  reqId: string;
  runId: string | null;
  sessionKey: string | null;
  agentId: string;
  /** Text came as `assistant` deltas: the final payload's text is not repeated. */
  streamedText: boolean;
  toolIds: Set<string>;
  /** The model of the last `lifecycle model` phase; a different one later in the run is a failover. */
  model: string | null;
  switchedTo: Set<string>;
  /** Why the last model attempt failed (`finishing {errorObservation.failoverReason}`): the reason of a switch after it. */
  lastFailure: string | null;
  aborted: boolean;
  /** Tools whose approval was denied in this run (the `approval` stream), for `turn_end.denied`. */
  denied: Set<string>;
  /** A lifecycle `error` was reported: the failed final response does not report it again. */
  errorSent: boolean;
  /** The terminal `agent.wait` result, kept while the final `agent` response is still on its way. */
  waitResult: Json | null;
  waitTimer: ReturnType<typeof setTimeout> | null;
  startedAt: number;
}

/** How long the final `agent` response may lag behind a terminal `agent.wait` before the wait's result ends the turn. */
const FINAL_GRACE_MS = 5000;
/** `agent.wait`'s own timeout per call (it is asked again while the run goes on). */
const WAIT_SLICE_MS = 60_000;

/** Bridge error codes that mean the credentials, not the network (docs/gateway/protocol/auth.md). */
const AUTH_CODES = /^(AUTH_|NOT_PAIRED|PAIRING_REQUIRED|DEVICE_AUTH|NO_TOKEN|UNAUTHORIZED|FORBIDDEN)/;

const ref = (provider: unknown, model: unknown): string | null => {
  const m = str(model);
  if (!m) return null;
  const p = str(provider);
  return p && !m.startsWith(`${p}/`) ? `${p}/${m}` : m;
};

/**
 * A worker's conversation with the OpenClaw gateway, through the bridge's stdout lines. The session id is the
 * worker's OpenClaw session (`--session-id` of the CLI path): `resumeSessionId`, else the fresh id `runSpec` chose.
 */
export class OpenclawGatewaySession implements ProtocolSession {
  private ready = false;
  private closed = false;
  private held: string[] = [];
  private turnNow: Turn | null = null;
  private seq = 0;
  private initSent = false;
  /** Open exec approvals: id → the gateway's request (for the answer and for "resolved elsewhere"). */
  private approvals = new Map<string, Json>();

  constructor(
    private readonly io: ProtocolIO,
    private readonly sessionId: string,
    private readonly model: string | null,
  ) {}

  onLine(line: string): void {
    let msg: Json | null;
    try {
      msg = obj(JSON.parse(line));
    } catch {
      msg = null;
    }
    if (!msg) {
      this.io.debug("openclaw gateway: a line that is not JSON", { length: line.length });
      return;
    }
    if (typeof msg.bridge === "string") this.onBridge(msg as unknown as BridgeLine);
    else if (msg.type === "res") this.onResponse(msg);
    else if (msg.type === "event") this.onEvent(str(msg.event) ?? "", obj(msg.payload) ?? {});
  }

  turn(text: string): void {
    if (this.closed) return;
    if (!this.ready || this.turnNow) {
      this.held.push(text);
      return;
    }
    const idem = randomUUID();
    const reqId = this.send("agent", {
      message: text,
      sessionId: this.sessionId,
      idempotencyKey: idem,
      ...(this.model ? { model: this.model } : {}),
    });
    this.turnNow = {
      reqId,
      runId: null,
      sessionKey: null,
      agentId: "main",
      streamedText: false,
      toolIds: new Set(),
      model: null,
      switchedTo: new Set(),
      lastFailure: null,
      aborted: false,
      errorSent: false,
      denied: new Set(),
      waitResult: null,
      waitTimer: null,
      startedAt: Date.now(),
    };
  }

  reply(requestId: string, reply: Reply): void {
    if (!this.approvals.has(requestId)) {
      this.io.debug("openclaw gateway: answer to an approval that is not open", { requestId });
      return;
    }
    this.approvals.delete(requestId);
    // Questions do not exist on this path; anything but an explicit allow is a denial.
    const allow = reply.kind === "permission" && reply.allow;
    this.send("exec.approval.resolve", { id: requestId, decision: allow ? "allow-once" : "deny" });
  }

  interrupt(): void {
    const t = this.turnNow;
    if (!t) {
      this.held = [];
      return;
    }
    t.aborted = true;
    if (!t.runId) return; // aborted as soon as the gateway names the run
    this.abort(t);
  }

  close(): void {
    // The runner closes the bridge's stdin next; the bridge closes the socket. Nothing to say to the gateway.
    this.closed = true;
    this.held = [];
  }

  // ── lines ───────────────────────────────────────────────────────────────────

  private onBridge(b: BridgeLine) {
    if (b.bridge === "error") {
      const reason: ErrorReason = AUTH_CODES.test(b.code) ? "auth" : "error";
      this.io.fail(reason, `OpenClaw gateway: ${b.message}`);
      return;
    }
    if (b.bridge !== "ready") return;
    this.ready = true;
    this.io.debug("openclaw gateway: connected", { scopes: b.scopes ?? null });
    const next = this.held.shift();
    if (next !== undefined) this.turn(next);
  }

  private onResponse(msg: Json) {
    const id = str(msg.id);
    const t = this.turnNow;
    const payload = obj(msg.payload) ?? {};
    if (t && id === t.reqId) {
      if (msg.ok !== true) return this.endWithError(t, obj(msg.error));
      if (payload.status === "accepted") {
        t.runId = str(payload.runId);
        t.sessionKey ??= str(payload.sessionKey);
        t.agentId = str(payload.agentId) ?? "main";
        if (!this.initSent) {
          this.initSent = true;
          this.io.emit([{ type: "init", sessionId: this.sessionId, model: this.model, version: null, agentId: t.agentId }]);
        }
        if (t.aborted) this.abort(t);
        else this.wait(t);
        return;
      }
      if (payload.status === "in_flight") {
        // The same idempotency key is already running (a retry of ours): its events and end still come.
        t.runId ??= str(payload.runId);
        return;
      }
      return this.finish(t, payload);
    }
    if (id?.startsWith("wait-") && t && id.endsWith(`:${t.reqId}`)) return this.onWait(t, msg.ok === true ? payload : null, obj(msg.error));
    if (msg.ok !== true) {
      const e = obj(msg.error);
      this.io.debug("openclaw gateway: a request failed", { id, code: str(e?.code), message: str(e?.message) });
    }
  }

  private onEvent(event: string, p: Json) {
    if (event === "exec.approval.requested") return this.onApproval(p);
    if (event === "exec.approval.resolved") {
      const id = str(p.id);
      if (id && this.approvals.delete(id)) this.io.emit([{ type: "request_cancelled", requestId: id }]);
      return;
    }
    if (event !== "agent") return;
    const t = this.turnNow;
    if (!t?.runId || p.runId !== t.runId) return;
    t.sessionKey ??= str(p.sessionKey);
    const data = obj(p.data) ?? {};
    const stream = str(p.stream);
    if (stream === "assistant") {
      const delta = str(data.delta);
      if (delta) {
        t.streamedText = true;
        this.io.emit([{ type: "text", text: delta, delta: true }]);
      }
    } else if (stream === "tool" || (stream === "item" && data.kind === "tool")) {
      // 2026.9.6 reports tool calls as `item {kind:"tool", phase, name, toolCallId, title, meta}`; the `tool`
      // stream (with `args`) is the older and verbose form. One event per call, at its start.
      const callId = str(data.toolCallId) ?? str(data.itemId) ?? `${this.seq}`;
      const name = str(data.name) ?? str(data.tool);
      if (name && !t.toolIds.has(callId) && (data.phase === "start" || data.phase === undefined)) {
        t.toolIds.add(callId);
        this.io.emit([{ type: "tool", name, detail: toolDetail(data.args ?? data.input) ?? str(data.meta) ?? str(data.title) }]);
      }
    } else if (stream === "lifecycle") {
      this.onLifecycle(t, data);
    } else if (stream === "approval" && data.phase === "resolved" && data.status === "denied") {
      // Whoever denied it (this chat or another operator), the tool did not run.
      t.denied.add(str(data.kind) ?? "exec");
    } else if (stream === "run_status" && data.phase === "retrying") {
      // OpenClaw retries the provider itself ("Retrying… 2/10"): counted as notices, never a failure of ours.
      const message = str(data.message) ?? "retrying";
      const reason = isErrorReason(data.reason) ? data.reason : openclawErrorReason(message);
      this.io.emit([{ type: "error", reason, message, status: null, willRetry: true }]);
    }
  }

  private onLifecycle(t: Turn, data: Json) {
    const phase = str(data.phase);
    if (phase === "model") {
      const m = ref(data.provider, data.model);
      if (!m) return;
      // A second model in one run: OpenClaw's own failover moved on (RUNNER.md §3.2). Shown as it happens.
      if (t.model && m !== t.model) this.switched(t, t.model, m, t.lastFailure ?? "fallback");
      // `accepted` names no model: the first attempt's says which one the worker runs on.
      else if (!t.model && m !== this.model) this.io.emit([{ type: "init", sessionId: this.sessionId, model: m, version: null, agentId: t.agentId }]);
      t.model = m;
    } else if (phase === "finishing" && data.error !== undefined) {
      t.lastFailure = str(obj(data.errorObservation)?.failoverReason) ?? str(data.error);
    } else if (phase === "fallback" || phase === "fallback_step") {
      const to = ref(data.activeProvider, data.activeModel) ?? str(data.fallbackStepToModel);
      const from = ref(data.selectedProvider, data.selectedModel) ?? str(data.fallbackStepFromModel);
      if (to && to !== from) this.switched(t, from, to, str(data.reasonSummary) ?? str(data.fallbackStepFromFailureReason) ?? "fallback");
    } else if (phase === "error") {
      // The end of a run we aborted is the interrupt itself, not a failure.
      if (data.aborted === true || data.stopReason === "aborted" || t.aborted) return;
      const message = str(data.error) ?? str(obj(data.error)?.message) ?? "the run failed";
      t.errorSent = true;
      this.io.emit([{ type: "error", reason: openclawErrorReason(message), message, status: statusInOpenclawError(message), willRetry: false }]);
    }
  }

  private switched(t: Turn, from: string | null, to: string, reason: string | null) {
    if (t.switchedTo.has(to)) return;
    t.switchedTo.add(to);
    this.io.emit([{ type: "model_switch", from, to, reason }]);
  }

  private onApproval(p: Json) {
    const id = str(p.id);
    const r = obj(p.request) ?? {};
    const t = this.turnNow;
    // Approvals of other sessions reach every approvals client: only this worker's run or session is ours.
    const mine = (t?.runId && r.runId === t.runId) || r.sessionId === this.sessionId || (t?.sessionKey && r.sessionKey === t.sessionKey);
    if (!id || !mine || this.approvals.has(id)) return;
    this.approvals.set(id, r);
    const command = str(r.command) ?? (Array.isArray(r.commandArgv) ? r.commandArgv.filter((a) => typeof a === "string").join(" ") : null);
    this.io.emit([
      {
        type: "permission",
        requestId: id,
        tool: "exec",
        detail: command,
        reason: str(r.warningText),
        input: r,
        action: command ? { kind: "command", command } : { kind: "other" },
      },
    ]);
  }

  // ── turn end ────────────────────────────────────────────────────────────────

  private wait(t: Turn) {
    if (!t.runId) return;
    this.send("agent.wait", { runId: t.runId, timeoutMs: WAIT_SLICE_MS }, `wait-${++this.seq}:${t.reqId}`);
  }

  private abort(t: Turn) {
    this.send("sessions.abort", { runId: t.runId, ...(t.sessionKey ? { key: t.sessionKey } : {}) });
  }

  private onWait(t: Turn, payload: Json | null, error: Json | null) {
    if (this.turnNow !== t) return;
    if (!payload) {
      this.io.debug("openclaw gateway: agent.wait failed", { code: str(error?.code), message: str(error?.message) });
      return;
    }
    const status = str(payload.status);
    if (status === "timeout" || status === "pending" || !status) return this.wait(t);
    // Terminal: the final `agent` response carries the run's meta; give it a moment, then end from the wait.
    t.waitResult = payload;
    t.waitTimer = setTimeout(() => {
      if (this.turnNow === t) this.finishFromWait(t, payload);
    }, FINAL_GRACE_MS);
    t.waitTimer.unref?.();
  }

  private finish(t: Turn, payload: Json) {
    // An aborted run ends `{status:"timeout", summary:"aborted", stopReason:"rpc"}` with no result; a run that
    // ran out of time (`timeout` of the agent RPC) ends the same way without our abort.
    if (payload.status === "timeout" && !obj(payload.result)) {
      if (t.aborted) return this.end(t, [this.turnEnd(t, null, false)]);
      const message = `the run timed out (${str(payload.summary) ?? "timeout"})`;
      return this.end(t, [{ type: "error", reason: "timeout", message, status: null, willRetry: false }, this.turnEnd(t, message, true)]);
    }
    const events = parseOpenclawOutput(JSON.stringify(payload)).filter((e) => {
      if (e.type === "init") return false; // said at `accepted`
      if (e.type === "text") return !t.streamedText;
      if (e.type === "tool") return t.toolIds.size === 0;
      if (e.type === "model_switch") return !t.switchedTo.has(e.to);
      return true;
    });
    this.end(
      t,
      events.map((e) => (e.type === "turn_end" && t.aborted ? { ...e, interrupted: true } : e)),
    );
  }

  private finishFromWait(t: Turn, w: Json) {
    const stop = str(w.stopReason);
    const failed = w.status === "error" && !t.aborted && stop !== "aborted";
    const message = str(w.error) ?? str(obj(w.error)?.message) ?? (stop === "superseded" ? "a newer run replaced this one" : "the run failed");
    const out: WorkerEvent[] = [];
    if (failed) out.push({ type: "error", reason: openclawErrorReason(message), message, status: statusInOpenclawError(message), willRetry: false });
    const started = num(w.startedAt);
    const ended = num(w.endedAt);
    out.push({
      type: "turn_end",
      result: str(obj(w.terminalReply)?.text) ?? (failed ? message : null),
      isError: failed,
      costUsd: null,
      durationMs: started !== null && ended !== null ? ended - started : null,
      numTurns: null,
      denied: [],
      interrupted: t.aborted || stop === "aborted",
    });
    this.end(t, out);
  }

  private turnEnd(t: Turn, result: string | null, isError: boolean): WorkerEvent {
    return { type: "turn_end", result, isError, costUsd: null, durationMs: Date.now() - t.startedAt, numTurns: null, denied: [], interrupted: t.aborted };
  }

  private endWithError(t: Turn, e: Json | null) {
    const code = str(e?.code);
    const message = str(e?.message) ?? code ?? "the gateway refused the run";
    // The run's own failure (UNAVAILABLE after OpenClaw's retries and failover) was already said as a lifecycle error.
    const reason: ErrorReason = code === "FORBIDDEN" || code === "UNAUTHORIZED" ? "auth" : openclawErrorReason(message);
    const said: WorkerEvent[] = t.errorSent
      ? []
      : [{ type: "error", reason, message: code ? `${code}: ${message}` : message, status: statusInOpenclawError(message), willRetry: false }];
    this.end(t, [...said, this.turnEnd(t, message, true)]);
  }

  private end(t: Turn, events: WorkerEvent[]) {
    if (this.turnNow !== t) return;
    if (t.waitTimer) clearTimeout(t.waitTimer);
    this.turnNow = null;
    // Approvals still open belong to a run that is over.
    const open = [...this.approvals.keys()];
    this.approvals.clear();
    const denied = [...t.denied];
    const withDenied = events.map((e) => (e.type === "turn_end" && denied.length ? { ...e, denied: [...new Set([...e.denied, ...denied])] } : e));
    this.io.emit([...open.map((requestId): WorkerEvent => ({ type: "request_cancelled", requestId })), ...withDenied]);
    const next = this.held.shift();
    if (next !== undefined && !this.closed) this.turn(next);
  }

  private send(method: string, params: Json, id = `${method}-${++this.seq}`): string {
    this.io.write(JSON.stringify({ type: "req", id, method, params }));
    return id;
  }
}

/** The command, file or first argument of a tool call, for the `tool` event. */
function toolDetail(args: unknown): string | null {
  const a = obj(args);
  if (!a) return null;
  for (const k of ["command", "cmd", "path", "file_path", "filePath", "url", "query", "pattern"]) {
    const v = a[k];
    if (typeof v === "string" && v) return v.length > 300 ? `${v.slice(0, 299)}…` : v;
  }
  return null;
}

/** OpenClaw session ids (`[a-z0-9][a-z0-9._-]{0,127}`, FORMATS.md §5.2; in practice UUIDs). */
const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** The bridge script: beside this file in src/, or under src/ when this code runs bundled from dist/. */
export function gatewayBridgePath(): string {
  const beside = fileURLToPath(new URL("./gateway-bridge.mjs", import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL("../src/agents/openclaw/gateway-bridge.mjs", import.meta.url));
}

/**
 * OpenClaw workers through a gateway: the process is the bridge (this Node, `gateway-bridge.mjs`), the
 * conversation is `OpenclawGatewaySession`. `endpoint` comes from `openclawGatewayEndpoint(config)`; the token
 * travels in the bridge's environment only. `deviceFile` keeps the bridge's device key so the gateway pairs one
 * device for asm rather than one per run (null: a fresh key each run).
 *
 * OpenClaw runs its own model failover; its switches arrive as `model_switch` events, and the runner must not
 * run a chain of its own on top (a worker with no chain).
 */
export function openclawGatewayDriverFor(endpoint: GatewayEndpoint, deviceFile: string | null = null): Driver {
  return {
    platform: "openclaw",
    defaultCommand: [process.execPath],
    multiTurn: true,
    canAsk: true,
    sessionIdPattern: SESSION_ID,
    runSpec(req: RunRequest): RunSpec {
      const fresh = req.resumeSessionId ? null : (req.newSessionId ?? randomUUID());
      const id = checkedArg("session id", req.resumeSessionId ?? (fresh as string), SESSION_ID);
      if (req.model) checkedArg("model", req.model, SAFE_MODEL);
      return {
        // The bridge, not the openclaw CLI that `runner.drivers.openclaw.command` names for the one-shot path.
        command: [process.execPath],
        args: [gatewayBridgePath()],
        prompt: "protocol",
        env: {
          ASM_OPENCLAW_GATEWAY_URL: endpoint.url,
          ASM_OPENCLAW_GATEWAY_TOKEN: endpoint.token,
          ...(deviceFile ? { ASM_OPENCLAW_GATEWAY_DEVICE: deviceFile } : {}),
          // The bridge's own session id, for openSession (the runner keeps `spec`).
          ASM_OPENCLAW_SESSION_ID: id,
        },
        ...(fresh ? { sessionId: id } : {}),
      };
    },
    parseLine: parseOpenclawLine,
    openSession(req: RunRequest, spec: RunSpec, io: ProtocolIO): ProtocolSession {
      const id = spec.env?.ASM_OPENCLAW_SESSION_ID ?? req.resumeSessionId;
      if (!id) throw new Error("no OpenClaw session id in the run spec");
      return new OpenclawGatewaySession(io, id, req.model);
    },
  };
}

/**
 * The driver OpenClaw workers run with under this config: through the gateway when one is configured (see
 * `openclawGatewayEndpoint`: the gateway the health check watches, on loopback, with a plain token in
 * openclaw.json), else the one-shot CLI (`openclawDriver`). The bridge's device key is kept beside asm's database,
 * so the gateway pairs asm once. Read when the runner is built: a gateway set up later needs a restart of asm.
 * A gateway that is down when a run starts fails that run (the bridge exits 2, "cannot connect"); the worker can
 * be resumed, and `interface: "headless"` keeps OpenClaw on the CLI for good.
 */
export function openclawDriverFor(config: Config): Driver {
  const endpoint = openclawGatewayEndpoint(config);
  return endpoint ? openclawGatewayDriverFor(endpoint, join(dirname(config.store.path), "openclaw-gateway-device.json")) : openclawDriver;
}
