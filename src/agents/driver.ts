import type { Config } from "../config/schema.ts";
import type { ErrorReason } from "./error-reason.ts";
import type { Platform } from "./session.ts";

/**
 * What a managed worker's CLI said, in one vocabulary for all five agents. Each agent's stream parser
 * (`src/agents/<agent>/stream.ts`) turns its own lines into these; the runner (`src/runner/`) never
 * reads an agent's wire format.
 */
export type WorkerEvent =
  /** The CLI started a session: its id as the agent names it (never assumed), the model, its version. */
  | {
      type: "init";
      sessionId: string;
      model?: string | null;
      version?: string | null;
      /** The agent inside the CLI that owns the session (OpenClaw's `main`), part of the session uid. */
      agentId?: string | null;
    }
  /**
   * Assistant text: a whole block, unless `delta` is true (Gemini's stream-json sends only pieces): then a
   * streamed piece of one block, to be joined with the text deltas that directly follow it.
   */
  | { type: "text"; text: string; delta?: true }
  /** A tool call the agent made (or asks to make); `detail` is the command, file or first argument. */
  | { type: "tool"; name: string; detail: string | null }
  /** Token usage so far in this turn or after it. `contextTokens` is the context size now, when known. */
  | { type: "usage"; input: number; output: number; cacheRead: number; cacheWrite: number; contextTokens: number | null; contextWindow?: number | null }
  /**
   * The agent asks permission for a tool (Claude `can_use_tool`, Codex/Gemini/OpenCode approval requests).
   * `requestId` is the agent's own id, echoed back in the answer.
   */
  | {
      type: "permission";
      requestId: string;
      tool: string;
      detail: string | null;
      reason: string | null;
      input?: unknown;
      /** What the tool would do, in the terms auto-response rules match on; absent = `other` (never auto-answered). */
      action?: PermissionAction;
    }
  /**
   * The agent asks the person a question (AskUserQuestion, Codex request_user_input, OpenCode question).
   * `options` are the answers it offers (buttons); a free-text answer is always possible.
   */
  | { type: "question"; requestId: string; text: string; options?: string[]; input?: unknown }
  /** The agent withdrew a request it made (Claude `control_cancel_request`, e.g. after an interrupt): nobody can answer it now. */
  | { type: "request_cancelled"; requestId: string }
  /** A turn ended. `isError`: the CLI itself says the turn failed. `denied`: tools the CLI refused on its own. */
  | {
      type: "turn_end";
      result: string | null;
      isError: boolean;
      costUsd: number | null;
      durationMs: number | null;
      numTurns: number | null;
      denied: string[];
      /** The CLI ended the turn because we interrupted it. */
      interrupted?: boolean;
    }
  /** A classified error the CLI reported (a retry notice is `willRetry: true`, not a failure). */
  | { type: "error"; reason: ErrorReason; message: string; status?: number | null; willRetry?: boolean }
  /** The agent switched models on its own (Claude `--fallback-model`, OpenClaw failover, Codex reroute). */
  | { type: "model_switch"; from: string | null; to: string; reason: string | null }
  /** A line that parsed but that we do not use; kept so `/worker <id> events` shows everything. */
  | { type: "other"; kind: string };

/**
 * What a permission request would do. Auto-response rules (`runner.drivers.<agent>.autoRespond`) match on this,
 * never on the agent's own tool names, so one rule reads the same for all five agents.
 * - `read`: read (or list, search) these paths; `edit`: create, change or delete them. Paths as the agent gave them,
 *   absolute or relative to the worker's folder; the rule checks they stay inside the workspace.
 * - `command`: run this shell command line (as one string, as the agent shows it).
 * - `other`: anything else (network, MCP tools, new permissions): always asks a person.
 */
export type PermissionAction = { kind: "read" | "edit"; paths: string[] } | { kind: "command"; command: string } | { kind: "other" };

/** The kinds of `WorkerEvent`, for filtering (`/worker <id> events tool`). */
export type WorkerEventType = WorkerEvent["type"];

/** How a run gets its prompt: written to stdin and closed, written to a file, or sent as protocol messages. */
export type PromptChannel = "stdin" | "file" | "protocol";

/** What the runner needs to start one CLI run. */
export interface RunSpec {
  /** Arguments after the configured command prefix. No chat text ever lands here. */
  args: string[];
  /**
   * The program to run instead of `runner.drivers.<agent>.command` / `defaultCommand`, when the driver runs a
   * helper asm ships rather than the agent's CLI (OpenClaw's gateway bridge: this Node). `args` follow it.
   */
  command?: string[];
  /** How the prompt travels (never argv). */
  prompt: PromptChannel;
  /** For `file`: the argument that names the file, placed by the runner as `<flag> <path>` at the end. */
  promptFileFlag?: string;
  /** Extra environment the protocol needs (e.g. Claude's session-state events). */
  env?: Record<string, string>;
  /**
   * The session id this run uses when the driver put a new one into argv itself (OpenClaw), so the runner
   * knows it before the CLI says anything. The `init` event still wins if it differs.
   */
  sessionId?: string;
}

