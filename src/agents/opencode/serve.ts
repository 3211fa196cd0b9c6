import { randomBytes } from "node:crypto";
import { type Json, obj, parseObject, str } from "../../lib/json-value.ts";
import {
  checkedArg,
  type Driver,
  type ProtocolIO,
  type ProtocolSession,
  type Reply,
  type RunRequest,
  type RunSpec,
  UnsafeArgumentError,
  type WorkerEvent,
} from "../driver.ts";
import { opencodeDriver } from "./driver.ts";
import { LOOPBACK_URL, ServeClient, ServeHttpError, ServeUnreachableError } from "./serve-client.ts";
import {
  errorEvent,
  partEvents,
  permissionEvent,
  questionAnswers,
  questionEvent,
  reconcileTurn,
  retryEvent,
  type TurnSeen,
  turnStillOpen,
} from "./serve-events.ts";

/** One rule of an OpenCode permission ruleset (`POST /session` `permission`, `PATCH /session/{id}`). */
export interface PermissionRule {
  permission: string;
  pattern: string;
  action: "allow" | "ask" | "deny";
}

/** The turn in progress: what its events already said, and how it is ending. */
interface Turn {
  startedAt: number;
  seen: TurnSeen;
  /** `session.status` busy arrived since the prompt: an idle after it ends this turn, an earlier one is stale. */
  busy: boolean;
  interrupted: boolean;
  /** The turn is being reconciled (idle seen); later idles are ignored. */
  ending: boolean;
  /** Retry notices already reported (`session.status` retry repeats per attempt). */
  retries: Set<number>;
}

/** A request we reported and have not answered. */
interface Pending {
  kind: "permission" | "question";
  questions: number;
}

/** `opencode serve` prints this once it listens (1.18.33, on stdout; `--port 0` picks 4096 when free, else a free port). */
const LISTENING = /opencode server listening on (http:\/\/\S+)/;

/** OpenCode ids as they appear in routes. */
const SESSION_ID = /^ses_[A-Za-z0-9]{10,60}$/;
const REQUEST_ID = /^(per|que)_[A-Za-z0-9]{10,60}$/;
/** `provider/model`, as `--model` takes it. */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}$/;

/** How many messages the reconciliation reads back (a turn of more model calls than this is summed from its tail). */
const MESSAGE_PAGE = 200;
/** An idle that came before any busy is checked against `GET /session/status` this much later. */
const IDLE_RECHECK_MS = 1000;
/** The first event (`server.connected`) must come this soon after subscribing. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

/**
 * The permission ruleset per `runner.drivers.opencode.permissionMode`, given to the session at create (and on
 * resume), after the config's own rules so it wins:
 * - default (null): ask before any file change and any command; reads, searches and the rest keep OpenCode's
 *   defaults (1.18.33 allows them, asks for paths outside the project);
 * - acceptEdits: file changes allowed, commands ask;
 * - auto: both allowed (what `opencode run --auto` does);
 * - reject: both refused without asking (a read-only worker).
 */
export const permissionModes: Record<string, PermissionRule[]> = {
  default: rules("ask", "ask"),
  acceptEdits: rules("allow", "ask"),
  auto: rules("allow", "allow"),
  reject: rules("deny", "deny"),
};

function rules(edit: PermissionRule["action"], bash: PermissionRule["action"]): PermissionRule[] {
  return [
    { permission: "edit", pattern: "*", action: edit },
    { permission: "bash", pattern: "*", action: bash },
  ];
}

/** The ruleset for a permission mode; throws `UnsafeArgumentError` for a mode OpenCode serve does not have. */
export function permissionRuleset(mode: string | null): PermissionRule[] {
  const r = Object.hasOwn(permissionModes, mode ?? "default") ? permissionModes[mode ?? "default"] : undefined;
  if (!r) throw new UnsafeArgumentError("permission mode", mode ?? "", `OpenCode serve takes ${Object.keys(permissionModes).join(", ")}`);
  return r;
}

