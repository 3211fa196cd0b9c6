import { autoRetry } from "@grammyjs/auto-retry";
import { type RunnerHandle, run } from "@grammyjs/runner";
import { apiThrottler } from "@grammyjs/transformer-throttler";
import { Api, Bot, type Context, GrammyError, type RawApi, type Transformer } from "grammy";
import type { Message } from "grammy/types";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { type ButtonOutcome, DeliveryError, type Inbound, type MessageRef, type Transport, type TransportProblem } from "../../messages/transport.ts";
import { textView, type View } from "../../messages/view.ts";
import type { KvStore } from "../../store/kv.ts";
import type { Runtime } from "../../store/runtime.ts";
import { commands as allCommands } from "../commands.ts";
import { EditOrder } from "../edit-order.ts";
import { telegramCaller } from "./access.ts";
import { SendBudget } from "./budget.ts";
import {
  describeTelegramError,
  isChatRefused,
  isConflict,
  isEditImpossible,
  isNotModified,
  isThreadGone,
  isTokenNotFound,
  isUnauthorized,
  isWebhookConflict,
  migratedTo,
  retryAfterOf,
  toDeliveryError,
} from "./errors.ts";
import { apiChatId, type FeedTarget, FeedTopic, FeedUnavailableError } from "./feed.ts";
import { commandMenus, type MenuCommand } from "./menu.ts";
import { parseCommand } from "./parse.ts";
import { clipText, type RenderedMessage, renderSingle, renderView } from "./render.ts";

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
export const telegramProblemKey = "telegram.problem";

/** answerCallbackQuery's `text` limit. */
const maxToastLength = 200;
const refusal = "Sorry, you are not allowed to use this bot.";
const maxReconnectMs = 5 * 60_000;
/** While the feed chat refuses the bot, alerts are retried this often: someone has to add it back first. */
const feedRefusedRetryMs = 60_000;
/** Polling that ran this long before failing counts as healthy: the next retry starts from the first delay again. */
const stableMs = maxReconnectMs;

type Where = { chatId: string; threadId?: number | undefined };

// The chat we sent to stands in when an answer leaves `chat` out (a minimal Bot API server): the message
// was delivered, and failing here would make the outbox send it again.
const refOf = (message: Pick<Message, "chat" | "message_id" | "message_thread_id" | "is_topic_message">, sentTo?: string | number): MessageRef => ({
  transport: "telegram",
  chatId: String(message.chat?.id ?? sentTo),
  messageId: String(message.message_id),
  threadId: message.is_topic_message && message.message_thread_id ? String(message.message_thread_id) : undefined,
});

