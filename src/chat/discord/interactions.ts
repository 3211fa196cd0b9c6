import { type AutocompleteInteraction, type ButtonInteraction, type ChatInputCommandInteraction, type Interaction, MessageFlags } from "discord.js";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import type { ButtonOutcome, Caller, Inbound, MessageRef } from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import { answerWithin } from "../answer-within.ts";
import type { CommandSpec } from "../commands.ts";
import type { EditOrder } from "../edit-order.ts";
import { refusalText } from "../refusal.ts";
import { discordCaller } from "./access.ts";
import { discordCode, errorSummary } from "./errors.ts";
import type { Pager } from "./pager.ts";
import { pagerPrefix } from "./render.ts";

/** One autocomplete suggestion: what the user sees and the value the command receives. */
export interface Suggestion {
  name: string;
  value: string;
}

export interface DiscordInteractionsOptions {
  config: Config["discord"];
  log: Logger;
  /** The core's command list: maps a slash command's options to positional arguments. */
  commands: readonly CommandSpec[];
  /** Session ids matching what the user typed so far (autocomplete for `autocomplete: "session"`). */
  suggestSessions?: ((prefix: string) => Suggestion[]) | undefined;
  /** Answer within this or defer ("thinking…") and edit later; Discord allows 3 s. */
  deferAfterMs: number;
  pager: Pager;
  order: EditOrder;
}

const ephemeral = MessageFlags.Ephemeral;

/**
 * What comes in from Discord: slash commands, button presses and autocomplete, handed to the
 * core's `Inbound`. Each is answered within Discord's 3 s, by deferring when the core is slower;
 * access is by the configured user and role ids only, and refusals are ephemeral. Every
 * interaction is tracked, so `drain()` can let them finish before the client goes.
 */
export class DiscordInteractions {
  /** The core; null until the transport starts. */
  core: Inbound | null = null;
  private readonly inflight = new Set<Promise<void>>();
  /** Button responses in flight, by the message they update (see `applying`). */
  private readonly responding = new Map<string, Promise<void>>();

  constructor(private readonly options: DiscordInteractionsOptions) {}

