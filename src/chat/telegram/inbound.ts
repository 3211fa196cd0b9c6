import type { Api, Bot, Context } from "grammy";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { type ButtonOutcome, DeliveryError, type Inbound, type MessageRef } from "../../messages/transport.ts";
import { textView, type View } from "../../messages/view.ts";
import { answerWithin } from "../answer-within.ts";
import type { EditOrder } from "../edit-order.ts";
import { refusalText } from "../refusal.ts";
import { telegramCaller } from "./access.ts";
import { describeTelegramError, isEditImpossible } from "./errors.ts";
import { commandMenus, type MenuCommand } from "./menu.ts";
import { parseCommand } from "./parse.ts";
import { post, refOf, type Where } from "./post.ts";
import { clipText, renderView } from "./render.ts";

export interface TelegramInboundOptions {
  /** The bot's API client (throttled per chat, retries 429s). */
  api: Api;
  config: Config["telegram"];
  log: Logger;
  /** The commands for the menus; in a group, only these are taken without an @mention. */
  menu: readonly MenuCommand[];
  /** A button press is answered with the outcome's toast if it is ready this fast, else with "Working…". */
  answerWithinMs: number;
  order: EditOrder;
  /** Waits until `parts` more messages into `chatId` fit the feed chat's budget (at once for other chats). */
  roomFor(chatId: string, parts: number): Promise<void>;
  /** Edits a message we sent; throws `DeliveryError`. */
  edit(ref: MessageRef, view: View): Promise<void>;
}

/** answerCallbackQuery's `text` limit. */
const maxToastLength = 200;

/**
 * What comes in from Telegram: slash commands (in a DM or a group, also `/cmd@ThisBot`), button
 * presses and plain text in forum topics (a worker's next turn), handed to the core's `Inbound` and
 * answered in the chat (and topic) they came from. Strangers get one short refusal. Every handler is tracked, so `drain()` can let them finish
 * before the bot stops.
 */
