import { type Json, num, obj, parseObject, str, text } from "../../lib/json-value.ts";
import { version as asmVersion } from "../../lib/version.ts";
import {
  checkedArg,
  type Driver,
  type PermissionAction,
  type ProtocolIO,
  type ProtocolSession,
  type Reply,
  type RunRequest,
  type RunSpec,
  SAFE_MODEL,
  toolArgDetail,
  UnsafeArgumentError,
  type WorkerEvent,
} from "../driver.ts";
import type { ErrorReason } from "../error-reason.ts";
import { THREAD_ID } from "./driver.ts";
import { codexErrorInfo, codexErrorReason } from "./errors.ts";

/**
 * Codex driven through `codex app-server` (JSON-RPC 2.0 without the `"jsonrpc"` field, one JSON object per line on
 * stdio; RUNNER.md §1.2). Verified against codex-cli 0.169.0 (`codex app-server generate-ts`) and the recordings in
 * tests/fixtures/streams/codex/*.exchange.jsonl:
 *
 * - Handshake: `initialize {clientInfo, capabilities}` → `{userAgent: "asm/0.169.0 (…)", codexHome, …}`, then the
 *   `initialized` notification, then `thread/start {cwd, model?, approvalPolicy, sandbox}` or
 *   `thread/resume {threadId, excludeTurns: true, …}`; both answer `{thread: {id, cliVersion, …}, model, …}`.
 *   The thread id is a UUIDv7, the same id `codex exec` prints and `exec resume` takes.
 * - A turn: `turn/start {threadId, input: [{type: "text", text, text_elements: []}]}` → `{turn: {id, status:
 *   "inProgress"}}`; then `turn/started`, `item/started` / `item/completed` (userMessage, reasoning, agentMessage,
 *   commandExecution, fileChange, …), deltas, `thread/tokenUsage/updated` after every model call, and
 *   `turn/completed {turn: {status: completed|interrupted|failed, error, durationMs}}`.
 * - Approvals are server requests (`{method, id, params}`, ids counting from 0): `item/commandExecution/requestApproval`
 *   (command as the agent runs it, `/bin/bash -lc '…'`), `item/fileChange/requestApproval` (no paths: they are on
 *   the `fileChange` item started just before), `item/tool/requestUserInput`, `item/permissions/requestApproval`,
 *   `mcpServer/elicitation/request`. We answer `{id, result: {decision: "accept" | "decline"}}`; "decline" is
 *   accepted although 0.169.0 lists only `accept`, `acceptWithExecpolicyAmendment` and `cancel` in
 *   `availableDecisions`, and the model goes on after it (the item completes `status: "declined"`).
 *   `serverRequest/resolved {requestId}` follows every answer, and after an interrupt it comes AFTER
 *   `turn/completed` for a request left open.
 * - `turn/interrupt {threadId, turnId}` → `{}` and `turn/completed` `status: "interrupted"` at once; text streamed
 *   so far never gets its `item/completed`.
 * - Errors: `error {error: {message, codexErrorInfo, additionalDetails}, willRetry}` per retry and once more with
 *   `willRetry: false`, then `turn/completed` `failed` with the same error. A 429 ends as
 *   `{"responseTooManyFailedAttempts":{"httpStatusCode":429}}`, a 401 as `{"httpConnectionFailed":{"httpStatusCode":401}}`.
 *   A resume of an unknown thread is the JSON-RPC error `-32600 "no rollout found for thread id …"`.
 * - On stdin EOF the server exits 0 within about 100 ms, even mid-turn (the turn is dropped without `turn/completed`);
 *   `close()` sends nothing.
 */

/** The `approvalPolicy` values of `thread/start` (0.169.0 `AskForApproval`, string forms). */
type ApprovalPolicy = "untrusted" | "on-request" | "never";
/** The `sandbox` values of `thread/start` (`SandboxMode`). */
type SandboxMode = "read-only" | "workspace-write" | "danger-full-access";

/** What a permission mode from config means for app-server. */
export interface CodexPolicy {
  approvalPolicy: ApprovalPolicy;
  sandbox: SandboxMode;
}

/** A server request we reported and have not answered, with what its answer needs. */
interface Pending {
  /** The JSON-RPC id as the server sent it (a number in 0.169.0; strings are allowed). */
  rpcId: string | number;
  method: string;
  /** The turn it belongs to: when that turn ends the request is gone. */
  turnId: string | null;
  /** For `requestUserInput`: the question ids the answer goes to. */
  questionIds?: string[];
  /** For `permissions/requestApproval`: what was asked, granted as is on allow. */
  permissions?: unknown;
}