/**
 * One worker's conversation with `opencode serve` over HTTP + SSE (RUNNER.md §1.4). The runner starts the
 * server (runSpec) and hands us its stdout; the listening line gives the URL. Then: subscribe to `GET /event`
 * (before anything can happen), `GET /path` (the worktree read patterns are relative to), create the session
 * with the permission ruleset (or check and re-rule the resumed one), `init`, and one `prompt_async` per turn.
 * Events of our session (and of sub-agent sessions it starts) become worker events; `session.status` idle
 * ends the turn with totals read back from `GET /session/{id}/message`, because the stream is best effort.
 * A stream that drops is reopened once (then pending requests and the turn's state are read back).
 */
export class OpencodeServeSession implements ProtocolSession {
  #client: ServeClient | null = null;
  #sessionId: string | null = null;
  /** Our session and the sub-agent sessions it created: their permission requests are ours to answer. */
  readonly #family = new Set<string>();
  #worktree: string | null = null;
  #ready = false;
  readonly #held: string[] = [];
  #turn: Turn | null = null;
  readonly #pending = new Map<string, Pending>();
  /** Requests already reported (a reconnect lists the pending ones again). */
  readonly #reported = new Set<string>();
  /** Assistant text parts are reported once; user message ids let us skip the prompt's own parts. */
  readonly #userMessages = new Set<string>();
  #events = new AbortController();
  #reconnected = false;
  #closed = false;
  #failed = false;

  constructor(
    private readonly req: RunRequest,
    private readonly spec: RunSpec,
    private readonly io: ProtocolIO,
  ) {}

  onLine(line: string): void {
    if (this.#client || this.#failed) return;
    const url = LISTENING.exec(line)?.[1];
    if (!url) {
      if (line.trim()) this.io.debug("opencode serve: stdout", { line: line.slice(0, 200) });
      return;
    }
    if (!LOOPBACK_URL.test(url)) {
      this.#fail("error", `opencode serve listens on ${url}, not on 127.0.0.1; refusing to talk to it`);
      return;
    }
    const password = this.spec.env?.OPENCODE_SERVER_PASSWORD;
    if (!password) {
      this.#fail("error", "no OPENCODE_SERVER_PASSWORD in the run's environment");
      return;
    }
    this.#client = new ServeClient(url, password);
    void this.#start().catch((e) => this.#failFrom("starting", e));
  }

  turn(text: string): void {
    if (this.#closed) return;
    if (!this.#ready) {
      this.#held.push(text);
      return;
    }
    void this.#prompt(text).catch((e) => this.#failFrom("sending the prompt", e));
  }

  reply(requestId: string, reply: Reply): void {
    const pending = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    if (!this.#client || !REQUEST_ID.test(requestId)) {
      this.io.debug("opencode serve: reply to an unknown request", { requestId });
      return;
    }
    const [path, body] =
      reply.kind === "permission"
        ? [`/permission/${requestId}/reply`, reply.allow ? { reply: "once" } : { reply: "reject", ...(reply.message ? { message: reply.message } : {}) }]
        : reply.answer === null
          ? [`/question/${requestId}/reject`, undefined]
          : [`/question/${requestId}/reply`, { answers: questionAnswers(pending?.questions ?? 1, reply.answer) }];
    this.#client.json("POST", path, body).catch((e) => {
      // 404: OpenCode no longer has the request (answered elsewhere, or the turn was aborted).
      if (e instanceof ServeHttpError && e.status === 404) return this.io.emit([{ type: "request_cancelled", requestId }]);
      this.#failFrom("answering a request", e);
    });
  }

