import { randomBytes } from "node:crypto";
import type {
  InitializeRequest,
  LoadSessionRequest,
  NewSessionRequest,
  PermissionOption,
  PromptRequest,
  RequestPermissionRequest,
  RequestPermissionResponse,
} from "@agentclientprotocol/sdk";
import { type Json, obj, parseObject, str, text } from "../../lib/json-value.ts";
import { checkedArg, type Driver, type ProtocolIO, type ProtocolSession, type Reply, type RunRequest, type RunSpec, type WorkerEvent } from "../driver.ts";
import {
  type PermissionAsk,
  permissionEvent,
  permissionLabel,
  permissionOutcome,
  quotaModel,
  quotaUsage,
  type RpcError,
  rpcErrorMessage,
  rpcErrorReason,
  rpcErrorStatus,
  stopReasonError,
  updateEvents,
} from "./acp-wire.ts";
import { type GeminiChatFiles, geminiChatFiles, geminiDirFor, removeStrayChatFiles, resumeWaitMs } from "./chat-files.ts";
import { geminiDriver } from "./driver.ts";

/** The ACP protocol version this client speaks (Gemini CLI 0.61.0 answers 1). */
export const ACP_PROTOCOL_VERSION = 1;

/** Where the conversation is: the handshake, the history a loaded session replays, then prompts one at a time. */
type Phase = "initializing" | "opening" | "replaying" | "ready" | "failed";

/**
 * After `session/load` answers, Gemini goes on replaying the session's history as `session/update`s (it does not
 * wait for the replay before answering): the first prompt waits until no update came for this long, so none of
 * the old conversation is read as the new turn's output. Its replay is one tight loop (sub-millisecond gaps).
 */
export const HISTORY_QUIET_MS = 300;

/** How far into the next minute a load that had to wait for it is sent (the CLI and asm read the same clock). */
export { LOAD_MINUTE_MARGIN_MS } from "./chat-files.ts";

/** A request we sent and the answer it waits for. */
type Pending = { method: "initialize" } | { method: "session/new" } | { method: "session/load" } | { method: "session/prompt"; startedAt: number };

/**
 * One `gemini --acp` conversation (Agent Client Protocol v1, JSON-RPC 2.0 over stdio, one JSON message a line).
 * `initialize` → `session/new` {cwd, mcpServers: []} or, to resume, `session/load` {sessionId} (only when the
 * agent advertises `loadSession`) → one `session/prompt` per turn, the turn's text and tools arriving as
 * `session/update` notifications and its end as the prompt response's `stopReason`. Permission requests become
 * `permission` events answered by option kind; an interrupt is the `session/cancel` notification, after which the
 * requests still open are answered `cancelled` (the spec's rule; Gemini only ends the prompt once they are).
 *
 * Client capabilities: no `fs` and no `terminal` delegation (both declared false), so Gemini reads, writes and runs
 * commands itself, inside its own workspace checks and its own permission requests; asm never touches the files.
 *
 * The session id is Gemini's own (a UUID): the chat file `~/.gemini/tmp/<project>/chats/session-…-<id8>.jsonl`
 * starts with `{"sessionId": <id>}`, and it is what `--resume <id>` (the headless driver) and `session/load` take.
 *
 * Loading works around two faults of Gemini CLI 0.61.0 (upstream issues 28693, 27368), given the chat files:
 * `session/load` first opens a NEW chat recording under the loaded id (`Config.initialize` → `startChat` →
 * `ChatRecordingService.initialize` without resume data) in `session-<this UTC minute>-<id8>.jsonl`, and only then
 * looks the session up. In the minute the session's own file was opened that is the same file: the appended
 * `$set {messages: [<session_context>]}` replaces its history, the lookup finds nothing to resume ("Invalid session
 * identifier") and the next Gemini start deletes the file. So a load that would land in that minute waits for the
 * next one. In a later minute the load works but leaves that new file behind, holding only the context; Gemini's
 * start-up cleanup deletes a file it cannot resume together with every file sharing its 8-character suffix — the
 * real conversation. So the session's files Gemini cannot resume are removed after a load, and once before it,
 * as the CLI starts (ahead of its own clean-up), for those an older load (or `gemini --resume`) left.
 */
