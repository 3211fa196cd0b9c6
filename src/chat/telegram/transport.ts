import { autoRetry } from "@grammyjs/auto-retry";
import { apiThrottler } from "@grammyjs/transformer-throttler";
import { Api, Bot, type RawApi, type Transformer } from "grammy";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import {
  DeliveryError,
  type Inbound,
  type MessageRef,
  type ThreadPlace,
  type ThreadRequest,
  type Transport,
  type TransportProblem,
} from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import type { KvStore } from "../../store/kv.ts";
import type { Runtime } from "../../store/runtime.ts";
import { commands as allCommands } from "../commands.ts";
import { EditOrder } from "../edit-order.ts";
import { problemKey, TransportHealth } from "../transport-health.ts";
import { SendBudget } from "./budget.ts";
import { TelegramConnection } from "./connection.ts";
import { describeTelegramError, isChatRefused, isThreadGone, isTokenNotFound, isUnauthorized, migratedTo, toDeliveryError, tokenRefused } from "./errors.ts";
import { type FeedTarget, FeedTopic, FeedUnavailableError } from "./feed.ts";
import { TelegramInbound } from "./inbound.ts";
import type { MenuCommand } from "./menu.ts";
import { editMessage, post, silentFor } from "./post.ts";
import { type RenderedMessage, renderView } from "./render.ts";
import { WorkerTopics } from "./topics.ts";

/** Why the transport cannot work right now; the self check reports it through the other transports. */
export type TelegramProblem = TransportProblem;

export interface TelegramTransportOptions {
  token: string;
  config: Config["telegram"];
  kv: KvStore;
  log: Logger;
  /** The commands for the menu; default: every command asm has. */
  commands?: readonly MenuCommand[];
  /** `getUpdates` long-poll timeout (default 30 s). */
  pollTimeoutSeconds?: number;
  /** A button press is answered with the outcome's toast if it is ready this fast, else with "Working…" (default 1.5 s). */
  answerWithinMs?: number;
  /** First delay before reconnecting after a failure; doubles up to 5 minutes (default 5 s). */
  reconnectMs?: number;
  /** The budget's window (default one minute; tests shorten it). */
  budgetWindowMs?: number;
  /** Feed sends and edits give up after this long, so the outbox can retry (default 20 s). */
  requestTimeoutSeconds?: number;
  /** How long `stop()` waits for handlers still running (default 15 s). */
  stopGraceMs?: number;
}

/**
 * KvStore key holding the current `TelegramProblem` (or null), so the state survives the process
 * for inspection (`sqlite3 asm.db "select value from kv where key='telegram.problem'"`); the self
 * check itself reads `transport.problem` in-process.
 */
export const telegramProblemKey = problemKey("telegram");

/** While the feed chat refuses the bot, alerts are retried this often: someone has to add it back first. */
const feedRefusedRetryMs = 60_000;

/**
 * Telegram through grammY. Alerts go to the feed (a forum topic, a group or a private chat), commands
 * and button presses come in by long polling and go to the core's `Inbound`.
 *
 * Plugins: `@grammyjs/runner` polls and handles updates concurrently (a button press that restarts
 * the gateway does not hold up `/sessions`) and stops gracefully; `@grammyjs/auto-retry` waits out 429
 * `retry_after` and 5xx with a small, finite number of attempts; `@grammyjs/transformer-throttler`
 * paces interactive replies per chat. Feed sends use their own API client without the throttler:
 * the durable outbox paces them against `sendBudget()` and needs failures back quickly as
 * `DeliveryError`, not queued in memory.
 *
 * The parts, one file each: `connection.ts` (getMe, polling, reconnecting, the health that follows
 * from what the Bot API answers), `inbound.ts` (commands, buttons, replies), `feed.ts` (where the
 * feed is), `post.ts` (sending and editing messages). This class wires them and delivers into the
 * feed: a feed chat that refuses the bot is a `feed` problem while alerts wait; a deleted topic, a
 * topic the bot may not create, or a group upgraded to a supergroup moves the feed (new topic,
 * General topic, new chat id) with one log line naming the setting to change.
 *
 * ```ts
 * const telegram = telegramTransport(rt, rt.secrets.telegramBotToken!);
 * await telegram.start(inbound);                 // never throws: see `telegram.problem`
 * const ref = await telegram.send(alertView);    // into the feed topic; throws DeliveryError
 * await telegram.edit(ref, resolvedView);        // "message is not modified" counts as done
 * ```
 */