  /** Handles one interaction; never throws (a failure is logged and, where possible, told to the user). */
  handle(i: Interaction): void {
    const work = this.onInteraction(i);
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** Resolves once every interaction in flight has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Resolves once a button response that updates this message has landed (at once when there is none). */
  async settled(messageId: string): Promise<void> {
    await this.responding.get(messageId)?.catch(() => undefined);
  }

  private caller(i: Interaction): Caller {
    return discordCaller(this.options.config, {
      userId: i.user.id,
      name: i.user.username,
      member: i.member as { roles: unknown } | null,
      channelId: i.channelId,
    });
  }

  private delivered(view: View, channelId: string | null, messageId: string | undefined): void {
    if (!view.key || !channelId || !messageId) return;
    this.core?.delivered?.(view.key, { transport: "discord", chatId: channelId, messageId });
  }

  /**
   * The id of the reply just sent, for views the core edits later (an approval request). Read with GET
   * …/messages/@original rather than `withResponse`: an API that answers the callback 204 without a body
   * would make discord.js fail after the reply had landed. Undefined when the API will not say.
   */
  private async replyId(i: ChatInputCommandInteraction | ButtonInteraction): Promise<string | undefined> {
    try {
      return (await i.fetchReply()).id;
    } catch (err) {
      this.options.log.warn({ err: errorSummary(err) }, "could not read back a Discord reply's id; its message will not be edited with the outcome");
      return undefined;
    }
  }

  private async onInteraction(i: Interaction): Promise<void> {
    try {
      if (i.isAutocomplete()) await this.onAutocomplete(i);
      else if (i.isChatInputCommand()) await this.onCommand(i);
      else if (i.isButton()) await this.onButton(i);
    } catch (err) {
      const expired = discordCode(err) === 10062;
      this.options.log.error(
        { err: errorSummary(err), kind: i.type },
        expired ? "discord interaction expired before we answered" : "discord interaction failed",
      );
      if (expired || !i.isRepliable()) return;
      const note = { content: "Something went wrong; the details are in the asm log.", flags: ephemeral } as const;
      await (i.replied || i.deferred ? i.followUp(note) : i.reply(note)).catch(() => undefined);
    }
  }

  private async refuse(i: ChatInputCommandInteraction | ButtonInteraction, caller: Caller, what: string): Promise<void> {
    this.options.log.warn({ transport: "discord", userId: caller.userId, what }, "refused: user not in DISCORD_ALLOWED_USER_IDS");
    await i.reply({ content: refusalText, flags: ephemeral });
  }

  private async onCommand(i: ChatInputCommandInteraction): Promise<void> {
    const { pager } = this.options;
    const caller = this.caller(i);
    if (!caller.allowed) return this.refuse(i, caller, `/${i.commandName}`);
    const spec = this.options.commands.find((c) => c.name === i.commandName);
    // Positional arguments in the order the command list declares them, whatever order Discord used.
    const args = (spec?.options ?? []).flatMap((o) => {
      const value = i.options.get(o.name)?.value;
      if (value === undefined || value === null) return [];
      return o.keyword ? [o.keyword, String(value)] : [String(value)];
    });
    const work = this.core!.command(caller, i.commandName, args);
    const { value: view, late } = await answerWithin(work, this.options.deferAfterMs, () => i.deferReply());
    if (!late) {
      await i.reply(pager.reply(view));
      if (view.key) this.delivered(view, i.channelId, await this.replyId(i));
      return;
    }
    if (view.private) {
      // A deferred reply cannot turn ephemeral: replace it with an ephemeral follow-up.
      await i.deleteReply();
      await i.followUp(pager.reply(view));
      return;
    }
    const message = await i.editReply(pager.message(view));
    this.delivered(view, i.channelId, message.id);
  }

  private async onButton(i: ButtonInteraction): Promise<void> {
    const caller = this.caller(i);
    if (!caller.allowed) return this.refuse(i, caller, `button ${i.customId}`);
    if (i.customId.startsWith(pagerPrefix)) return this.options.pager.turn(i);
    const { order } = this.options;
    const ref: MessageRef = { transport: "discord", chatId: i.channelId, messageId: i.message.id };
    const mark = order.mark();
    const work = this.core!.button(caller, i.customId, ref);
    const { value: outcome, late } = await answerWithin(work, this.options.deferAfterMs, () => i.deferUpdate());
    // The core may have edited this message with something newer meanwhile (a fast action's result).
    const fresh = outcome.edit && order.editedSince(ref, mark) ? { ...outcome, edit: undefined } : outcome;
    await this.applying(i, fresh, late);
  }

  /**
   * Applies a button outcome while `edit()` of the same message waits: the core may finish an
   * approved action and edit the message with its outcome before our "running…" update has landed,
   * and the later write would win. Registered synchronously, before the first request goes out.
   */
  private async applying(i: ButtonInteraction, outcome: ButtonOutcome, deferred: boolean): Promise<void> {
    const messageId = i.message.id;
    const done = this.apply(i, outcome, deferred);
    this.responding.set(messageId, done);
    try {
      await done;
    } finally {
      if (this.responding.get(messageId) === done) this.responding.delete(messageId);
    }
  }

  /**
   * Applies what the core made of a button press: `edit` replaces the message the button was on
   * (its buttons go unless the new view has some), `toast` is an ephemeral note to the presser,
   * `reply` a new message. Every interaction is acknowledged exactly once.
   */
  private async apply(i: ButtonInteraction, outcome: ButtonOutcome, deferred: boolean): Promise<void> {
    const { pager } = this.options;
    let acknowledged = deferred;
    if (outcome.edit) {
      const options = pager.message(outcome.edit);
      if (deferred) await i.editReply(options);
      else await i.update(options);
      acknowledged = true;
    }
    if (outcome.toast) {
      const note = { content: outcome.toast.slice(0, 2000), flags: ephemeral } as const;
      if (acknowledged) {
        // The press was answered and its message already shows the outcome; the note on top is a
        // courtesy, so a follow-up the API refuses is logged, not turned into an error reply.
        await i
          .followUp(note)
          .catch((err: unknown) => this.options.log.warn({ err: errorSummary(err) }, "discord: could not send the note after a button press"));
      } else await i.reply(note);
      acknowledged = true;
    }
    if (outcome.reply) {
      const view = outcome.reply;
      if (acknowledged) {
        const message = await i.followUp(pager.reply(view));
        this.delivered(view, i.channelId, message.id);
      } else {
        await i.reply(pager.reply(view));
        if (view.key) this.delivered(view, i.channelId, await this.replyId(i));
      }
      acknowledged = true;
    }
    if (!acknowledged) await i.deferUpdate();
  }

  private async onAutocomplete(i: AutocompleteInteraction): Promise<void> {
    const caller = this.caller(i);
    const focused = i.options.getFocused(true);
    const spec = this.options.commands.find((c) => c.name === i.commandName)?.options.find((o) => o.name === focused.name);
    const suggest = this.options.suggestSessions;
    let choices: Suggestion[] = [];
    try {
      if (caller.allowed && spec?.autocomplete === "session" && suggest) {
        choices = suggest(String(focused.value))
          .slice(0, 25)
          .map((s) => ({ name: s.name.slice(0, 100), value: s.value.slice(0, 100) }));
      }
    } catch (err) {
      // Still answer: without a response Discord shows "Loading options failed" until it times out.
      this.options.log.error({ err: errorSummary(err) }, "discord autocomplete: could not look up sessions");
    }
    await i.respond(choices);
  }
}