export class GeminiAcpSession implements ProtocolSession {
  private phase: Phase = "initializing";
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private sessionId: string | null = null;
  private model: string | null;
  private version: string | null = null;
  /** Turns waiting for the handshake or for the turn before them. */
  private readonly queue: string[] = [];
  /** Permission requests not answered yet, by the `requestId` their event carried. */
  private readonly asks = new Map<string, PermissionAsk>();
  /** Per turn: tools already reported, tools denied, whether we interrupted it. */
  private announced = new Set<string>();
  private denied: string[] = [];
  private interrupted = false;
  /** Makes request ids unique across runs: Gemini's own ids restart at 0 in every process. */
  private readonly nonce = randomBytes(3).toString("hex");
  private quietTimer: ReturnType<typeof setTimeout> | null = null;
  private loadTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `files`: Gemini's chat files as the worker's CLI sees them (its home), for the load workarounds above; null
   * loads exactly as asked (recordings, tests of the protocol alone).
   */
  constructor(
    private readonly req: RunRequest,
    private readonly io: ProtocolIO,
    private readonly now: () => number = Date.now,
    private readonly files: GeminiChatFiles | null = null,
  ) {
    this.model = req.model;
    const params: InitializeRequest = {
      protocolVersion: ACP_PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo: { name: "agent-session-manager", title: "asm", version: "1" },
    };
    this.request("initialize", params, { method: "initialize" });
    if (req.resumeSessionId) this.removeStrays(req.resumeSessionId);
  }

  onLine(line: string): void {
    if (!line.trim()) return;
    const m = parseObject(line);
    if (!m) {
      this.io.debug("gemini acp: a stdout line that is not JSON", { line: line.slice(0, 200) });
      this.io.emit([{ type: "other", kind: "unparsed" }]);
      return;
    }
    const method = str(m.method);
    if (method && "id" in m) this.onRequest(m.id as string | number, method, obj(m.params) ?? {});
    else if (method) this.onNotification(method, obj(m.params) ?? {});
    else if (typeof m.id === "number") this.onResponse(m.id, m);
    else this.io.emit([{ type: "other", kind: "acp/unknown" }]);
  }

  turn(text: string): void {
    this.queue.push(text);
    this.pump();
  }

  reply(requestId: string, reply: Reply): void {
    const ask = this.asks.get(requestId);
    if (!ask) {
      this.io.debug("gemini acp: reply to a request that is no longer open", { requestId });
      return;
    }
    this.asks.delete(requestId);
    // Gemini's ACP mode offers no questions (it removes its ask_user tool); a question answer here is a refusal.
    const allow = reply.kind === "permission" && reply.allow;
    const outcome = permissionOutcome(ask.options, allow);
    if (!allow) this.denied.push(ask.label);
    const result: RequestPermissionResponse = { outcome };
    this.write({ jsonrpc: "2.0", id: ask.rpcId, result });
  }

  interrupt(): void {
    if (this.promptInFlight()) {
      this.interrupted = true;
      this.notify("session/cancel", { sessionId: this.sessionId });
      this.cancelAsks();
      return;
    }
    // Nothing running yet (the handshake is still going): the held turns are dropped and end as interrupted.
    if (this.queue.length) {
      this.queue.length = 0;
      this.io.emit([turnEnd(null, false, null, [], true)]);
    }
  }

  close(): void {
    // Gemini exits by itself once stdin closes (the runner closes it); requests still open are withdrawn first.
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.quietTimer = null;
    this.loadTimer = null;
    this.cancelAsks();
  }

  // ---- inbound