export class TelegramTransport implements Transport {
  readonly name = "telegram" as const;
  /** The grammY bot (polling, interactive replies). */
  readonly bot: Bot;
  /** A separate client for feed sends and edits: fails fast so the outbox decides about retries. */
  private readonly feedApi: Api;
  private readonly budget: SendBudget;
  private readonly feed: FeedTopic;
  private readonly health: TransportHealth;
  private readonly connection: TelegramConnection;
  private readonly inbound: TelegramInbound;
  private readonly order = new EditOrder();
  private readonly topics: WorkerTopics;

  constructor(private readonly options: TelegramTransportOptions) {
    const { token, config, kv, log } = options;
    const apiRoot = config.apiRoot ? config.apiRoot.replace(/\/+$/, "") : undefined;
    const pollTimeout = options.pollTimeoutSeconds ?? 30;
    this.bot = new Bot(token, { client: { apiRoot, timeoutSeconds: pollTimeout + 30 } });
    this.feedApi = new Api(token, { apiRoot, timeoutSeconds: options.requestTimeoutSeconds ?? 20 });
    this.budget = new SendBudget(config.maxMessagesPerMinute, options.budgetWindowMs);
    this.feed = new FeedTopic(this.feedApi, config, kv, log);
    this.topics = new WorkerTopics(this.feedApi, log);
    this.health = new TransportHealth({ transport: "telegram", kv, log });
    this.inbound = new TelegramInbound({
      api: this.bot.api,
      config,
      log,
      menu: options.commands ?? allCommands,
      answerWithinMs: options.answerWithinMs ?? 1500,
      order: this.order,
      roomFor: (chatId, parts) => this.roomInFeed(chatId, parts),
      edit: (ref, view) => editMessage(this.bot.api, ref, view, this.delivery),
    });
    this.connection = new TelegramConnection({
      bot: this.bot,
      health: this.health,
      log,
      pollTimeoutSeconds: pollTimeout,
      reconnectMs: options.reconnectMs ?? 5000,
      connected: async () => {
        await this.inbound.announceCommands();
        await this.feedReady();
      },
    });

    // Transformers run last-installed first: auto-retry wraps the throttler, which wraps the counter.
    this.bot.api.config.use(this.countFeedSends, this.connection.watchPolling);
    this.bot.api.config.use(apiThrottler());
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowHttpErrors: true }));
    this.feedApi.config.use(this.countFeedSends);
    this.feedApi.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 5, rethrowHttpErrors: true, rethrowInternalServerErrors: true }));

    this.inbound.listen(this.bot);
    this.bot.catch((err) => {
      log.error({ error: describeTelegramError(err.error), updateId: err.ctx.update.update_id }, "telegram update failed");
    });
  }

  /** The current problem (bad token, another poller, unreachable, a feed chat that refuses the bot), or null when all is well. */
  get problem(): TelegramProblem | null {
    return this.health.problem;
  }

  /** Called whenever the problem changes (null = recovered). Returns an unsubscribe function. */
  onProblem(listener: (problem: TelegramProblem | null) => void): () => void {
    return this.health.onChange(listener);
  }

  async start(inbound: Inbound): Promise<void> {
    this.inbound.core = inbound;
    await this.connection.start();
  }

  async stop(): Promise<void> {
    await this.connection.stop();
    const running = await this.inbound.drain(this.options.stopGraceMs ?? 15_000);
    if (running) this.options.log.warn({ running }, "telegram: stopped with handlers still running");
  }

  sendBudget(): number {
    return this.budget.remaining();
  }

  async send(view: View, to?: { chatId: string; threadId?: string | undefined }): Promise<MessageRef> {
    await this.tokenAccepted("sendMessage");
    let target: FeedTarget;
    try {
      target = to ? { chatId: to.chatId, threadId: to.threadId ? Number(to.threadId) : undefined } : await this.feed.target();
    } catch (err) {
      if (err instanceof FeedUnavailableError) {
        if (isChatRefused(err.cause)) throw this.feedRefused(err.cause, "getChat");
        throw new DeliveryError(err.message, "telegram", { permanent: err.permanent, cause: err });
      }
      throw toDeliveryError(err, "getChat");
    }
    let parts: RenderedMessage[];
    try {
      parts = renderView(view);
    } catch (err) {
      throw toDeliveryError(err, "sendMessage");
    }
    if (this.feed.isFeedChat(target.chatId)) {
      const needed = Math.min(parts.length, this.budget.perWindow);
      if (this.budget.remaining() < needed) {
        throw new DeliveryError(`telegram: ${this.budget.perWindow} messages a minute into the feed group already sent`, "telegram", {
          retryAfterMs: this.budget.waitMs(),
        });
      }
    }
    try {
      const ref = await post(this.feedApi, target, parts, { silent: silentFor(view), image: view.image });
      if (!to) this.health.feedWorks();
      return ref;
    } catch (err) {
      // The feed moved (topic deleted, group upgraded): this alert is retried, the next ones land there.
      const next = to ? null : this.feedMoved(err, target.chatId);
      if (next) throw new DeliveryError(`telegram sendMessage: ${describeTelegramError(err)} (${next})`, "telegram", { cause: err });
      if (!to && isChatRefused(err)) throw this.feedRefused(err, "sendMessage");
      throw this.delivery(err, "sendMessage");
    }
  }

  async edit(ref: MessageRef, view: View): Promise<void> {
    await this.tokenAccepted("editMessageText");
    this.order.editing(ref);
    await editMessage(this.feedApi, ref, view, this.delivery);
  }

  /**
   * A forum topic of its own in the feed chat (a managed worker's), or null when the feed chat is not a
   * forum, the bot may not create topics, or Telegram says to wait: then the worker's messages go to the feed.
   */
  async openThread(request: ThreadRequest): Promise<ThreadPlace | null> {
    if (!this.options.config.feedChatId) return null;
    let chatId: string;
    try {
      chatId = (await this.feed.target()).chatId;
    } catch (err) {
      this.options.log.warn({ error: describeTelegramError(err) }, "the feed chat is not ready: this worker's messages go to the feed");
      return null;
    }
    return this.topics.open(chatId, request.title);
  }

  /**
   * Feed sends and edits need a token the Bot API accepted (getMe), asked once here if the connection
   * has not yet: with a malformed token every method answers 404 Not Found, which for a message would
   * read "this message cannot be sent" and the feed lookup would take for "no such method". A refused
   * or malformed token is the transport's problem (`unauthorized`): messages wait (`transportDown`).
   */
  private async tokenAccepted(method: string): Promise<void> {
    const refused = () => {
      const problem = this.health.connection;
      return problem?.kind === "unauthorized" ? tokenRefused(`telegram ${method}: ${problem.message}`) : null;
    };
    const already = refused();
    if (already) throw already;
    if (this.bot.isInited()) return;
    try {
      this.bot.botInfo = await this.feedApi.getMe();
    } catch (err) {
      if (isUnauthorized(err) || isTokenNotFound(err)) {
        this.connection.failed(err, "connect");
        throw refused() ?? tokenRefused(`telegram getMe: ${describeTelegramError(err)}`, err);
      }
      throw toDeliveryError(err, "getMe");
    }
  }

  /** At each (re)connect: the feed topic is looked up (or created) before polling starts. */
  private async feedReady(): Promise<void> {
    const log = this.options.log;
    if (!this.options.config.feedChatId) {
      log.warn("TELEGRAM_FEED_CHAT_ID is not set: alerts cannot be posted to Telegram (commands still work)");
      return;
    }
    try {
      const target = await this.feed.target();
      log.info({ chatId: target.chatId, topicId: target.threadId ?? null }, "telegram feed ready");
    } catch (err) {
      if (err instanceof FeedUnavailableError && isChatRefused(err.cause)) this.feedRefused(err.cause, "getChat");
      else log.warn({ error: describeTelegramError(err) }, "telegram feed not ready yet; alerts wait in the outbox");
    }
  }

  /**
   * The feed chat refuses the bot (removed from the group, no right to post): a problem the self
   * check reports through the other transports, and a retry later rather than a dropped alert,
   * so alerts arrive once someone adds the bot back.
   */
  private feedRefused(err: unknown, method: string): DeliveryError {
    const chatId = this.options.config.feedChatId;
    const message = `the Telegram feed chat ${chatId} refuses the bot (${describeTelegramError(err)}): add the bot back to the chat (in a forum as an admin with the "Manage topics" right) or set TELEGRAM_FEED_CHAT_ID to the right chat; alerts wait in the outbox`;
    this.health.feedRefused(message, { chatId });
    return new DeliveryError(`telegram ${method}: ${describeTelegramError(err)}`, "telegram", { retryAfterMs: feedRefusedRetryMs, cause: err });
  }

  /** What changes for the next feed sends after this failure, or null when it was not about where the feed is. */
  private feedMoved(err: unknown, chatId: string): string | null {
    if (isThreadGone(err)) return this.feed.threadGone();
    const to = migratedTo(err);
    if (to !== undefined && this.feed.migrated(chatId, String(to))) return `the feed group is now ${to}; the next alerts go there`;
    return null;
  }

  /**
   * Replies into the feed group share its budget with alerts: a reply that would exceed it waits
   * (a person asked and gets the answer a little later), while alerts fail fast to the outbox.
   */
  private async roomInFeed(chatId: string, parts: number): Promise<void> {
    if (!this.feed.isFeedChat(chatId)) return;
    const needed = Math.min(parts, this.budget.perWindow);
    while (!this.connection.stopped && this.budget.remaining() < needed) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.budget.waitMs(), 5000)));
    }
  }

  /** Counts messages that reached the feed chat, whichever client sent them: all topics share one budget. */
  private readonly countFeedSends: Transformer<RawApi> = async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (result.ok && (method === "sendMessage" || method === "sendPhoto") && this.feed.isFeedChat((payload as { chat_id?: unknown }).chat_id)) {
      this.budget.record();
    }
    return result;
  };

  /** A failed send or edit as a `DeliveryError`; a 401 means the token was revoked, which the connection takes up. */
  private readonly delivery = (err: unknown, method: string): DeliveryError => {
    if (isUnauthorized(err)) this.connection.failed(err, method);
    return toDeliveryError(err, method);
  };
}

/** The Telegram transport for a runtime (`TELEGRAM_BOT_TOKEN` set); `overrides` are for tests. */
export function telegramTransport(rt: Runtime, token: string, overrides: Partial<TelegramTransportOptions> = {}): TelegramTransport {
  const host = rt.config.host.name;
  return new TelegramTransport({
    token,
    // Several hosts in one forum group: each host's own feed topic says whose it is (its messages say so too).
    config: host ? { ...rt.config.telegram, topicName: `${host} ${rt.config.telegram.topicName}`.slice(0, 128) } : rt.config.telegram,
    kv: rt.kv,
    log: rt.log.child({ transport: "telegram" }),
    ...overrides,
  });
}
