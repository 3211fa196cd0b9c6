import type { ErrorReason } from "./error-reason.ts";
import type { Platform } from "./session.ts";

/**
 * What a managed worker's CLI said, in one vocabulary for all five agents. Each agent's stream parser
 * (`src/agents/<agent>/stream.ts`) turns its own lines into these; the runner (`src/runner/`) never
 * reads an agent's wire format.
 */
export type WorkerEvent =
  /** The CLI started a session: its id as the agent names it (never assumed), the model, its version. */
  | { type: "init"; sessionId: string; model?: string | null; version?: string | null }
  /** Assistant text (a whole block, not a delta). */
  | { type: "text"; text: string }
  /** A tool call the agent made (or asks to make); `detail` is the command, file or first argument. */
  | { type: "tool"; name: string; detail: string | null }
  /** Token usage so far in this turn or after it. `contextTokens` is the context size now, when known. */
  | { type: "usage"; input: number; output: number; cacheRead: number; cacheWrite: number; contextTokens: number | null; contextWindow?: number | null }
  /**
   * The agent asks permission for a tool (Claude `can_use_tool`, Codex/Gemini/OpenCode approval requests).
   * `requestId` is the agent's own id, echoed back in the answer.
   */
  | { type: "permission"; requestId: string; tool: string; detail: string | null; reason: string | null; input?: unknown }
  /** The agent asks the person a question (AskUserQuestion, request_user_input). */
  | { type: "question"; requestId: string; text: string }
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

/** The kinds of `WorkerEvent`, for filtering (`/worker <id> events tool`). */
export type WorkerEventType = WorkerEvent["type"];

/** How a run gets its prompt: written to stdin and closed, written to a file, or sent as protocol messages. */
export type PromptChannel = "stdin" | "file" | "protocol";

/** What the runner needs to start one CLI run. */
export interface RunSpec {
  /** Arguments after the configured command prefix. No chat text ever lands here. */
  args: string[];
  /** How the prompt travels (never argv). */
  prompt: PromptChannel;
  /** For `file`: the argument that names the file, placed by the runner as `<flag> <path>` at the end. */
  promptFileFlag?: string;
  /** Extra environment the protocol needs (e.g. Claude's session-state events). */
  env?: Record<string, string>;
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
  /** Turns one stdout line into events; never throws (a line it cannot read is `other`). */
  parseLine(line: string): WorkerEvent[];
  /** The stdin line for a user turn (multi-turn drivers), or for the one prompt of a `protocol` run. */
  encodeTurn?(text: string): string;
  /** The stdin line answering a permission request. */
  encodePermission?(requestId: string, allow: boolean, input: unknown, message?: string): string;
  /** The stdin line asking the CLI to stop the current turn (else the runner sends SIGINT). */
  encodeInterrupt?(requestId: string): string;
}

/** A session id safe to pass as one argv value: no leading dash, only the characters ids are made of. */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