export class TelegramInbound {
  /** The core; null until the transport starts. */
  core: Inbound | null = null;
  private readonly commandNames: Set<string>;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: TelegramInboundOptions) {
    this.commandNames = new Set(options.menu.map((c) => c.name));
  }

  /** Installs the handlers on the bot. */
  listen(bot: Bot): void {
    bot.on("message:text", (ctx) => this.track(this.onMessage(ctx)));
    bot.on("callback_query:data", (ctx) => this.track(this.onButton(ctx)));
    bot.on("callback_query", (ctx) => this.track(this.answer(ctx.callbackQuery.id, "This button is no longer active.")));
  }

  /**
   * setMyCommands for every scope, and a warning when nobody may use the bot; a scope that fails
   * (an admin who never opened the bot) is logged, not fatal.
   */
  async announceCommands(): Promise<void> {
    const { config, log } = this.options;
    if (config.allowedUserIds.length === 0 && config.adminIds.length === 0) {
      log.warn("neither TELEGRAM_ALLOWED_USER_IDS nor TELEGRAM_ADMIN_IDS is set: every command and button will be refused");
    }
    const menus = commandMenus(this.options.menu, { feedChatId: config.feedChatId, adminIds: config.adminIds });
    for (const menu of menus) {
      try {
        await this.options.api.setMyCommands(menu.commands, { scope: menu.scope });
      } catch (err) {
        log.warn({ scope: menu.scope, error: describeTelegramError(err) }, "telegram: could not set the command menu");
      }
    }
  }

  /** Waits up to `graceMs` for the handlers still running; returns how many are left. */
  async drain(graceMs: number): Promise<number> {
    if (!this.inFlight.size) return 0;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const done = await Promise.race([Promise.allSettled([...this.inFlight]).then(() => "done" as const), grace]);
    clearTimeout(timer);
    return done === "timeout" ? this.inFlight.size : 0;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** A slash command in a DM or a group (also `/cmd@ThisBot`); strangers get one short refusal. */
  private async onMessage(ctx: Context): Promise<void> {
    const message = ctx.message;
    const core = this.core;
    if (!message?.text || !core) return;
    const parsed = parseCommand(message.text, ctx.me.username);
    if (!parsed) return this.onText(ctx);
    // In a group, "/foo" without a mention may be meant for another bot: only our own commands count.
    if (message.chat.type !== "private" && !parsed.mentioned && !this.commandNames.has(parsed.name)) return;
    const caller = telegramCaller({ from: message.from, sender_chat: message.sender_chat, chatId: message.chat.id }, this.options.config);
    const where: Where = {
      chatId: String(message.chat.id),
      threadId: message.is_topic_message ? message.message_thread_id : undefined,
    };
    if (!caller.allowed) {
      this.options.log.info({ userId: caller.userId, chatId: where.chatId, command: parsed.name }, "refused a command from a user not allowed");
      await this.reply(where, textView(refusalText), message.message_id);
      return;
    }
    let view: View;
    try {
      view = await core.command(caller, parsed.name, parsed.args);
    } catch (err) {
      this.options.log.error({ error: describeTelegramError(err), command: parsed.name }, "command failed");
      view = textView(`/${parsed.name} failed; the details are in asm's log.`);
    }
    const ref = await this.reply(where, view, message.message_id);
    if (view.key && ref) core.delivered?.(view.key, ref);
  }

  /**
   * Plain text in a forum topic: handed to the core, which knows which topics are its own (a worker's: the
   * text is its next turn) and answers there, or stays silent for any other topic. Outside topics plain text
   * is conversation, not for asm. Telegram delivers it only when the bot is a group admin or has privacy
   * mode off.
   */
  private async onText(ctx: Context): Promise<void> {
    const message = ctx.message;
    const core = this.core;
    if (!message?.text || !core?.text || !message.is_topic_message || !message.message_thread_id || message.from?.is_bot) return;
    const where: Where = { chatId: String(message.chat.id), threadId: message.message_thread_id };
    const caller = telegramCaller({ from: message.from, sender_chat: message.sender_chat, chatId: message.chat.id }, this.options.config);
    let view: View | null;
    try {
      view = await core.text(caller, message.text, { chatId: where.chatId, threadId: String(where.threadId) });
    } catch (err) {
      this.options.log.error({ error: describeTelegramError(err), chatId: where.chatId }, "a message in a topic failed");
      view = textView("That did not work; the details are in asm's log.");
    }
    if (view) await this.reply(where, view, message.message_id);
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
    const core = this.core;
    const caller = telegramCaller({ from: query.from, chatId: message?.chat.id }, this.options.config);
    if (!caller.allowed || !core) {
      this.options.log.info({ userId: caller.userId, data: query.data }, "refused a button press from a user not allowed");
      await this.answer(query.id, refusalText);
      return;
    }
    const ref = message ? refOf(message) : null;
    type Settled = { outcome: ButtonOutcome } | { error: unknown };
    const mark = this.options.order.mark();
    const work: Promise<Settled> = core.button(caller, query.data, ref).then(
      (outcome) => ({ outcome }),
      (error) => ({ error }),
    );
    const { value: settled, late } = await answerWithin(work, this.options.answerWithinMs, () => this.answer(query.id, "Working…"));
    if ("error" in settled) {
      this.options.log.error({ error: describeTelegramError(settled.error), data: query.data }, "button failed");
      if (!late) await this.answer(query.id, "That did not work; the details are in asm's log.");
      return;
    }
    const { outcome } = settled;
    if (!late) await this.answer(query.id, outcome.toast);
    const where: Where | null = ref ? { chatId: ref.chatId, threadId: ref.threadId ? Number(ref.threadId) : undefined } : null;
    // The core may have edited this message with something newer meanwhile (a fast action's result).
    if (outcome.edit && ref && !this.options.order.editedSince(ref, mark)) {
      try {
        await this.options.edit(ref, outcome.edit);
      } catch (err) {
        // The message was deleted or is too old to edit: say it in a new message instead.
        if (!(err instanceof DeliveryError && isEditImpossible(err.options.cause)) || !where) throw err;
        await this.reply(where, outcome.edit);
      }
    }
    if (outcome.reply && where) {
      const sent = await this.reply(where, outcome.reply);
      if (outcome.reply.key && sent) core.delivered?.(outcome.reply.key, sent);
    }
  }

  /** Answers a callback query; a late or repeated answer is logged, never thrown. */
  private async answer(queryId: string, text?: string): Promise<void> {
    try {
      await this.options.api.answerCallbackQuery(queryId, text ? { text: clipText(text, maxToastLength) } : {});
    } catch (err) {
      this.options.log.warn({ error: describeTelegramError(err) }, "telegram: could not answer a button press");
    }
  }

  /**
   * A reply to a command or button in the chat (and topic) it came from. Replies into the feed group
   * share its budget with alerts: one that would exceed it waits (a person asked and gets the answer
   * a little later), while alerts fail fast to the outbox.
   */
  private async reply(where: Where, view: View, replyTo?: number): Promise<MessageRef | null> {
    try {
      const parts = renderView(view);
      await this.options.roomFor(where.chatId, parts.length);
      return await post(this.options.api, where, parts, { silent: view.silent ?? false, replyTo, image: view.image });
    } catch (err) {
      this.options.log.error({ error: describeTelegramError(err), chatId: where.chatId }, "telegram: could not reply");
      return null;
    }
  }
}