  interrupt(): void {
    if (!this.#turn && this.#held.length) {
      // Interrupted before the server was ready: the held prompt is never sent.
      this.#held.length = 0;
      this.io.emit([{ type: "turn_end", result: null, isError: false, costUsd: null, durationMs: null, numTurns: null, denied: [], interrupted: true }]);
      return;
    }
    if (!this.#client || !this.#sessionId || !this.#turn) return;
    this.#turn.interrupted = true;
    this.#client.json("POST", `/session/${this.#sessionId}/abort`).catch((e) => this.#failFrom("aborting the turn", e));
  }

  close(): void {
    this.#closed = true;
    this.#events.abort();
  }

  // ---- start-up

  async #start(): Promise<void> {
    const client = this.#client as ServeClient;
    await this.#subscribe();
    const paths = obj(await client.json("GET", "/path").catch(() => null));
    this.#worktree = str(paths?.worktree);
    const ruleset = permissionRuleset(this.req.permissionMode);
    let session: Json | null;
    if (this.req.resumeSessionId) {
      const id = checkedArg("session id", this.req.resumeSessionId, SESSION_ID);
      try {
        session = obj(await client.json("GET", `/session/${id}`));
      } catch (e) {
        if (e instanceof ServeHttpError && e.status === 404) return this.#fail("error", `OpenCode has no session ${id} for ${this.req.cwd}`);
        throw e;
      }
      // A session made elsewhere (`opencode run` denies questions) gets this worker's rules.
      session = obj(await client.json("PATCH", `/session/${id}`, { permission: ruleset })) ?? session;
    } else {
      session = obj(await client.json("POST", "/session", { permission: ruleset }));
    }
    const id = str(session?.id);
    if (!id || !SESSION_ID.test(id)) return this.#fail("error", `opencode serve created no usable session (${JSON.stringify(session).slice(0, 120)})`);
    this.#sessionId = id;
    this.#family.add(id);
    this.io.emit([{ type: "init", sessionId: id, model: this.req.model, version: str(session?.version) }]);
    this.#ready = true;
    for (const text of this.#held.splice(0)) await this.#prompt(text);
  }

  /** Opens the event stream and waits for its first event, so nothing that follows can be missed. */
  async #subscribe(): Promise<void> {
    const client = this.#client as ServeClient;
    this.#events = new AbortController();
    const stream = (await client.events(this.#events.signal))[Symbol.asyncIterator]();
    const first = await Promise.race([stream.next(), new Promise<null>((r) => setTimeout(r, SUBSCRIBE_TIMEOUT_MS, null).unref())]);
    if (!first || first.done) throw new Error("the event stream gave no first event");
    this.#onEvent(first.value);
    void this.#read(stream);
  }

  async #read(stream: AsyncIterator<string>): Promise<void> {
    try {
      for (let n = await stream.next(); !n.done; n = await stream.next()) this.#onEvent(n.value);
    } catch (e) {
      if (this.#closed) return;
      this.io.debug("opencode serve: event stream error", { error: e instanceof Error ? e.message : String(e) });
    }
    if (this.#closed || this.#failed) return;
    if (this.#reconnected) return this.#fail("error", "OpenCode's event stream dropped twice");
    this.#reconnected = true;
    this.io.debug("opencode serve: event stream dropped, reconnecting");
    try {
      await this.#subscribe();
      await this.#catchUp();
    } catch (e) {
      this.#failFrom("reconnecting to the event stream", e);
    }
  }

  /** After a reconnect: the requests still waiting, and the turn's end if it ended while we were away. */
  async #catchUp(): Promise<void> {
    const client = this.#client as ServeClient;
    for (const [route, kind] of [
      ["/permission", "permission.asked"],
      ["/question", "question.asked"],
    ] as const) {
      const list = await client.json("GET", route).catch(() => null);
      for (const p of Array.isArray(list) ? list : []) this.#onPayload({ type: kind, properties: p });
    }
    if (!this.#turn || this.#turn.ending || !this.#sessionId) return;
    const status = obj(await client.json("GET", "/session/status"));
    if (!obj(status?.[this.#sessionId])) void this.#endTurn();
  }

  // ---- turns

  async #prompt(text: string): Promise<void> {
    const client = this.#client as ServeClient;
    this.#turn = { startedAt: Date.now(), seen: { parts: new Set(), error: false }, busy: false, interrupted: false, ending: false, retries: new Set() };
    const body: Json = { parts: [{ type: "text", text }] };
    const model = this.req.model ? checkedArg("model", this.req.model, MODEL) : null;
    if (model) body.model = { providerID: model.slice(0, model.indexOf("/")), modelID: model.slice(model.indexOf("/") + 1) };
    await client.json("POST", `/session/${this.#sessionId}/prompt_async`, body);
  }

  /** Idle: read the turn back from the messages, report what the stream missed, the totals and the end. */
  async #endTurn(): Promise<void> {
    const turn = this.#turn;
    if (!turn || turn.ending) return;
    turn.ending = true;
    const client = this.#client as ServeClient;
    let list: unknown = null;
    // The idle event can overtake the last message update: read again while the last message is still open.
    for (let attempt = 0; attempt < 5; attempt++) {
      list = await client.json("GET", `/session/${this.#sessionId}/message?limit=${MESSAGE_PAGE}`).catch((e) => {
        this.io.debug("opencode serve: reading the messages failed", { error: e instanceof Error ? e.message : String(e) });
        return null;
      });
      if (!turnStillOpen(list)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (this.#closed) return;
    const cancelled: WorkerEvent[] = [...this.#pending.keys()].map((requestId) => ({ type: "request_cancelled", requestId }));
    this.#pending.clear();
    const end = reconcileTurn(list, { seen: turn.seen, interrupted: turn.interrupted, durationMs: Date.now() - turn.startedAt });
    if (this.#turn === turn) this.#turn = null;
    this.io.emit([...cancelled, ...end]);
  }

  // ---- events

  #onEvent(data: string): void {
    const d = parseObject(data);
    if (!d || typeof d.type !== "string") {
      this.io.debug("opencode serve: unreadable event ignored", { data: data.slice(0, 120) });
      return;
    }
    this.#onPayload(d);
  }

  #onPayload(d: Json): void {
    const p = obj(d.properties) ?? {};
    const sid = str(p.sessionID);
    if (d.type === "session.created") {
      const info = obj(p.info);
      const parent = str(info?.parentID);
      if (parent && this.#family.has(parent) && str(info?.id)) this.#family.add(str(info?.id) as string);
      return;
    }
    if (!sid || !this.#family.has(sid)) return;
    const own = sid === this.#sessionId;
    const turn = this.#turn;
    switch (d.type) {
      case "permission.asked":
      case "question.asked": {
        const ev = d.type === "permission.asked" ? permissionEvent(p, this.#worktree) : questionEvent(p);
        if (!ev || this.#reported.has(ev.requestId)) return;
        this.#reported.add(ev.requestId);
        this.#pending.set(ev.requestId, { kind: ev.type, questions: Array.isArray(p.questions) ? p.questions.length : 0 });
        this.io.emit([ev]);
        return;
      }
      case "permission.replied":
      case "question.replied":
      case "question.rejected": {
        // Answered, but not by us (another client, or OpenCode itself on abort): nobody can answer it now.
        const requestId = str(p.requestID);
        if (requestId && this.#pending.delete(requestId)) this.io.emit([{ type: "request_cancelled", requestId }]);
        return;
      }
    }
    if (!own) return;
    switch (d.type) {
      case "message.updated": {
        const info = obj(p.info);
        if (info?.role === "user" && str(info.id)) this.#userMessages.add(str(info.id) as string);
        return;
      }
      case "message.part.updated": {
        const part = obj(p.part);
        if (!turn || !part || this.#userMessages.has(str(part.messageID) ?? "")) return;
        const evs = partEvents(part, turn.seen);
        if (evs.length) this.io.emit(evs);
        return;
      }
      case "session.status": {
        const status = obj(p.status);
        if (!turn || !status) return;
        if (status.type === "busy") turn.busy = true;
        else if (status.type === "retry") {
          const attempt = typeof status.attempt === "number" ? status.attempt : 0;
          if (turn.retries.has(attempt)) return;
          turn.retries.add(attempt);
          this.io.emit([retryEvent(status)]);
        } else if (status.type === "idle") this.#onIdle(turn);
        return;
      }
      case "session.idle":
        if (turn) this.#onIdle(turn);
        return;
      case "session.error": {
        const error = obj(p.error);
        if (!turn || !error) return;
        turn.seen.error = true;
        if (error.name === "MessageAbortedError") turn.interrupted = true;
        this.io.emit([errorEvent(error)]);
        return;
      }
    }
  }

  #onIdle(turn: Turn): void {
    if (turn.busy) {
      void this.#endTurn().catch((e) => this.#failFrom("ending the turn", e));
      return;
    }
    // An idle before our prompt made the session busy is most likely the previous turn's second idle. Unless a
    // busy follows, the busy event was lost: look again in a second and end the turn if the server says idle.
    setTimeout(() => {
      if (this.#turn !== turn || turn.busy || this.#closed || !this.#client) return;
      this.#client
        .json("GET", "/session/status")
        .then((s) => {
          if (this.#turn === turn && !turn.busy && !obj(obj(s)?.[this.#sessionId as string])) return this.#endTurn();
        })
        .catch((e) => this.io.debug("opencode serve: status check failed", { error: e instanceof Error ? e.message : String(e) }));
    }, IDLE_RECHECK_MS).unref();
  }

  // ---- failure

  #fail(reason: "error", message: string): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#events.abort();
    this.io.fail(reason, message);
  }

  #failFrom(doing: string, e: unknown): void {
    if (this.#closed) return;
    if (e instanceof UnsafeArgumentError) {
      this.#fail("error", e.message);
      return;
    }
    if (e instanceof ServeHttpError && e.status === 401) {
      this.#fail("error", `opencode serve refused our password while ${doing} (401)`);
      return;
    }
    if (e instanceof ServeHttpError || e instanceof ServeUnreachableError) {
      this.#fail("error", `opencode serve, ${doing}: ${e.message}`);
      return;
    }
    this.#fail("error", `opencode serve, ${doing}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * OpenCode driven through `opencode serve` (issue 15): the worker's permission requests and questions reach the
 * chat. One server per worker run, on 127.0.0.1 with a fresh random password (`OPENCODE_SERVER_PASSWORD`,
 * basic auth user `opencode`); many turns per process. `parseLine` is the headless parser's, unused here
 * (the runner routes stdout to the session).
 */
export const opencodeServeDriver: Driver = {
  platform: "opencode",
  defaultCommand: ["opencode"],
  multiTurn: true,
  canAsk: true,
  sessionIdPattern: SESSION_ID,
  runSpec(req: RunRequest): RunSpec {
    if (req.model) checkedArg("model", req.model, MODEL);
    if (req.resumeSessionId) checkedArg("session id", req.resumeSessionId, SESSION_ID);
    permissionRuleset(req.permissionMode);
    // PWD = the workspace: OpenCode takes its project folder from $PWD, not the process's cwd (driver.ts).
    return {
      args: ["serve", "--hostname", "127.0.0.1", "--port", "0"],
      prompt: "protocol",
      env: { PWD: req.cwd, OPENCODE_SERVER_PASSWORD: randomBytes(24).toString("base64url") },
    };
  },
  parseLine: opencodeDriver.parseLine,
  openSession(req: RunRequest, spec: RunSpec, io: ProtocolIO): ProtocolSession {
    return new OpencodeServeSession(req, spec, io);
  },
};
