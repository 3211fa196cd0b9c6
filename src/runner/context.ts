import type { Driver, ProtocolSession, WorkerEvent } from "../agents/driver.ts";
import type { Platform } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { WaitingReason, WorkerRequestRow, WorkerRequestStore, WorkerRow, WorkerStatus, WorkerStore } from "../store/workers.ts";
import type { FallbackNotice } from "./fallback/chain.ts";
import type { Tail } from "./lines.ts";
import type { ChildHandle } from "./process.ts";

/**
 * What the runner's parts share: the listener it reports to, its dependencies, the state of one live run, and the
 * context each part (queue, run, events, requests, control, recovery) is handed by the Runner that owns them.
 */

/** What the runner tells the rest of asm (the core posts it to the chat). */
export interface RunnerListener {
  /** Status, tokens, last tool or turn count changed (called often; the listener throttles). */
  changed(w: WorkerRow): void;
  /** The worker asks an admin to decide (a permission prompt or a question). */
  asks(w: WorkerRow, r: WorkerRequestRow): void;
  /** A turn ended (the worker may continue with the next message). */
  turnEnded(w: WorkerRow, answer: string | null): void;
  /** The worker reached a final status. */
  finished(w: WorkerRow): void;
  /** A chained worker retries its model or falls back to the next one. */
  fellBack?(w: WorkerRow, n: FallbackNotice): void;
  /** A queued worker waits because of the gate (quota low), said once per worker. */
  held?(w: WorkerRow, reason: string): void;
  /** A request still waits for a person after `runner.waitingReminderMinutes` (said once per request). */
  reminds?(w: WorkerRow, r: WorkerRequestRow): void;
  /**
   * A request was settled without a person's press: `expired` (nobody answered in time: denied), `cancelled` (the agent
   * withdrew it, or the run ended), `answered` (a reply typed in the worker's place). The message that asked can say so.
   */
  settled?(w: WorkerRow, r: WorkerRequestRow, how: "expired" | "cancelled" | "answered"): void;
}

/** A request the runner refuses, with a message a person can act on. */
export class RunnerError extends Error {
  constructor(
    message: string,
    readonly code: "workspace" | "agent" | "not-found" | "state" | "argument",
  ) {
    super(message);
    this.name = "RunnerError";
  }
}

/** What the runner works with; the core passes its stores, the config and one driver per agent. */
export interface RunnerDeps {
  config: Config;
  log: Logger;
  store: WorkerStore;
  requests: WorkerRequestStore;
  drivers: Readonly<Record<Platform, Driver>>;
  listener?: RunnerListener;
  clock?: () => number;
  /**
   * Why new runs of an agent must wait now (its provider's quota is low), or null. Queued workers of that
   * agent stay queued and start when it answers null again; running ones are not touched.
   */
  gate?: (agent: Platform) => string | null;
}

/**
 * Why we are ending a run, when we are: recorded before the signal so the exit is read right. `close`: the turn
 * ended and no other is pending, so a protocol CLI is let go; `protocol`: its session could not go on.
 */
export type RunIntent = "interrupt" | "kill" | "stall" | "no-init" | "shutdown" | "close" | "protocol";

/** What one live run of a worker's CLI holds. */
export interface Run {
  worker: string;
  driver: Driver;
  child: ChildHandle;
  /** Why we are ending it, when we are (see `RunIntent`). */
  intent: RunIntent | null;
  /** The protocol conversation, for drivers that have one (`Driver.openSession`). */
  session: ProtocolSession | null;
  /** Reminder and expiry timers of its open requests. */
  requestTimers: Set<NodeJS.Timeout>;
  /** Fires when a chained worker shows no sign of life (no init event) within `runner.fallback.timeoutSeconds`. */
  initTimer: NodeJS.Timeout | null;
  stall: NodeJS.Timeout | null;
  grace: NodeJS.Timeout | null;
  stderr: Tail;
  output: Tail;
  /** Output of drivers whose stdout is one document (parsed at exit). */
  whole: string[];
  sawInit: boolean;
  lastError: { reason: string; message: string } | null;
  lastTurnOk: boolean | null;
  /** User turns sent while the CLI was busy: written at the turn's end (multi-turn), or run next. */
  pendingTurns: string[];
  stdinClosed: boolean;
  /** The usage of the turn in progress; added to the worker's totals when the turn ends. */
  turnUsage: Extract<WorkerEvent, { type: "usage" }> | null;
  promptDir: string | null;
  done: Promise<void>;
}

/** The Runner's state and helpers its parts use; one per Runner. */
export interface RunnerContext {
  readonly deps: RunnerDeps;
  /** `config.runner`. */
  readonly cfg: Config["runner"];
  /** The live runs by worker id. */
  readonly runs: Map<string, Run>;
  now(): number;
  /** A worker by id, or a RunnerError. */
  get(id: string): WorkerRow;
  /** Tells the listener; a listener that throws is logged, never breaks the runner. */
  notify<K extends keyof RunnerListener>(k: K, ...args: Parameters<NonNullable<RunnerListener[K]>>): void;
  setStatus(id: string, status: WorkerStatus, waitingReason: WaitingReason | null, waitingDetail?: string | null): void;
}