/** What a run is for: a new session or the next turn of an existing one. */
export interface RunRequest {
  /** The agent session to continue; null for a new session. Validated by `sessionIdPattern`. */
  resumeSessionId: string | null;
  /** Model id to ask for, or null for the CLI's default. */
  model: string | null;
  /** Absolute workspace folder (the runner has already checked it is configured). */
  cwd: string;
  /** Driver permission policy from config. */
  permissionMode: string | null;
  /**
   * Optional: the id a NEW session should get, for CLIs that accept one (Gemini `--session-id`, OpenClaw
   * `--session-id`); ignored when `resumeSessionId` is set and by CLIs that choose their own id. Validated
   * by `sessionIdPattern`. When absent, a driver that needs a fresh id up front (OpenClaw, whose default is
   * the person's main session) makes one and reports it in `RunSpec.sessionId`.
   */
  newSessionId?: string | null;
}

/**
 * One agent CLI as the runner drives it: how to start it, how to read it, and — for CLIs with a control
 * protocol — how to talk back. Pure: no process handling here, so the same parser serves the live stream
 * and the recorded fixtures.
 */
export interface Driver {
  readonly platform: Platform;
  /** The executable name when `runner.drivers.<agent>.command` is not set. */
  readonly defaultCommand: readonly string[];
  /**
   * True when one process serves many turns (Claude stream-json): the next turn is written to stdin.
   * False when each turn is a new process resumed by session id.
   */
  readonly multiTurn: boolean;
  /** True when the agent can ask permission at run time (otherwise the config's policy decides up front). */
  readonly canAsk: boolean;
  /** Valid session ids for this CLI, checked before an id goes into argv. */
  readonly sessionIdPattern: RegExp;
  /** The argv and prompt channel for a run. */
  runSpec(req: RunRequest): RunSpec;
  /**
   * How long a run must wait before its CLI starts (ms; 0 = now), for a CLI that would damage its own session if
   * started now (Gemini 0.61.0 resuming in the minute the session began). The worker stays queued meanwhile.
   */
  startDelayMs?(req: RunRequest, now: number): number;
  /**
   * Work on the agent's own files just before its CLI starts (Gemini: remove the chat files its start-up clean-up
   * would delete together with the conversation); what it did, as events for the worker's log.
   */
  beforeStart?(req: RunRequest): WorkerEvent[];
  /** Turns one stdout line into events; never throws (a line it cannot read is `other`). */
  parseLine(line: string): WorkerEvent[];
  /**
   * The events only the whole stdout can tell, for CLIs that print no end-of-turn line. When present, the
   * runner keeps the run's stdout lines and calls it once at process exit with them joined by "\n"; its
   * events come after everything `parseLine` reported. Two uses:
   * - stdout is ONE JSON document, not a line stream (OpenClaw `agent --json`, pretty-printed over many
   *   lines): `parseLine` returns no events (a line of the document is not a document) and this reports
   *   the whole run;
   * - a line stream without an end marker (OpenCode `run --format json` 1.18.33): `parseLine` reports live
   *   events and this adds the turn's summed `usage` and its `turn_end`, never repeating a live event.
   * Never throws; empty output gives no events.
   */
  parseOutput?(whole: string): WorkerEvent[];
  /**
   * For CLIs driven through a protocol session: opened when the process has started (prompt channel `protocol`).
   * When present the runner routes stdout lines, turns, answers and interrupts through the session, not through
   * `parseLine` and the `encode*` functions. `spec` is what `runSpec` returned (its `env` may carry a secret the
   * session needs, such as a server password).
   */
  openSession?(req: RunRequest, spec: RunSpec, io: ProtocolIO): ProtocolSession;
  /** The stdin line for a user turn (multi-turn drivers), or for the one prompt of a `protocol` run. */
  encodeTurn?(text: string): string;
  /** The stdin line answering a permission request. */
  encodePermission?(requestId: string, allow: boolean, input: unknown, message?: string): string;
  /**
   * The stdin line answering a request of either kind (a question too), when the CLI answers questions on stdin.
   * `input` is what the request carried. Preferred over `encodePermission` when present.
   */
  encodeReply?(requestId: string, reply: Reply, input: unknown): string;
  /** The stdin line asking the CLI to stop the current turn (else the runner sends SIGINT). */
  encodeInterrupt?(requestId: string): string;
  /**
   * The context window the CLI runs `model` at, when its own rule differs from the model tables and the catalog (the
   * window the scanner will give its session), so a worker's context share reads the same before and after a scan.
   */
  contextWindow?(model: string | null, contextTokens: number, config: Config): number;
}