/** Where the handshake is. */
type Phase = "initializing" | "opening" | "ready" | "failed";

/**
 * Permission modes (`runner.drivers.codex.permissionMode`) and what they mean. The default asks before every
 * command and file change that Codex does not itself count as read-only (`untrusted`; `on-request` would let the
 * model write inside the workspace without asking, checked with the fake model's USE_SHELL on 0.169.0). A sandbox
 * name keeps its meaning from the headless driver and still asks.
 */
const POLICIES: Readonly<Record<string, CodexPolicy>> = {
  default: { approvalPolicy: "untrusted", sandbox: "workspace-write" },
  untrusted: { approvalPolicy: "untrusted", sandbox: "workspace-write" },
  "read-only": { approvalPolicy: "untrusted", sandbox: "read-only" },
  "workspace-write": { approvalPolicy: "untrusted", sandbox: "workspace-write" },
  "danger-full-access": { approvalPolicy: "untrusted", sandbox: "danger-full-access" },
  "on-request": { approvalPolicy: "on-request", sandbox: "workspace-write" },
  "full-auto": { approvalPolicy: "on-request", sandbox: "workspace-write" },
  never: { approvalPolicy: "never", sandbox: "workspace-write" },
  bypass: { approvalPolicy: "never", sandbox: "danger-full-access" },
  yolo: { approvalPolicy: "never", sandbox: "danger-full-access" },
  "dangerously-bypass-approvals-and-sandbox": { approvalPolicy: "never", sandbox: "danger-full-access" },
};

/** The approval policy and sandbox for a permission mode from config; throws `UnsafeArgumentError` for anything else. */
export function codexAppServerPolicy(mode: string | null): CodexPolicy {
  const key = mode ?? "default";
  // hasOwn: "toString" or "__proto__" from config must not read Object.prototype.
  if (!Object.hasOwn(POLICIES, key)) throw new UnsafeArgumentError("permission mode", key, `Codex app-server takes ${Object.keys(POLICIES).join(", ")}`);
  return POLICIES[key] as CodexPolicy;
}

/** What an error response to one of our requests means for the run, or null when the run can go on. */
function failureMessage(method: string, message: string, resumeId: string | null): string | null {
  switch (method) {
    case "initialize":
      return `codex app-server refused initialize: ${message}`;
    case "thread/start":
      return `codex app-server could not start a thread: ${message}`;
    case "thread/resume":
      return /no rollout found|not found|unknown thread/i.test(message)
        ? `Codex has no thread ${resumeId} to resume (${message}); start a new session instead`
        : `codex app-server could not resume thread ${resumeId}: ${message}`;
    case "turn/start":
      return `codex app-server refused the turn: ${message}`;
    default:
      return null;
  }
}

/**
 * Notifications that are only signs of life (deltas, status changes, rate limits, warnings): reported as `system/…`,
 * which the runner keeps out of the event log while they still feed its stall timer.
 */
const CHATTER = /delta|status|ratelimits|warning|summarypartadded|deprecation|goal/i;

/** JSON-RPC error code app-server answers when its queue is full (retry later). */
const OVERLOADED = -32001;