  private onResponse(id: number, m: Json): void {
    const p = this.pending.get(id);
    if (!p) {
      this.io.debug("gemini acp: a response to no request of ours", { id });
      return;
    }
    this.pending.delete(id);
    const err = rpcError(m.error);
    const result = obj(m.result) ?? {};
    if (p.method === "session/prompt") this.onPromptDone(result, err, p.startedAt);
    else if (err) this.fail(err, p.method, p.method === "session/load" ? this.unloadableHint() : "");
    else if (p.method === "initialize") this.onInitialized(result);
    else this.onOpened(result);
  }

  private onInitialized(result: Json): void {
    const version = result.protocolVersion;
    if (version !== ACP_PROTOCOL_VERSION) {
      this.phase = "failed";
      this.io.fail("error", `Gemini speaks ACP protocol version ${JSON.stringify(version)}; asm speaks ${ACP_PROTOCOL_VERSION}`);
      return;
    }
    this.version = str(obj(result.agentInfo)?.version);
    this.phase = "opening";
    const cwd = this.req.cwd;
    if (this.req.resumeSessionId) {
      if (obj(result.agentCapabilities)?.loadSession !== true) {
        this.phase = "failed";
        this.io.fail("error", "this Gemini CLI cannot load a session over ACP (no loadSession capability); resume it headless");
        return;
      }
      const id = this.req.resumeSessionId;
      this.sessionId = id;
      const wait = this.loadWait(id);
      if (wait === 0) {
        this.load(id, cwd);
        return;
      }
      // The CLI is up and the session known: a worker on a fallback chain must not time out while it waits.
      this.io.debug("gemini acp: the session's chat file was opened this minute; loading in the next", { wait });
      this.io.emit([
        { type: "init", sessionId: id, model: this.model, version: this.version },
        { type: "other", kind: "acp/load-waits-a-minute" },
      ]);
      this.loadTimer = setTimeout(() => {
        this.loadTimer = null;
        if (this.phase === "opening") this.load(id, cwd);
      }, wait);
      this.loadTimer.unref?.();
    } else {
      const params: NewSessionRequest = { cwd, mcpServers: [] };
      this.request("session/new", params, { method: "session/new" });
    }
  }

  private load(sessionId: string, cwd: string): void {
    const params: LoadSessionRequest = { sessionId, cwd, mcpServers: [] };
    this.request("session/load", params, { method: "session/load" });
  }

  /** How long to hold `session/load` (ms): see `resumeWaitMs`. */
  private loadWait(sessionId: string): number {
    return this.files ? resumeWaitMs(this.files, sessionId, this.now()) : 0;
  }

  /** Removes the session's chat files Gemini cannot resume (see `removeStrayChatFiles`), and says so. */
  private removeStrays(sessionId: string): void {
    const removed = this.files ? removeStrayChatFiles(this.files, sessionId) : 0;
    if (removed) {
      this.io.debug("gemini acp: removed chat files of the loaded session that hold no conversation", { removed });
      this.io.emit([{ type: "other", kind: `acp/empty-chat-files-removed:${removed}` }]);
    }
  }

  /** What asm sees of a session Gemini would not load, for the error: no chat file left, or none it can resume. */
  private unloadableHint(): string {
    const id = this.req.resumeSessionId;
    if (!this.files || !id) return "";
    const all = this.files.list(id);
    if (all.length === 0) return " (no chat file of this session is left; Gemini deletes the ones it cannot resume when it starts)";
    if (!all.some((f) => f.resumable)) return " (its chat file holds no conversation Gemini can resume)";
    return "";
  }

  private onOpened(result: Json): void {
    const id = this.sessionId ?? text(result.sessionId);
    if (!id) {
      this.phase = "failed";
      this.io.fail("error", "Gemini opened a session without an id");
      return;
    }
    this.sessionId = id;
    // `models` is an unstable ACP field Gemini fills (`auto` = its router, as the headless init says too).
    this.model = text(obj(result.models)?.currentModelId) ?? this.model;
    this.io.emit([{ type: "init", sessionId: id, model: this.model, version: this.version }]);
    if (this.req.resumeSessionId) {
      this.phase = "replaying";
      this.removeStrays(id);
      this.waitForQuiet();
    } else {
      this.phase = "ready";
      this.pump();
    }
  }

