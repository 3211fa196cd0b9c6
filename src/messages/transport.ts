import type { View } from "./view.ts";

export type TransportName = "console" | "telegram" | "discord";

/** Where a message we sent lives, so it can be edited later. Serialized into the store as JSON. */
export interface MessageRef {
  transport: TransportName;
  chatId: string;
  messageId: string;
  threadId?: string | undefined;
}

/** Who sent a command or pressed a button, as established by the transport from its own config. */
export interface Caller {
  transport: TransportName;
  userId: string;
  name?: string | undefined;
  /** In the transport's allow list (admins are always allowed). */
  allowed: boolean;
  admin: boolean;
  /** Where the command came from (for replies and audit). */
  chatId?: string | undefined;
  /** The command came from the person's private chat with the bot (a Telegram private chat, a Discord DM). */
  direct?: boolean | undefined;
}

/** What a button press turned into. */
export interface ButtonOutcome {
  /** Short toast/ephemeral note (Telegram answerCallbackQuery text, ≤ 200 chars). */
  toast?: string;
  /** Replace the message the button was on (buttons removed unless the view has some). */
  edit?: View;
  /** Send a new message in the same chat. */
  reply?: View;
}

/**
 * A place of its own in a transport's feed for one subject (a managed worker): a Telegram forum topic, a
 * Discord thread under the feed channel, or on the console a line prefix. Pass it to `send` as `to`.
 */
export interface ThreadPlace {
  chatId: string;
  threadId: string;
}

/** What a thread is for: `title` names it on the platform, `tag` is its short id (the console's line prefix). */
export interface ThreadRequest {
  title: string;
  tag: string;
}

/** The core side of a transport: commands and button presses go in, views come out. */
export interface Inbound {
  command(caller: Caller, name: string, args: string[]): Promise<View>;
  button(caller: Caller, data: string, message: MessageRef | null): Promise<ButtonOutcome>;
  /** A reply view that carried a `key` was sent; the core records the ref to edit it later. */
  delivered?(key: string, ref: MessageRef): void;
  /**
   * Plain text (not a command) typed into a thread (a forum topic, a Discord thread). Transports pass it on
   * without refusing anyone themselves: the core knows which threads are its own. Resolves with the view to
   * answer in that thread, or null to stay silent (a thread the core does not know).
   */
  text?(caller: Caller, text: string, where: ThreadPlace): Promise<View | null>;
}

/**
 * Why a transport cannot work right now; `message` is safe to show (never a token). `feed`: the
 * platform works but the feed chat refuses the bot (removed from the group, no right to post).
 */
export interface TransportProblem {
  kind: "unauthorized" | "conflict" | "unreachable" | "feed";
  message: string;
  /** When it started (epoch ms). */
  since: number;
}

/** How one send goes out: `key` identifies the message across retries (at most 25 ASCII characters). */
export interface SendOptions {
  key?: string | undefined;
}

/**
 * One chat platform. Telegram, Discord and the console implement exactly this; nothing outside
 * `src/chat/<platform>.ts` knows a platform's API.
 */
export interface Transport {
  readonly name: TransportName;
  /** Connect and start receiving commands; resolves once ready. */
  start(inbound: Inbound): Promise<void>;
  /** Stop receiving, finish in-flight work, disconnect. */
  stop(): Promise<void>;
  /**
   * Post a view into the feed (alerts) or, with `to`, into a given chat. Throws `DeliveryError`. `how.key` is the
   * same on every try of one outbox message: a platform with an idempotency key (Discord's enforced nonce) uses it.
   */
  send(view: View, to?: { chatId: string; threadId?: string | undefined }, how?: SendOptions): Promise<MessageRef>;
  /**
   * How long the platform answers a repeated `how.key` with the message it already created instead of a new
   * one (Discord: "the past few minutes"); undefined = no such key (Telegram): a retry after a send of unknown
   * fate may post the message twice.
   */
  readonly sameKeyWithinMs?: number;
  /** Replace a message we sent earlier. Throws `DeliveryError`; "not modified" is success. */
  edit(ref: MessageRef, view: View): Promise<void>;
  /**
   * Opens a place of its own in the feed (a forum topic, a thread) for a subject such as a worker; null when
   * the platform or the feed chat cannot have one (not a forum, no right, rate limited): the caller posts into
   * the feed instead. Never throws; a refusal is logged once.
   */
  openThread?(request: ThreadRequest): Promise<ThreadPlace | null>;
  /**
   * How many feed messages may be sent right now without exceeding the platform's budget
   * (Telegram: 20 a minute into one group). The outbox groups pending alerts into one message when
   * more are waiting than this. Undefined = no budget to respect.
   */
  sendBudget?(): number;
  /**
   * What keeps it from working (a revoked token, another poller, no network), or null; a plain
   * string is a problem without a kind or start time. The self check turns it into an alert, which
   * the other transports deliver.
   */
  readonly problem?: TransportProblem | string | null;
}

/**
 * A send or edit that did not happen. `retryAfterMs` comes from the platform (429 `retry_after`);
 * `permanent` means retrying cannot help (message deleted, chat not found, bad request);
 * `transportDown` means the transport itself cannot send anything now (a token the platform refuses or
 * cannot even look up, not connected yet): the message is not at fault, so it waits without spending
 * an attempt and goes out once the transport works. `uncertain` means the request went out but no answer
 * came (a timeout): the platform may have posted the message, so a blind retry may post it twice.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly transport: TransportName,
    readonly options: { retryAfterMs?: number | undefined; permanent?: boolean; transportDown?: boolean; uncertain?: boolean; cause?: unknown } = {},
  ) {
    super(message);
    this.name = "DeliveryError";
  }
  get retryAfterMs() {
    return this.options.retryAfterMs;
  }
  get permanent() {
    return this.options.permanent ?? false;
  }
  get transportDown() {
    return this.options.transportDown ?? false;
  }
  get uncertain() {
    return this.options.uncertain ?? false;
  }
}