/** The server version in `initialize`'s userAgent (`asm/0.169.0 (Debian …)`). */
const versionOf = (userAgent: string | null): string | null => (userAgent ? (/\/(\d+\.\d+\.\d+[^\s(]*)/.exec(userAgent)?.[1] ?? null) : null);

/** One line of text, at most `n` characters. */
const short = (s: string, n = 300): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** An `error`/`TurnError` object as a worker `error` event. */
export function turnErrorEvent(error: Json | null, willRetry: boolean): Extract<WorkerEvent, { type: "error" }> {
  const message = str(error?.message) ?? "error";
  const details = text(error?.additionalDetails);
  const full = details && !message.includes(details) ? `${message} (${details})` : message;
  const info = codexErrorInfo(error?.codexErrorInfo);
  const reason: ErrorReason = info.reason ?? codexErrorReason(full) ?? "error";
  return { type: "error", reason, message: full, status: info.status, willRetry };
}

/** The paths a `fileChange` item touches (a move names both ends). */
function changedPaths(item: Json | null): string[] {
  const changes = Array.isArray(item?.changes) ? item.changes : [];
  const out: string[] = [];
  for (const c of changes.map(obj)) {
    const path = str(c?.path);
    if (path) out.push(path);
    const moved = str(obj(c?.kind)?.move_path);
    if (moved) out.push(moved);
  }
  return out;
}

/** A completed (or started) thread item as the `tool` event it is, or null for items that are not tools. */
function toolOf(item: Json): WorkerEvent | null {
  switch (str(item.type)) {
    case "commandExecution":
      return { type: "tool", name: "shell", detail: str(item.command) };
    case "fileChange": {
      const paths = changedPaths(item);
      return { type: "tool", name: "file_change", detail: paths.length ? short(paths.join(", ")) : null };
    }
    case "mcpToolCall":
      return { type: "tool", name: [str(item.server), str(item.tool)].filter(Boolean).join("/") || "mcp", detail: toolArgDetail(item.arguments) };
    case "dynamicToolCall":
      return { type: "tool", name: str(item.tool) ?? "tool", detail: toolArgDetail(item.arguments) };
    case "webSearch":
      return { type: "tool", name: "web_search", detail: str(item.query) };
    default:
      return null;
  }
}

/** Token use of one turn from `thread/tokenUsage/updated`, given the thread's total before the turn. */
function usageEvent(tokenUsage: Json, base: Json | null): WorkerEvent | null {
  const total = obj(tokenUsage.total);
  const last = obj(tokenUsage.last);
  if (!total) return null;
  const d = (k: string) => Math.max(0, (num(total[k]) ?? 0) - (num(base?.[k]) ?? 0));
  const input = d("inputTokens");
  const cacheRead = d("cachedInputTokens");
  return {
    type: "usage",
    // Codex counts cached tokens inside inputTokens; the event keeps them apart, as Claude's does.
    input: Math.max(0, input - cacheRead),
    output: d("outputTokens"),
    cacheRead,
    cacheWrite: d("cacheWriteInputTokens"),
    // The last model call's prompt plus its answer is what the window holds now.
    contextTokens: num(last?.totalTokens),
    contextWindow: num(tokenUsage.modelContextWindow),
  };
}

/** The thread total before the turn whose first update this is: its total minus its last call. */
function baseOf(tokenUsage: Json): Json | null {
  const total = obj(tokenUsage.total);
  const last = obj(tokenUsage.last);
  if (!total) return null;
  const out: Json = {};
  for (const [k, v] of Object.entries(total)) out[k] = (num(v) ?? 0) - (num(last?.[k]) ?? 0);
  return out;
}

/** What a command approval would do: run the command line as the agent shows it (input to a running terminal is `other`). */
function commandAction(params: Json): PermissionAction {
  const command = str(params.command);
  const kind = str(params.kind) ?? "command";
  return command && kind === "command" ? { kind: "command", command } : { kind: "other" };
}

/** The `detail` line of a permissions request: what it wants, in short. */
function permissionsDetail(perms: Json | null): string | null {
  if (!perms) return null;
  const parts: string[] = [];
  if (obj(perms.network)) parts.push(`network ${short(JSON.stringify(perms.network), 120)}`);
  if (obj(perms.fileSystem)) parts.push(`files ${short(JSON.stringify(perms.fileSystem), 160)}`);
  return parts.length ? parts.join("; ") : null;
}

/** The turn in progress. */
interface Turn {
  /** Null until `turn/start` answers or `turn/started` arrives. */
  id: string | null;
  /** Thread token totals before this turn (from its first usage update). */
  usageBase: Json | null;
  /** An `error` with `willRetry: false` was reported; `turn/completed failed` does not repeat it. */
  failedReported: boolean;
  /** Streamed agent text by item id, until its `item/completed` (an interrupt leaves it unfinished). */
  partial: Map<string, string>;
  /** The fileChange items seen, for the paths of their approval requests. */
  items: Map<string, Json>;
  /** Commands and file changes we declined in this turn, for `turn_end.denied`. */
  denied: string[];
  /** The latest agent message: the turn's result. */
  lastText: string | null;
  /** An interrupt was asked before the turn id was known. */
  interruptWanted: boolean;
}

/**
 * One app-server conversation: the handshake, one thread, its turns, and the server's requests. Lines in, events
 * out; never throws (a problem is an `error` event or `io.fail`).
 */
export class CodexAppServerSession implements ProtocolSession {
  private phase: Phase = "initializing";
  private nextId = 1;
  /** Our requests awaiting a response: id → method. */
  private readonly calls = new Map<number, string>();
  /** Server requests reported and not answered yet, by the request id we reported. */
  private readonly pending = new Map<string, Pending>();
  /** Turns held until the thread is open or the current turn ends. */
  private readonly queued: string[] = [];
  private threadId: string | null = null;
  private turnState: Turn | null = null;
  private closed = false;
  /** The thread's token totals at the latest usage update (turn usage is counted from here). */
  private threadTotal: Json | null = null;
  /** The server's version, from `initialize`. */
  private version: string | null = null;

  constructor(
    private readonly req: RunRequest,
    private readonly io: ProtocolIO,
    private readonly policy: CodexPolicy = codexAppServerPolicy(req.permissionMode),
  ) {
    this.call("initialize", { clientInfo: { name: "asm", title: "agent-session-manager", version: asmVersion }, capabilities: null });
  }

  onLine(line: string): void {
    const m = parseObject(line);
    if (!m) {
      if (line.trim()) this.io.debug("codex app-server: a stdout line that is not JSON", { line: short(line, 200) });
      return;
    }
    const method = str(m.method);
    const hasId = typeof m.id === "number" || typeof m.id === "string";
    if (method && hasId) this.io.emit(this.onServerRequest(m.id as string | number, method, obj(m.params) ?? {}));
    else if (method) {
      this.io.emit(this.onNotification(method, obj(m.params) ?? {}));
      // After a turn's end is out: a turn held meanwhile starts now.
      this.startNext();
    } else if (hasId) this.onResponse(m.id as string | number, m);
    else this.io.emit([{ type: "other", kind: "unparsed" }]);
  }

  turn(text: string): void {
    if (this.closed || this.phase === "failed") return;
    this.queued.push(text);
    this.startNext();
  }

  reply(requestId: string, reply: Reply): void {
    const p = this.pending.get(requestId);
    if (!p) {
      this.io.debug("codex app-server: answer to a request that is gone", { requestId });
      return;
    }
    this.pending.delete(requestId);
    this.respond(p.rpcId, this.answer(p, reply));
    const tool = p.method === "item/commandExecution/requestApproval" ? "shell" : p.method === "item/fileChange/requestApproval" ? "file_change" : null;
    if (tool && reply.kind === "permission" && !reply.allow) this.turnState?.denied.push(tool);
  }

  interrupt(): void {
    const t = this.turnState;
    if (t?.id && this.threadId) {
      this.call("turn/interrupt", { threadId: this.threadId, turnId: t.id });
      return;
    }
    if (t) {
      t.interruptWanted = true;
      return;
    }
    if (this.queued.length) {
      // Still in the handshake: the turn never started, so it ends here.
      this.queued.length = 0;
      this.io.emit([{ type: "turn_end", result: null, isError: false, costUsd: null, durationMs: null, numTurns: null, denied: [], interrupted: true }]);
    }
  }

  close(): void {
    // app-server 0.169.0 exits 0 by itself once stdin closes (the runner does that next): nothing to send.
    this.closed = true;
    this.queued.length = 0;
  }

  // ── our requests ───────────────────────────────────────────────────────────

  private call(method: string, params: unknown): number {
    const id = this.nextId++;
    this.calls.set(id, method);
    this.io.write(JSON.stringify({ method, id, params }));
    return id;
  }

  private notify(method: string): void {
    this.io.write(JSON.stringify({ method }));
  }

  private respond(id: string | number, result: unknown): void {
    this.io.write(JSON.stringify({ id, result }));
  }

  private respondError(id: string | number, code: number, message: string): void {
    this.io.write(JSON.stringify({ id, error: { code, message } }));
  }

  private openThread(): void {
    this.phase = "opening";
    const { approvalPolicy, sandbox } = this.policy;
    const { model, resumeSessionId: threadId, cwd } = this.req;
    // runSpec checked these already; a session opened some other way must not send them unchecked either.
    const bad =
      model && !SAFE_MODEL.test(model)
        ? new UnsafeArgumentError("model", model)
        : threadId && !THREAD_ID.test(threadId)
          ? new UnsafeArgumentError("session id", threadId)
          : null;
    if (bad) {
      this.fail("error", bad.message);
      return;
    }
    if (threadId) this.call("thread/resume", { threadId, cwd, model, approvalPolicy, sandbox, excludeTurns: true });
    else this.call("thread/start", { cwd, model, approvalPolicy, sandbox });
  }

  private startNext(): void {
    if (this.phase !== "ready" || this.turnState || !this.threadId) return;
    const next = this.queued.shift();
    if (next === undefined) return;
    this.turnState = {
      id: null,
      usageBase: null,
      failedReported: false,
      partial: new Map(),
      items: new Map(),
      denied: [],
      lastText: null,
      interruptWanted: false,
    };
    this.call("turn/start", { threadId: this.threadId, input: [{ type: "text", text: next, text_elements: [] }] });
  }

  private onResponse(id: string | number, m: Json): void {
    const method = typeof id === "number" ? this.calls.get(id) : undefined;
    if (typeof id === "number") this.calls.delete(id);
    if (!method) {
      this.io.debug("codex app-server: a response to nothing we asked", { id });
      return;
    }
    const error = obj(m.error);
    if (error) {
      this.onErrorResponse(method, error);
      return;
    }
    const result = obj(m.result) ?? {};
    switch (method) {
      case "initialize":
        this.version = versionOf(str(result.userAgent));
        this.notify("initialized");
        this.openThread();
        return;
      case "thread/start":
      case "thread/resume": {
        const thread = obj(result.thread);
        const id = str(thread?.id);
        if (!id) {
          this.fail("error", `codex app-server answered ${method} without a thread id`);
          return;
        }
        if (!THREAD_ID.test(id)) this.io.debug("codex app-server: a thread id the headless driver could not resume", { id });
        this.threadId = id;
        this.phase = "ready";
        this.io.emit([{ type: "init", sessionId: id, model: str(result.model) ?? str(thread?.model), version: this.version ?? str(thread?.cliVersion) }]);
        this.startNext();
        return;
      }
      case "turn/start": {
        const turnId = str(obj(result.turn)?.id);
        if (this.turnState && turnId && !this.turnState.id) this.setTurnId(turnId);
        return;
      }
      default:
        return;
    }
  }

  private onErrorResponse(method: string, error: Json): void {
    const code = num(error.code);
    const message = str(error.message) ?? "error";
    const fatal = failureMessage(method, message, this.req.resumeSessionId);
    if (code === OVERLOADED) this.fail("overloaded", `codex app-server is overloaded (${method}: ${message}); retry later`);
    else if (fatal) this.fail("error", fatal);
    // turn/interrupt after the turn already ended, and the like: nothing to undo.
    else this.io.debug("codex app-server: an error response", { method, code, message });
  }

  private fail(reason: ErrorReason, message: string): void {
    if (this.phase === "failed") return;
    this.phase = "failed";
    this.queued.length = 0;
    this.io.fail(reason, message);
  }

  private setTurnId(turnId: string): void {
    const t = this.turnState;
    if (!t) return;
    t.id = turnId;
    if (t.interruptWanted && this.threadId) {
      t.interruptWanted = false;
      this.call("turn/interrupt", { threadId: this.threadId, turnId });
    }
  }

  // ── notifications ──────────────────────────────────────────────────────────

  private onNotification(method: string, p: Json): WorkerEvent[] {
    const t = this.turnState;
    switch (method) {
      case "turn/started": {
        const id = str(obj(p.turn)?.id);
        if (t && id && !t.id) this.setTurnId(id);
        return [{ type: "other", kind: method }];
      }
      case "item/agentMessage/delta": {
        const itemId = str(p.itemId);
        if (t && itemId) t.partial.set(itemId, (t.partial.get(itemId) ?? "") + (str(p.delta) ?? ""));
        // Not stored as an event (the runner drops `system/` kinds) but keeps the stall timer fed.
        return [{ type: "other", kind: `system/${method}` }];
      }
      case "item/started": {
        const item = obj(p.item);
        if (t && item && str(item.type) === "fileChange" && str(item.id)) t.items.set(str(item.id) as string, item);
        // The tool event comes with the item's completion; its start is only a sign of life.
        return [{ type: "other", kind: `system/${method}/${str(item?.type) ?? "?"}` }];
      }
      case "item/completed":
        return this.itemCompleted(obj(p.item));
      case "thread/tokenUsage/updated": {
        const usage = obj(p.tokenUsage);
        if (!usage) return [];
        const ours = t?.id !== null && t?.id !== undefined && str(p.turnId) === t.id;
        const total = obj(usage.total);
        // An update for another turn is the thread's total restored on resume (0.169.0 sends one, naming the
        // previous turn, right after thread/resume): it sets where this run's counting starts and tells the context.
        if (!ours || !t) {
          this.threadTotal = total;
          return [usageEvent(usage, total)].filter((e): e is WorkerEvent => e !== null);
        }
        t.usageBase ??= this.threadTotal ?? baseOf(usage);
        this.threadTotal = total;
        const e = usageEvent(usage, t.usageBase);
        return e ? [e] : [];
      }
      case "error": {
        const e = turnErrorEvent(obj(p.error), p.willRetry === true);
        if (t && !e.willRetry) t.failedReported = true;
        return [e];
      }
      case "turn/completed":
        return this.turnCompleted(obj(p.turn));
      case "model/rerouted":
        return [{ type: "model_switch", from: str(p.fromModel), to: str(p.toModel) ?? "?", reason: str(p.reason) }];
      case "serverRequest/resolved": {
        const id = p.requestId;
        const key = typeof id === "number" || typeof id === "string" ? String(id) : null;
        // Resolved without our answer (the turn was interrupted, or the server timed it out): nobody can answer now.
        if (key && this.pending.delete(key)) return [{ type: "request_cancelled", requestId: key }];
        return [{ type: "other", kind: `system/${method}` }];
      }
      default:
        // Deltas, status changes, rate limits, warnings: kept out of the event log, but they are signs of life.
        return [{ type: "other", kind: CHATTER.test(method) ? `system/${method}` : method }];
    }
  }

  private itemCompleted(item: Json | null): WorkerEvent[] {
    const t = this.turnState;
    if (!item) return [{ type: "other", kind: "item/completed" }];
    const id = str(item.id);
    const type = str(item.type) ?? "?";
    if (type === "agentMessage") {
      if (t && id) t.partial.delete(id);
      const body = text(item.text);
      if (!body) return [{ type: "other", kind: `item/completed/${type}` }];
      if (t) t.lastText = body;
      return [{ type: "text", text: body }];
    }
    if (t && id) t.items.delete(id);
    return [toolOf(item) ?? { type: "other", kind: `item/completed/${type}` }];
  }

  /** The turn's end (the next held turn starts once these events are out). */
  private turnCompleted(turn: Json | null): WorkerEvent[] {
    const t = this.turnState;
    this.turnState = null;
    const events: WorkerEvent[] = [];
    // Text that never completed (an interrupt cuts the message): what was said still counts.
    for (const body of t?.partial.values() ?? []) if (body) events.push({ type: "text", text: body });
    const turnId = str(turn?.id) ?? t?.id ?? null;
    // Requests of this turn left open are gone with it (serverRequest/resolved only follows turn/completed).
    for (const [key, p] of this.pending) {
      if (p.turnId === null || p.turnId === turnId) {
        this.pending.delete(key);
        events.push({ type: "request_cancelled", requestId: key });
      }
    }
    const status = str(turn?.status) ?? "completed";
    const error = obj(turn?.error);
    let result = t?.lastText ?? null;
    if (status === "failed") {
      const e = turnErrorEvent(error, false);
      if (!t?.failedReported) events.push(e);
      result = e.message;
    }
    events.push({
      type: "turn_end",
      result,
      isError: status === "failed",
      costUsd: null,
      durationMs: num(turn?.durationMs),
      numTurns: null,
      denied: t?.denied ?? [],
      ...(status === "interrupted" ? { interrupted: true } : {}),
    });
    return events;
  }

  // ── server requests ────────────────────────────────────────────────────────

  private onServerRequest(rpcId: string | number, method: string, p: Json): WorkerEvent[] {
    const key = String(rpcId);
    const turnId = str(p.turnId);
    switch (method) {
      case "item/commandExecution/requestApproval": {
        this.pending.set(key, { rpcId, method, turnId });
        const action = commandAction(p);
        const detail = str(p.command);
        return [{ type: "permission", requestId: key, tool: "shell", detail, reason: str(p.reason), input: p, action }];
      }
      case "item/fileChange/requestApproval": {
        this.pending.set(key, { rpcId, method, turnId });
        const item = this.turnState?.items.get(str(p.itemId) ?? "") ?? null;
        const paths = changedPaths(item);
        const grantRoot = str(p.grantRoot);
        // Asking for a write root is wider than the listed files: a person decides.
        const action: PermissionAction = paths.length && !grantRoot ? { kind: "edit", paths } : { kind: "other" };
        const detail = grantRoot ? `write under ${grantRoot}` : paths.length ? short(paths.join(", ")) : null;
        return [
          { type: "permission", requestId: key, tool: "file_change", detail, reason: str(p.reason), input: { ...p, changes: item?.changes ?? null }, action },
        ];
      }
      case "item/permissions/requestApproval": {
        this.pending.set(key, { rpcId, method, turnId, permissions: p.permissions ?? {} });
        const detail = permissionsDetail(obj(p.permissions));
        return [{ type: "permission", requestId: key, tool: "permissions", detail, reason: str(p.reason), input: p, action: { kind: "other" } }];
      }
      case "item/tool/requestUserInput": {
        const questions = (Array.isArray(p.questions) ? p.questions : []).map(obj).filter((q): q is Json => q !== null);
        this.pending.set(key, { rpcId, method, turnId, questionIds: questions.map((q) => str(q.id) ?? "") });
        const lines = questions.map((q) => [text(q.header), str(q.question)].filter(Boolean).join(": "));
        // One answer per request: the options are offered only when there is one question to answer.
        const options =
          questions.length === 1 && Array.isArray(questions[0]?.options)
            ? (questions[0].options as unknown[]).map((o) => str(obj(o)?.label)).filter((l): l is string => !!l)
            : [];
        return [{ type: "question", requestId: key, text: lines.join("\n") || "Codex asks for input", ...(options.length ? { options } : {}) }];
      }
      case "mcpServer/elicitation/request":
        // An MCP server asking the person for data through Codex: not something a phone topic answers; declined.
        this.respond(rpcId, { action: "decline", content: null, _meta: null });
        return [{ type: "other", kind: `${method} (declined)` }];
      default:
        // Dynamic tools, ChatGPT token refresh, attestation: asm registered none of these.
        this.respondError(rpcId, -32601, `asm does not handle ${method}`);
        return [{ type: "other", kind: `${method} (refused)` }];
    }
  }

  /** The response body for an answered request, in the shape its method takes. */
  private answer(p: Pending, reply: Reply): unknown {
    if (p.method === "item/tool/requestUserInput") {
      const answer = reply.kind === "question" ? reply.answer : null;
      if (answer === null) return { answers: {} };
      return { answers: Object.fromEntries((p.questionIds ?? []).map((id) => [id, { answers: [answer] }])) };
    }
    const allow = reply.kind === "permission" ? reply.allow : reply.answer !== null;
    if (p.method === "item/permissions/requestApproval")
      return allow ? { permissions: p.permissions ?? {}, scope: "turn" } : { permissions: {}, scope: "turn" };
    // Command and file-change approvals. "decline" lets the model go on (the item ends `declined`); the decision has
    // no field for a message, so a denial's reason does not reach the model.
    return { decision: allow ? "accept" : "decline" };
  }
}

/**
 * Codex as a managed worker through `codex app-server`: one long-lived process per run, turns and answers as
 * JSON-RPC on stdin, so command and file-change approvals and Codex's questions reach the chat. The headless
 * `codexDriver` (codex exec) stays for `interface: "headless"`.
 */
export const codexAppServerDriver: Driver = {
  platform: "codex",
  defaultCommand: ["codex"],
  multiTurn: true,
  canAsk: true,
  sessionIdPattern: THREAD_ID,
  runSpec(req: RunRequest): RunSpec {
    // Validated here so a bad value never starts a process; the values travel as JSON-RPC params, not argv.
    codexAppServerPolicy(req.permissionMode);
    if (req.model) checkedArg("model", req.model, SAFE_MODEL);
    if (req.resumeSessionId) checkedArg("session id", req.resumeSessionId, THREAD_ID);
    return { args: ["app-server"], prompt: "protocol", env: { PWD: req.cwd } };
  },
  // The session reads the stream (`openSession`); a line alone is only named.
  parseLine(line: string): WorkerEvent[] {
    const m = parseObject(line);
    return [{ type: "other", kind: str(m?.method) ?? (m ? "response" : "unparsed") }];
  },
  openSession(req: RunRequest, _spec: RunSpec, io: ProtocolIO): ProtocolSession {
    return new CodexAppServerSession(req, io);
  },
};