  /** (Re)starts the wait for the end of a loaded session's history replay. */
  private waitForQuiet(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      if (this.phase !== "replaying") return;
      this.phase = "ready";
      this.pump();
    }, HISTORY_QUIET_MS);
    this.quietTimer.unref?.();
  }

  private onPromptDone(result: Json, err: RpcError | null, startedAt: number): void {
    const durationMs = this.now() - startedAt;
    const denied = this.denied;
    const interrupted = this.interrupted;
    const tools = this.announced.size;
    this.resetTurn();
    if (err) {
      const message = rpcErrorMessage(err);
      // The session itself is gone (`Session not found`): no later turn can work in this process.
      if (err.code === -32602 && /session not found/i.test(message)) {
        this.phase = "failed";
        this.io.fail("error", `Gemini lost the session: ${message}`);
        return;
      }
      const reason = interrupted ? "aborted" : rpcErrorReason(err);
      this.io.emit([
        { type: "error", reason, message, status: rpcErrorStatus(err), willRetry: false },
        turnEnd(message, true, durationMs, denied, interrupted),
      ]);
    } else {
      const stop = str(result.stopReason) ?? "end_turn";
      const problem = stopReasonError(stop);
      const model = quotaModel(result._meta);
      // The model that answered (under `auto`, the router's pick), for /worker events.
      const events: WorkerEvent[] = model && model !== this.model ? [{ type: "other", kind: `acp/model:${model}` }] : [];
      if (problem) events.push({ type: "error", reason: problem.reason, message: problem.message, status: null, willRetry: false });
      events.push(
        ...quotaUsage(result._meta, tools),
        turnEnd(problem?.message ?? null, problem !== null, durationMs, denied, interrupted || stop === "cancelled"),
      );
      this.io.emit(events);
    }
    this.pump();
  }

  private onRequest(id: string | number, method: string, params: Json): void {
    if (method !== "session/request_permission") {
      // fs/* and terminal/* are never delegated (we declared neither); anything else is unknown to us.
      this.write({ jsonrpc: "2.0", id, error: { code: -32601, message: `"Method not found": ${method}` } });
      this.io.emit([{ type: "other", kind: `acp/request:${method}` }]);
      return;
    }
    const requestId = `${String(id)}.${this.nonce}`;
    const ev = permissionEvent(requestId, params as RequestPermissionRequest);
    const options = Array.isArray(params.options) ? (params.options as PermissionOption[]) : [];
    this.asks.set(requestId, { rpcId: id, options, label: permissionLabel(ev) });
    this.io.emit([ev]);
  }

  private onNotification(method: string, params: Json): void {
    if (method !== "session/update") {
      this.io.emit([{ type: "other", kind: `acp/${method}` }]);
      return;
    }
    const update = obj(params.update) ?? {};
    if (this.phase === "replaying") this.waitForQuiet();
    // Outside a prompt (history replayed by session/load, the slash-command list) nothing belongs to a turn.
    if (!this.promptInFlight()) {
      this.io.emit([{ type: "other", kind: `acp/idle:${str(update.sessionUpdate) ?? "unknown"}` }]);
      return;
    }
    this.io.emit(updateEvents(update, this.announced));
  }

  // ---- outbound

  /** Sends the next held turn when the session is ready and no prompt runs. */
  private pump(): void {
    if (this.phase !== "ready" || this.promptInFlight() || !this.sessionId) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    const params: PromptRequest = { sessionId: this.sessionId, prompt: [{ type: "text", text: next }] };
    this.request("session/prompt", params, { method: "session/prompt", startedAt: this.now() });
  }

  private promptInFlight(): boolean {
    for (const p of this.pending.values()) if (p.method === "session/prompt") return true;
    return false;
  }

  /** Answers every open permission request `cancelled` and tells the runner nobody can answer them now. */
  private cancelAsks(): void {
    const events: WorkerEvent[] = [];
    for (const [requestId, ask] of this.asks) {
      const result: RequestPermissionResponse = { outcome: { outcome: "cancelled" } };
      this.write({ jsonrpc: "2.0", id: ask.rpcId, result });
      events.push({ type: "request_cancelled", requestId });
    }
    this.asks.clear();
    if (events.length) this.io.emit(events);
  }

  private resetTurn(): void {
    this.announced = new Set();
    this.denied = [];
    this.interrupted = false;
  }

  private fail(err: RpcError, step: string, hint = ""): void {
    this.phase = "failed";
    const message = rpcErrorMessage(err);
    this.io.fail(rpcErrorReason(err), `Gemini refused ${step}: ${message}${hint}`);
  }

  private request(method: string, params: unknown, pending: Pending): void {
    const id = this.nextId++;
    this.pending.set(id, pending);
    this.write({ jsonrpc: "2.0", id, method, params });
  }

  private notify(method: string, params: unknown): void {
    this.write({ jsonrpc: "2.0", method, params });
  }

  private write(message: Json): void {
    this.io.write(JSON.stringify(message));
  }
}