/** How a request was answered, by a person or by an auto-response rule. */
export type Reply =
  /** Allow or deny a permission request; `message` tells the agent why (shown to the model on a denial). */
  | { kind: "permission"; allow: boolean; message?: string }
  /** The answer to a question (one of its options or free text); null = nobody answered, the question is declined. */
  | { kind: "question"; answer: string | null };

/** What a protocol session may do to its run: write to the CLI, report events, give up. */
export interface ProtocolIO {
  /** Writes one line (a newline is added) to the CLI's stdin. */
  write(line: string): void;
  /** Reports what the CLI said, in order: from a stdout line, a response, or another channel (an HTTP event stream). */
  emit(events: WorkerEvent[]): void;
  /**
   * The protocol cannot go on (the handshake was refused, the server never came up, a response said the session is
   * unknown). The runner records the error and ends the run's process; the worker fails with `reason` and can be resumed.
   */
  fail(reason: ErrorReason, message: string): void;
  /** Diagnostics for asm's own log (never the prompt, never a token). */
  debug(msg: string, data?: Record<string, unknown>): void;
}

/**
 * A live conversation with a CLI that keeps a protocol open (Codex `app-server`, Gemini `--acp`, OpenCode `serve`,
 * OpenClaw's gateway): stateful where `Driver.parseLine` is not, because answers, interrupts and the next turn need
 * ids the CLI handed out earlier (a thread, a turn, a JSON-RPC request). The runner owns the process; the session
 * owns the conversation. Its methods never throw: a problem is an `error` event or `io.fail`.
 */
export interface ProtocolSession {
  /** One line of the CLI's stdout (JSON-RPC messages, or a "listening on" line for a server). */
  onLine(line: string): void;
  /** A user turn: the first prompt, or the next one after a `turn_end`. Held until the handshake is done. */
  turn(text: string): void;
  /** Answers the request a `permission` or `question` event named by `requestId`. */
  reply(requestId: string, reply: Reply): void;
  /** Asks the agent to stop its current turn (it should end with `turn_end` `interrupted: true`). */
  interrupt(): void;
  /** No more turns: let the CLI end (close the thread, stop the server). The runner closes stdin and signals the group after the grace. */
  close(): void;
}

/** A session id safe to pass as one argv value: no leading dash, only the characters ids are made of. */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A model id safe as one argv value: `provider/model`, dots, colons, `@`, `+`; never a leading dash. */
export const SAFE_MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;

/**
 * Thrown by `runSpec` when a value bound for argv (a session id, a model, a permission mode) is not one a
 * driver accepts: a leading `-` would read as a flag, anything else is not what the CLI names ids with.
 * The runner reports it and does not start the process.
 */
export class UnsafeArgumentError extends Error {
  constructor(
    /** What the value was for: "session id", "model", "permission mode". */
    readonly what: string,
    /** The rejected value (shortened in the message). */
    readonly value: string,
    detail?: string,
  ) {
    super(`refusing ${what} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 79)}…` : value)} as a command-line argument${detail ? `: ${detail}` : ""}`);
    this.name = "UnsafeArgumentError";
  }
}

/** `value` when it matches `pattern` (and does not start with `-`), else throws `UnsafeArgumentError`. */
export function checkedArg(what: string, value: string, pattern: RegExp): string {
  if (value.startsWith("-") || !pattern.test(value)) throw new UnsafeArgumentError(what, value);
  return value;
}

/** The one argument of a tool call a person needs to judge it: the command, the file, the URL, the pattern. */
export function toolArgDetail(input: unknown): string | null {
  if (!input || typeof input !== "object" || Array.isArray(input)) return null;
  const o = input as Record<string, unknown>;
  for (const k of [
    "command",
    "cmd",
    "file_path",
    "filePath",
    "absolute_path",
    "path",
    "dir_path",
    "notebook_path",
    "url",
    "pattern",
    "query",
    "description",
    "prompt",
  ]) {
    const raw = o[k];
    const v = typeof raw === "string" ? raw : Array.isArray(raw) && raw.every((x) => typeof x === "string") ? raw.join(" ") : null;
    if (v) return v.length > 300 ? `${v.slice(0, 299)}…` : v;
  }
  return null;
}