/** Low-severity messages arrive silently; critical ones always notify. */
const silentFor = (view: View) => (view.tone === "critical" ? false : (view.silent ?? (view.tone === "info" || view.tone === "ok")));

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
 * What a real Bot API server answers decides what happens: a rejected or malformed token stops
 * polling with a problem to fix; a second poller or a webhook (409) is retried with a growing delay;
 * a feed chat that refuses the bot is a `feed` problem while alerts wait; a deleted topic, a topic
 * the bot may not create, or a group upgraded to a supergroup moves the feed (new topic, General
 * topic, new chat id) with one log line naming the setting to change.
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
  private readonly menu: readonly MenuCommand[];
  private readonly commandNames: Set<string>;
  private inbound: Inbound | null = null;
  private runner: RunnerHandle | null = null;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay: number;
  /** When polling last started (null while not polling); decides whether a failure resets the backoff. */
  private pollingSince: number | null = null;
  private readonly pollTimeout: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private current: TelegramProblem | null = null;
  private readonly listeners = new Set<(problem: TelegramProblem | null) => void>();
  private readonly order = new EditOrder();

  constructor(private readonly options: TelegramTransportOptions) {
    const { token, config } = options;
    const apiRoot = config.apiRoot ? config.apiRoot.replace(/\/+$/, "") : undefined;
    const pollTimeout = options.pollTimeoutSeconds ?? 30;
    this.pollTimeout = pollTimeout;
    this.reconnectDelay = options.reconnectMs ?? 5000;
    this.bot = new Bot(token, { client: { apiRoot, timeoutSeconds: pollTimeout + 30 } });
    this.feedApi = new Api(token, { apiRoot, timeoutSeconds: options.requestTimeoutSeconds ?? 20 });
    this.budget = new SendBudget(config.maxMessagesPerMinute, options.budgetWindowMs);
    this.feed = new FeedTopic(this.feedApi, config, options.kv, options.log);
    this.menu = options.commands ?? allCommands;
    this.commandNames = new Set(this.menu.map((c) => c.name));

    // Transformers run last-installed first: auto-retry wraps the throttler, which wraps the counter.
    this.bot.api.config.use(this.countFeedSends, this.watchPolling);
    this.bot.api.config.use(apiThrottler());
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30, rethrowHttpErrors: true }));
    this.feedApi.config.use(this.countFeedSends);
    this.feedApi.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 5, rethrowHttpErrors: true, rethrowInternalServerErrors: true }));

    this.bot.on("message:text", (ctx) => this.track(this.onMessage(ctx)));
    this.bot.on("callback_query:data", (ctx) => this.track(this.onButton(ctx)));
    this.bot.on("callback_query", (ctx) => this.track(this.answer(ctx.callbackQuery.id, "This button is no longer active.")));
    this.bot.catch((err) => {
      this.options.log.error({ error: describeTelegramError(err.error), updateId: err.ctx.update.update_id }, "telegram update failed");
    });
  }

  /** The current problem (bad token, another poller, unreachable), or null when all is well. */
  get problem(): TelegramProblem | null {
    return this.current;
  }

  /** Called whenever the problem changes (null = recovered). Returns an unsubscribe function. */
  onProblem(listener: (problem: TelegramProblem | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(inbound: Inbound): Promise<void> {
    this.inbound = inbound;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const runner = this.runner;
    this.runner = null;
    if (runner) await runner.stop();
    if (this.inFlight.size) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.options.stopGraceMs ?? 15_000);
      });
      const done = await Promise.race([Promise.allSettled([...this.inFlight]).then(() => "done" as const), grace]);
      clearTimeout(timer);
      if (done === "timeout") this.options.log.warn({ running: this.inFlight.size }, "telegram: stopped with handlers still running");
    }
  }

  sendBudget(): number {
    return this.budget.remaining();
  }

  async send(view: View, to?: { chatId: string; threadId?: string | undefined }): Promise<MessageRef> {
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
      const ref = await this.post(this.feedApi, target, parts, { silent: silentFor(view) });
      if (!to && this.current?.kind === "feed") this.setProblem(null);
      return ref;
    } catch (err) {
      // The feed moved (topic deleted, group upgraded): this alert is retried, the next ones land there.
      const next = to ? null : this.feedMoved(err, target.chatId);
      if (next) throw new DeliveryError(`telegram sendMessage: ${describeTelegramError(err)} (${next})`, "telegram", { cause: err });
      if (!to && isChatRefused(err)) throw this.feedRefused(err, "sendMessage");
      throw this.delivery(err, "sendMessage");
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
    if (!this.current || this.current.kind === "feed") {
      if (this.current?.message !== message) this.options.log.error({ chatId }, message);
      this.setProblem({ kind: "feed", message, since: this.current?.since ?? Date.now() });
    }
    return new DeliveryError(`telegram ${method}: ${describeTelegramError(err)}`, "telegram", { retryAfterMs: feedRefusedRetryMs, cause: err });
  }

  /** What changes for the next feed sends after this failure, or null when it was not about where the feed is. */
  private feedMoved(err: unknown, chatId: string): string | null {
    if (isThreadGone(err)) return this.feed.threadGone();
    const to = migratedTo(err);
    if (to !== undefined && this.feed.migrated(chatId, String(to))) return `the feed group is now ${to}; the next alerts go there`;
    return null;
  }

  async edit(ref: MessageRef, view: View): Promise<void> {
    this.order.editing(ref);
    await this.editWith(this.feedApi, ref, view);
  }

  // ── connection ────────────────────────────────────────────────────────────────────────────────

  /** getMe, deleteWebhook, the command menus, the feed topic, then polling; failures schedule a retry. */
  private async connect(): Promise<void> {
    const log = this.options.log;
    try {
      // Not bot.init(): it retries network errors forever, and start() must not hang while Telegram is away.
      if (!this.bot.isInited()) this.bot.botInfo = await this.bot.api.getMe();
      await this.dropWebhook();
    } catch (err) {
      this.failed(err, "connect");
      return;
    }
    if (this.stopped) return;
    // Reaching Telegram ends "unreachable". A conflict ends only when a poll succeeds (watchPolling),
    // or every retry would report "recovered" just before the next 409; a feed problem when a feed send succeeds.
    if (this.current?.kind === "unreachable") this.setProblem(null);
    log.info({ bot: `@${this.bot.botInfo.username}` }, "telegram connected");
    const { allowedUserIds, adminIds } = this.options.config;
    if (allowedUserIds.length === 0 && adminIds.length === 0) {
      log.warn("neither TELEGRAM_ALLOWED_USER_IDS nor TELEGRAM_ADMIN_IDS is set: every command and button will be refused");
    }
    await this.announceCommands();
    if (this.options.config.feedChatId) {
      try {
        const target = await this.feed.target();
        log.info({ chatId: target.chatId, topicId: target.threadId ?? null }, "telegram feed ready");
      } catch (err) {
        if (err instanceof FeedUnavailableError && isChatRefused(err.cause)) this.feedRefused(err.cause, "getChat");
        else log.warn({ error: describeTelegramError(err) }, "telegram feed not ready yet; alerts wait in the outbox");
      }
    } else {
      log.warn("TELEGRAM_FEED_CHAT_ID is not set: alerts cannot be posted to Telegram (commands still work)");
    }
    if (this.stopped) return;
    const runner = run(this.bot, {
      runner: {
        fetch: { timeout: this.pollTimeout, allowed_updates: ["message", "callback_query"] },
        // The runner would print raw errors (whose nested fetch error holds the token URL) to the console.
        silent: true,
        retryInterval: "quadratic",
      },
    });
    this.runner = runner;
    this.pollingSince = Date.now();
    runner.task()?.then(
      () => undefined,
      (err) => {
        if (this.runner === runner) this.runner = null;
        this.failed(err, "getUpdates");
      },
    );
  }

  /** Records why the connection failed and, unless the token itself is refused, tries again later. */
  private failed(err: unknown, during: string): void {
    const log = this.options.log;
    if (this.stopped) return;
    // Backing off keeps growing while failures come quickly (a 409 right after each reconnect);
    // only polling that ran for a while earns a fresh start.
    if (this.pollingSince !== null && Date.now() - this.pollingSince >= stableMs) this.reconnectDelay = this.options.reconnectMs ?? 5000;
    this.pollingSince = null;
    // Asking again with the same token cannot help: wait for an operator instead of looping.
    const notFound = during === "connect" && isTokenNotFound(err);
    if (isUnauthorized(err) || notFound) {
      const message = notFound
        ? "Telegram does not accept the bot token (404 Not Found from getMe): it is malformed. Copy TELEGRAM_BOT_TOKEN exactly as BotFather gave it (digits:letters, no 'bot' prefix), check TELEGRAM_API_ROOT if set, and restart asm."
        : "Telegram refused the bot token (401 Unauthorized): it was revoked or is wrong. Set a valid TELEGRAM_BOT_TOKEN and restart asm.";
      if (this.current?.kind !== "unauthorized") log.error({ during }, message);
      this.setProblem({ kind: "unauthorized", message, since: Date.now() });
      return;
    }
    const conflict = isConflict(err);
    const message = !conflict
      ? `cannot reach Telegram: ${describeTelegramError(err)}`
      : isWebhookConflict(err)
        ? "a webhook is set for this bot token (409 Conflict), so polling is refused: another deployment uses the token in webhook mode; asm deletes the webhook when it reconnects, so stop the other one"
        : "another process is polling Telegram with the same bot token (409 Conflict); stop the other one";
    // A 429 here outlasted auto-retry's wait (the Bot API says so while it restarts): asking sooner only earns more.
    const retryInMs = Math.max(this.reconnectDelay, (retryAfterOf(err) ?? 0) * 1000);
    log.error({ during, retryInMs }, message);
    this.setProblem({ kind: conflict ? "conflict" : "unreachable", message, since: this.current?.since ?? Date.now() });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) void this.connect();
    }, retryInMs);
    this.reconnectTimer.unref?.();
    this.reconnectDelay = Math.min(maxReconnectMs, this.reconnectDelay * 2);
  }

  private setProblem(problem: TelegramProblem | null): void {
    const before = this.current;
    if (before?.kind === problem?.kind && before?.message === problem?.message) return;
    this.current = problem;
    if (!problem && before) this.options.log.info({ was: before.kind }, "telegram recovered");
    try {
      this.options.kv.set(telegramProblemKey, problem);
    } catch (err) {
      this.options.log.warn({ err }, "could not record the telegram problem in the store");
    }
    for (const listener of this.listeners) listener(problem);
  }

  /**
   * deleteWebhook, so that polling works. A server that does not know the method (404 after getMe
   * accepted the token: a minimal or older Bot API server) has no webhook to drop; polling goes on.
   */
  private async dropWebhook(): Promise<void> {
    try {
      await this.bot.api.deleteWebhook();
    } catch (err) {
      if (!(err instanceof GrammyError && err.error_code === 404)) throw err;
      this.options.log.info({ error: describeTelegramError(err) }, "telegram: the Bot API server has no deleteWebhook; polling without it");
    }
  }

  /** setMyCommands for every scope; a scope that fails (an admin who never opened the bot) is logged, not fatal. */
  private async announceCommands(): Promise<void> {
    const menus = commandMenus(this.menu, { feedChatId: this.options.config.feedChatId, adminIds: this.options.config.adminIds });
    for (const menu of menus) {
      try {
        await this.bot.api.setMyCommands(menu.commands, { scope: menu.scope });
      } catch (err) {
        this.options.log.warn({ scope: menu.scope, error: describeTelegramError(err) }, "telegram: could not set the command menu");
      }
    }
  }

  /** Counts messages that reached the feed chat, whichever client sent them: all topics share one budget. */
  private readonly countFeedSends: Transformer<RawApi> = async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (result.ok && method === "sendMessage" && this.feed.isFeedChat((payload as { chat_id?: unknown }).chat_id)) {
      this.budget.record();
    }
    return result;
  };

  /** Polling failures show up as a problem at once; a successful poll clears it. */
  private readonly watchPolling: Transformer<RawApi> = async (prev, method, payload, signal) => {
    if (method !== "getUpdates") return prev(method, payload, signal);
    try {
      const result = await prev(method, payload, signal);
      if (result.ok && (this.current?.kind === "unreachable" || this.current?.kind === "conflict")) this.setProblem(null);
      return result;
    } catch (err) {
      if (!signal?.aborted && !this.stopped && this.current?.kind !== "unreachable") {
        this.options.log.warn({ error: describeTelegramError(err) }, "telegram: polling failed; retrying");
        this.setProblem({ kind: "unreachable", message: `cannot reach Telegram: ${describeTelegramError(err)}`, since: Date.now() });
      }
      throw err;
    }
  };

  // ── inbound ───────────────────────────────────────────────────────────────────────────────────

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** A slash command in a DM or a group (also `/cmd@ThisBot`); strangers get one short refusal. */
  private async onMessage(ctx: Context): Promise<void> {
    const message = ctx.message;
    if (!message?.text || !this.inbound) return;
    const parsed = parseCommand(message.text, ctx.me.username);
    if (!parsed) return;
    // In a group, "/foo" without a mention may be meant for another bot: only our own commands count.
    if (message.chat.type !== "private" && !parsed.mentioned && !this.commandNames.has(parsed.name)) return;
    const caller = telegramCaller({ from: message.from, sender_chat: message.sender_chat, chatId: message.chat.id }, this.options.config);
    const where: Where = {
      chatId: String(message.chat.id),
      threadId: message.is_topic_message ? message.message_thread_id : undefined,
    };
    if (!caller.allowed) {
      this.options.log.info({ userId: caller.userId, chatId: where.chatId, command: parsed.name }, "refused a command from a user not allowed");
      await this.reply(where, textView(refusal), message.message_id);
      return;
    }
    let view: View;
    try {
      view = await this.inbound.command(caller, parsed.name, parsed.args);
    } catch (err) {
      this.options.log.error({ error: describeTelegramError(err), command: parsed.name }, "command failed");
      view = textView(`/${parsed.name} failed; the details are in asm's log.`);
    }
    const ref = await this.reply(where, view, message.message_id);
    if (view.key && ref) this.inbound.delivered?.(view.key, ref);
  }

  /**
   * A button press. The press is always answered (Telegram shows a spinner until then): at once
   * when refused, with the outcome's toast when it is ready quickly, else with "Working…". Then the
   * message is edited with the outcome (buttons removed unless the outcome keeps some).
   */
  private async onButton(ctx: Context): Promise<void> {
    const query = ctx.callbackQuery;
    if (!query?.data) return;
    const message = query.message;
    const caller = telegramCaller({ from: query.from, chatId: message?.chat.id }, this.options.config);
    if (!caller.allowed || !this.inbound) {
      this.options.log.info({ userId: caller.userId, data: query.data }, "refused a button press from a user not allowed");
      await this.answer(query.id, refusal);
      return;
    }
    const ref = message ? refOf(message) : null;
    type Settled = { outcome: ButtonOutcome } | { error: unknown };
    const mark = this.order.mark();
    const work: Promise<Settled> = this.inbound.button(caller, query.data, ref).then(
      (outcome) => ({ outcome }),
      (error) => ({ error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.options.answerWithinMs ?? 1500);
    });
    const early = await Promise.race([work, late]);
    clearTimeout(timer);
    if (!early) await this.answer(query.id, "Working…");
    const settled = early ?? (await work);
    if ("error" in settled) {
      this.options.log.error({ error: describeTelegramError(settled.error), data: query.data }, "button failed");
      if (early) await this.answer(query.id, "That did not work; the details are in asm's log.");
      return;
    }
    const { outcome } = settled;
    if (early) await this.answer(query.id, outcome.toast);
    const where: Where | null = ref ? { chatId: ref.chatId, threadId: ref.threadId ? Number(ref.threadId) : undefined } : null;
    // The core may have edited this message with something newer meanwhile (a fast action's result).
    if (outcome.edit && ref && !this.order.editedSince(ref, mark)) {
      try {
        await this.editWith(this.bot.api, ref, outcome.edit);
      } catch (err) {
        // The message was deleted or is too old to edit: say it in a new message instead.
        if (!(err instanceof DeliveryError && isEditImpossible(err.options.cause)) || !where) throw err;
        await this.reply(where, outcome.edit);
      }
    }
    if (outcome.reply && where) {
      const sent = await this.reply(where, outcome.reply);
      if (outcome.reply.key && sent) this.inbound.delivered?.(outcome.reply.key, sent);
    }
  }

  /** Answers a callback query; a late or repeated answer is logged, never thrown. */
  private async answer(queryId: string, text?: string): Promise<void> {
    try {
      await this.bot.api.answerCallbackQuery(queryId, text ? { text: clipText(text, maxToastLength) } : {});
    } catch (err) {
      this.options.log.warn({ error: describeTelegramError(err) }, "telegram: could not answer a button press");
    }
  }

  // ── outbound ──────────────────────────────────────────────────────────────────────────────────

  /** A reply to a command or button in the chat (and topic) it came from. */
  private async reply(where: Where, view: View, replyTo?: number): Promise<MessageRef | null> {
    try {
      const parts = renderView(view);
      await this.waitForFeedBudget(where.chatId, parts.length);
      return await this.post(this.bot.api, where, parts, { silent: view.silent ?? false, replyTo });
    } catch (err) {
      this.options.log.error({ error: describeTelegramError(err), chatId: where.chatId }, "telegram: could not reply");
      return null;
    }
  }

  /**
   * Replies into the feed group share its budget with alerts: a reply that would exceed it waits
   * (a person asked and gets the answer a little later), while alerts fail fast to the outbox.
   */
  private async waitForFeedBudget(chatId: string, parts: number): Promise<void> {
    if (!this.feed.isFeedChat(chatId)) return;
    const needed = Math.min(parts, this.budget.perWindow);
    while (!this.stopped && this.budget.remaining() < needed) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.budget.waitMs(), 5000)));
    }
  }

  /** Sends the parts in order; returns where the last one (the one with the buttons) landed. */
  private async post(api: Api, where: Where, parts: RenderedMessage[], how: { silent: boolean; replyTo?: number | undefined }): Promise<MessageRef> {
    let last: Message.TextMessage | null = null;
    for (const [i, part] of parts.entries()) {
      last = await api.sendMessage(apiChatId(String(where.chatId)), part.html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        disable_notification: how.silent,
        ...(where.threadId ? { message_thread_id: where.threadId } : {}),
        ...(part.keyboard ? { reply_markup: part.keyboard } : {}),
        ...(i === 0 && how.replyTo ? { reply_parameters: { message_id: how.replyTo, allow_sending_without_reply: true } } : {}),
      });
    }
    if (!last) throw new DeliveryError("telegram: nothing to send", "telegram", { permanent: true });
    return { ...refOf(last, where.chatId), threadId: where.threadId ? String(where.threadId) : undefined };
  }

  /** editMessageText; no keyboard in the view removes the buttons; "not modified" is success. */
  private async editWith(api: Api, ref: MessageRef, view: View): Promise<void> {
    let rendered: RenderedMessage;
    try {
      rendered = renderSingle(view);
    } catch (err) {
      throw toDeliveryError(err, "editMessageText");
    }
    try {
      await api.editMessageText(apiChatId(ref.chatId), Number(ref.messageId), rendered.html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        ...(rendered.keyboard ? { reply_markup: rendered.keyboard } : {}),
      });
    } catch (err) {
      if (isNotModified(err)) return;
      throw this.delivery(err, "editMessageText");
    }
  }

  private delivery(err: unknown, method: string): DeliveryError {
    if (isUnauthorized(err)) this.failed(err, method);
    return toDeliveryError(err, method);
  }
}

/** The Telegram transport for a runtime (`TELEGRAM_BOT_TOKEN` set); `overrides` are for tests. */
export function telegramTransport(rt: Runtime, token: string, overrides: Partial<TelegramTransportOptions> = {}): TelegramTransport {
  return new TelegramTransport({
    token,
    config: rt.config.telegram,
    kv: rt.kv,
    log: rt.log.child({ transport: "telegram" }),
    ...overrides,
  });
}