function rpcError(v: unknown): RpcError | null {
  const e = obj(v);
  if (!e) return null;
  return { code: typeof e.code === "number" ? e.code : -32603, message: str(e.message) ?? "error", data: e.data };
}

function turnEnd(result: string | null, isError: boolean, durationMs: number | null, denied: string[], interrupted: boolean): WorkerEvent {
  return { type: "turn_end", result, isError, costUsd: null, durationMs, numTurns: null, denied, ...(interrupted ? { interrupted: true } : {}) };
}

/**
 * Gemini CLI as a managed worker through `gemini --acp`: one process per worker serving many turns, permission
 * requests reaching the chat. Argv as the headless driver builds it (`--model`, `--approval-mode`, `--skip-trust`;
 * all three work with `--acp` in 0.61.0; `--acp` replaced `--experimental-acp`, which still works, deprecated),
 * minus the headless flags; the session to resume goes over the protocol (`session/load`), never into argv.
 * Approval mode `default` (Gemini's own default) asks before edits and shell commands; `auto_edit` lets edits
 * through, `yolo` everything, `plan` is read-only.
 *
 * `env` is the environment the worker's CLI gets on top of asm's (`runner.drivers.gemini.env`): where its HOME is,
 * so a resume finds the session's chat files (see `GeminiAcpSession`).
 */
export function geminiAcpDriverFor(env: Readonly<Record<string, string>> = {}): Driver {
  return {
    ...geminiAcpBase,
    openSession(req: RunRequest, _spec: RunSpec, io: ProtocolIO): ProtocolSession {
      return new GeminiAcpSession(req, io, Date.now, geminiChatFiles(geminiDirFor(env)));
    },
  };
}

const geminiAcpBase: Driver = {
  ...geminiDriver,
  multiTurn: true,
  canAsk: true,
  runSpec(req: RunRequest): RunSpec {
    // Validation (model, permission mode, session id) is the headless driver's; its headless-only flags are dropped.
    const headless = geminiDriver.runSpec({ ...req, resumeSessionId: null, newSessionId: null });
    const args = ["--acp", ...headless.args.filter((a) => a.startsWith("--model=") || a.startsWith("--approval-mode=") || a === "--skip-trust")];
    // The id travels in session/load, not argv, but is held to the same pattern before anything starts.
    if (req.resumeSessionId) checkedArg("session id", req.resumeSessionId, geminiDriver.sessionIdPattern);
    return { args, prompt: "protocol", env: headless.env ?? {} };
  },
};

/** The ACP driver for workers whose environment does not move HOME (`geminiAcpDriverFor` with nothing). */
export const geminiAcpDriver: Driver = geminiAcpDriverFor();
