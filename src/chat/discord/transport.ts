import { randomBytes } from "node:crypto";
import {
  type APIMessage,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayCloseCodes,
  GatewayIntentBits,
  type Interaction,
  type InteractionReplyOptions,
  MessageFlags,
  type RateLimitData,
  RateLimitError,
  Routes,
} from "discord.js";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import {
  type ButtonOutcome,
  type Caller,
  DeliveryError,
  type Inbound,
  type MessageRef,
  type Transport,
  type TransportProblem,
} from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import type { KvStore } from "../../store/kv.ts";
import type { Runtime } from "../../store/runtime.ts";
import { type CommandSpec, commands } from "../commands.ts";
import { EditOrder } from "../edit-order.ts";
import { discordCaller } from "./access.ts";
import { restBase } from "./api-base.ts";
import { buildSlashCommands, registerCommands, removeGlobalCopy } from "./commands.ts";
import { DiscordRenderError, discordCode, toDeliveryError, tokenRetryMs } from "./errors.ts";
import { type DiscordPayload, type PagerState, pagerPrefix, paginate, parsePagerId, renderPage } from "./render.ts";

/** One autocomplete suggestion: what the user sees and the value the command receives. */
export interface Suggestion {
  name: string;
  value: string;
}

export interface DiscordOptions {
  token: string;
  config: Config["discord"];
  kv: KvStore;
  log: Logger;
  /** The core's command list: registered as slash commands and used to map options to arguments. */
  commands: readonly CommandSpec[];
  /** Session ids matching what the user typed so far (autocomplete for `autocomplete: "session"`). */
  suggestSessions?: (prefix: string) => Suggestion[];
  /** Answer within this or defer ("thinking…") and edit later; Discord allows 3 s. Default 2000. */
  deferAfterMs?: number;
  /** Longer feed rate-limit waits go back to the outbox as `DeliveryError.retryAfterMs`. Default 10 s. */
  maxRateLimitWaitMs?: number;
  /** First wait before reconnecting after a failed login (doubles up to 10 min). Default 15 s. */
  loginRetryMs?: number;
}

/** kv key of the current problem (a `TransportProblem`, or null), for `asm health` in another process. */
export const discordProblemKey = "transport.discord.problem";

const ephemeral = MessageFlags.Ephemeral;
const refusal = "Sorry, you are not allowed to use this bot.";
const maxPagers = 500;
const pagerTtlMs = 24 * 3600_000;

/** Settles to the work's value if it finishes within `ms`, else to `{ done: false }`. */
async function within<T>(work: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Discord error codes of a feed channel that refuses every post: Unknown Channel, Missing Access, Missing Permissions, archived (locked) thread. */
const feedRefusals = new Set([10003, 50001, 50013, 50083]);
/** While the feed channel refuses the bot, alerts are retried this often: someone has to fix it first. */
const feedRefusedRetryMs = 60_000;

const tokenRejected = "Discord rejected DISCORD_TOKEN (401): the Discord transport is off until the token is fixed";

/** A REST answer 401: the bot token is not (or no longer) valid. */
const unauthorized = (err: unknown) => err instanceof DiscordAPIError && err.status === 401;

/** What to log about an error: never the request URL (interaction and webhook URLs hold tokens). */
const summary = (err: unknown) => {
  const e = err as { name?: string; message?: string; status?: number; code?: unknown };
  return { name: e?.name, message: e?.message, status: e?.status, code: e?.code };
};

/**
 * The Discord transport (discord.js v14, Guilds intent only). Alerts go to the feed channel
 * (DISCORD_FEED_CHANNEL_ID, a text channel or a thread) as embeds coloured by severity and are
 * edited in place; slash commands are registered from the core's command list and answered
 * within Discord's 3 s by deferring when the core is slower; approval buttons carry the view's
 * opaque data as custom id; long views page with Prev/Next buttons. Access is by the configured
 * user and role ids only, and refusals are ephemeral. Network faults, 429s and a revoked token
 * are logged and reported, never thrown out of the process.
 */
export class DiscordTransport implements Transport {
  readonly name = "discord" as const;
  private client: Client | null = null;
  private inbound: Inbound | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly pagers = new Map<string, { view: View; pages: string[]; at: number }>();
  /** Button responses in flight, by the message they update (see `applying`). */
  private readonly responding = new Map<string, Promise<void>>();
  private readonly order = new EditOrder();
  private readonly deferAfterMs: number;
  private readonly maxRateLimitWaitMs: number;
  private current: TransportProblem | null = null;
  /** The feed channel refuses our posts (deleted, or the bot lost access); cleared by the next post that lands. */
  private feedProblem: TransportProblem | null = null;

  constructor(private readonly options: DiscordOptions) {
    this.deferAfterMs = options.deferAfterMs ?? 2000;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 10_000;
  }

  /**
   * What keeps the transport from working right now, or null: `unauthorized` (the token was
   * refused, at login or by the gateway: 4004), `unreachable` (no connection to Discord; the
   * monitor alerts only when it lasts) or `feed` (the feed channel refuses every alert). Other
   * transports deliver the resulting self alert.
   */
  get problem(): TransportProblem | null {
    return this.current ?? this.feedProblem;
  }

  /** Logs in (GET /gateway/bot, then the gateway) and registers the commands if they changed. */
  async start(inbound: Inbound): Promise<void> {
    this.inbound = inbound;
    this.stopped = false;
    if (!this.options.config.feedChannelId) {
      this.options.log.warn("DISCORD_FEED_CHANNEL_ID is not set: slash commands work, but alerts are not posted to Discord");
    }
    await this.connect(this.options.loginRetryMs ?? 15_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await Promise.allSettled([...this.inflight]);
    const client = this.client;
    this.client = null;
    await client?.destroy();
  }

  async send(view: View, to?: { chatId: string; threadId?: string | undefined }): Promise<MessageRef> {
    // On Discord a thread is a channel of its own: posting into it is posting to its id.
    const channelId = to?.threadId ?? to?.chatId ?? this.options.config.feedChannelId;
    if (!channelId) {
      throw new DeliveryError("no Discord feed channel: set DISCORD_FEED_CHANNEL_ID", "discord", { permanent: true });
    }
    const client = this.ready("post");
    const body = {
      ...this.payload(view),
      ...(view.silent ? { flags: MessageFlags.SuppressNotifications } : {}),
      // discord.js retries a post after a 5xx or a timeout, and Discord may have created the message
      // already: with an enforced nonce the retry returns that message instead of posting it twice.
      nonce: randomBytes(12).toString("base64url"),
      enforce_nonce: true,
    };
    try {
      const message = (await client.rest.post(Routes.channelMessages(channelId), { body })) as APIMessage;
      if (!to) this.feedWorks();
      return { transport: "discord", chatId: channelId, messageId: message.id };
    } catch (err) {
      if (!to && err instanceof DiscordAPIError && feedRefusals.has(Number(err.code))) throw this.feedRefused(err, channelId);
      throw this.failed(err, `post to channel ${channelId}`);
    }
  }

  /**
   * Every alert would fail the same way when the feed channel is gone (10003), the bot lost access
   * to it (50001, 50013) or it is a locked archived thread (50083): a `feed` problem the self check
   * reports through the other transports, and a retry later instead of a dropped alert, so alerts
   * arrive once someone fixes the channel (as the Telegram transport does for its feed chat).
   */
  private feedRefused(err: DiscordAPIError, channelId: string): DeliveryError {
    const message = `the Discord feed channel ${channelId} refuses the bot (${err.code}: ${err.message}): give the bot View Channel, Send Messages and Embed Links there (or invite it back), or set DISCORD_FEED_CHANNEL_ID to the right channel; alerts wait in the outbox`;
    if (this.feedProblem?.message !== message) {
      this.feedProblem = { kind: "feed", message, since: this.feedProblem?.since ?? Date.now() };
      this.options.log.error({ transport: "discord", code: err.code }, message);
      this.record();
    }
    return new DeliveryError(`post to channel ${channelId}: Discord answered ${err.status} (code ${err.code}: ${err.message})`, "discord", {
      retryAfterMs: feedRefusedRetryMs,
      cause: err,
    });
  }

  private feedWorks(): void {
    if (!this.feedProblem) return;
    this.options.log.info({ transport: "discord" }, "discord feed channel takes posts again");
    this.feedProblem = null;
    this.record();
  }

  async edit(ref: MessageRef, view: View): Promise<void> {
    this.order.editing(ref);
    await this.responding.get(ref.messageId)?.catch(() => undefined);
    const client = this.ready("edit");
    try {
      await client.rest.patch(Routes.channelMessage(ref.chatId, ref.messageId), { body: this.payload(view) });
    } catch (err) {
      throw this.failed(err, `edit message ${ref.messageId} in channel ${ref.chatId}`);
    }
  }

  /**
   * A failed post or edit as a `DeliveryError`. A 401 means Discord no longer takes the token
   * (reset in the developer portal): the gateway may stay up a while, but discord.js has dropped
   * the token and every later request would fail too, so it becomes the transport's problem.
   */
  private failed(err: unknown, what: string): DeliveryError {
    if (unauthorized(err)) this.setProblem("unauthorized", tokenRejected);
    return toDeliveryError(err, what);
  }

  // ── connection ─────────────────────────────────────────────────────────────────────────────

  private createClient(): Client {
    const { config, log } = this.options;
    const client = new Client({
      intents: [GatewayIntentBits.Guilds],
      allowedMentions: { parse: [] },
      rest: {
        ...(config.apiBase ? restBase(config.apiBase) : {}),
        // Short waits: discord.js sits them out. Long ones on the feed: the outbox decides when to retry.
        rejectOnRateLimit: (d: RateLimitData) => this.onRateLimit(d),
      },
    });
    client.on(Events.InteractionCreate, (interaction) => this.track(this.onInteraction(interaction)));
    client.on(Events.Error, (err) => log.error({ err: summary(err) }, "discord client error"));
    client.on(Events.Warn, (message) => log.warn({ message }, "discord warning"));
    client.on(Events.ShardError, (err, shardId) => log.warn({ err: summary(err), shardId }, "discord gateway error; reconnecting"));
    client.on(Events.ShardDisconnect, (event, shardId) => {
      // discord.js emits this only for close codes it will not reconnect after (4004, 4010–4014).
      if (event.code === 4004) this.setProblem("unauthorized", "Discord closed the gateway: DISCORD_TOKEN is no longer valid (4004)");
      else if (!this.stopped) {
        const why = GatewayCloseCodes[event.code] ?? "unknown";
        log.error({ code: event.code, shardId }, "discord gateway closed for good");
        this.setProblem("unreachable", `Discord closed the gateway for good (${event.code} ${why}): commands and buttons stop until asm restarts`);
      }
    });
    // discord.js reconnects by itself after network faults; meanwhile we are unreachable.
    client.on(Events.ShardReconnecting, () => {
      if (!this.stopped && this.current?.kind !== "unauthorized") this.setProblem("unreachable", "reconnecting to the Discord gateway");
    });
    client.on(Events.ShardResume, () => this.clearProblem("unreachable"));
    client.on(Events.ShardReady, () => this.clearProblem("unreachable"));
    return client;
  }

  /**
   * Called by discord.js for every rate limit it meets (a 429, or a bucket it knows is empty):
   * true = throw a RateLimitError instead of waiting. Feed posts and edits hand long waits back to
   * the outbox; command registration gives up (the daily create limit answers with a wait of
   * hours, and start() would sit it out); interaction replies and edits wait.
   */
  private onRateLimit(d: RateLimitData): boolean {
    const waitMs = Math.max(d.retryAfter, d.timeToReset);
    const reject = (d.route.startsWith("/channels") || d.route.startsWith("/applications")) && waitMs > this.maxRateLimitWaitMs;
    this.options.log.warn({ route: d.route, method: d.method, waitMs, global: d.global, reject }, "discord rate limited");
    return reject;
  }

  private async connect(retryMs: number): Promise<void> {
    if (this.stopped) return;
    const client = this.createClient();
    this.client = client;
    try {
      await client.login(this.options.token);
    } catch (err) {
      this.client = null;
      await client.destroy().catch(() => undefined);
      if (this.stopped) return; // stop() during login: not a problem, and no retry
      const code = discordCode(err);
      if (code === "TokenInvalid" || (err as { status?: number }).status === 401) {
        this.setProblem("unauthorized", tokenRejected);
        return;
      }
      this.setProblem("unreachable", `cannot connect to Discord: ${summary(err).message ?? "network error"}`);
      const next = Math.min(retryMs * 2, 600_000);
      this.options.log.error({ err: summary(err), retryInMs: retryMs }, "could not connect to Discord; will retry");
      this.retryTimer = setTimeout(() => void this.connect(next), retryMs);
      this.retryTimer.unref();
      return;
    }
    this.clearProblem("unreachable");
    this.options.log.info({ user: client.user?.username, guildId: this.options.config.guildId }, "discord connected");
    await this.register(client);
  }

  private async register(client: Client): Promise<void> {
    const { config, log, commands } = this.options;
    const applicationId = client.application?.id ?? client.user?.id;
    if (!applicationId) return;
    try {
      const body = buildSlashCommands(commands);
      const result = await registerCommands({ rest: client.rest, applicationId, guildId: config.guildId, body });
      log.info({ result, scope: config.guildId ? `guild ${config.guildId}` : "global", count: commands.length }, "discord commands");
      if (config.guildId) {
        const removed = await removeGlobalCopy({ rest: client.rest, applicationId, body }).catch((err: unknown) => {
          log.warn({ err: summary(err) }, "could not check for a global copy of the Discord commands");
          return false;
        });
        if (removed) log.info({ guildId: config.guildId }, "removed the global copy of the commands (they were listed twice in the guild)");
      }
    } catch (err) {
      if (unauthorized(err)) return this.setProblem("unauthorized", tokenRejected);
      if (err instanceof RateLimitError) {
        const retryInMs = Math.max(err.retryAfter, err.timeToReset);
        log.error({ retryInMs }, "could not register Discord slash commands: Discord's command limit is reached; the next start tries again");
        return;
      }
      log.error({ err: summary(err) }, "could not register Discord slash commands (does the bot have applications.commands?)");
    }
  }

  /** Logs a problem clearly (once per change) and keeps it in kv; `since` survives repeats of the same kind. */
  private setProblem(kind: TransportProblem["kind"], message: string): void {
    const before = this.current;
    if (before?.kind === kind && before.message === message) return;
    this.current = { kind, message, since: before?.kind === kind ? before.since : Date.now() };
    this.options.log.error({ transport: "discord", kind }, message);
    this.record();
  }

  private clearProblem(kind: TransportProblem["kind"]): void {
    if (this.current?.kind !== kind) return;
    this.options.log.info({ transport: "discord", was: kind }, "discord recovered");
    this.current = null;
    this.record();
  }

  private record(): void {
    try {
      this.options.kv.set(discordProblemKey, this.problem);
    } catch (err) {
      this.options.log.warn({ err: summary(err) }, "could not record the discord problem in the store");
    }
  }

  private ready(what: string): Client {
    if (this.current?.kind === "unauthorized") {
      throw new DeliveryError(`discord ${what}: ${this.current.message}`, "discord", { retryAfterMs: tokenRetryMs });
    }
    if (!this.client) throw new DeliveryError(`discord ${what}: not connected`, "discord", { retryAfterMs: 30_000 });
    return this.client;
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  // ── rendering ──────────────────────────────────────────────────────────────────────────────

  /** A view as a message body; multi-page views get a pager that the Prev/Next buttons use. */
  private payload(view: View): DiscordPayload {
    try {
      const pages = paginate(view);
      return renderPage(view, pages, pages.length > 1 ? this.remember(view, pages) : null);
    } catch (err) {
      if (err instanceof DiscordRenderError) {
        throw new DeliveryError(`discord cannot show this view: ${err.message}`, "discord", { permanent: true, cause: err });
      }
      throw err;
    }
  }

  private remember(view: View, pages: string[]): PagerState {
    const now = Date.now();
    for (const [token, entry] of this.pagers) {
      if (this.pagers.size < maxPagers && now - entry.at < pagerTtlMs) break;
      this.pagers.delete(token);
    }
    const token = randomBytes(6).toString("base64url");
    this.pagers.set(token, { view, pages, at: now });
    return { token, page: 0, pages: pages.length };
  }

  /** discord.js's message options for a view (it wants `allowedMentions`, not `allowed_mentions`). */
  private message(view: View) {
    const { embeds, components } = this.payload(view);
    return { embeds, components, allowedMentions: { parse: [] as [] } };
  }

  /** A reply or follow-up: ephemeral when the view is private. */
  private reply(view: View): InteractionReplyOptions {
    return { ...this.message(view), ...(view.private ? { flags: ephemeral } : {}) };
  }

  // ── interactions ───────────────────────────────────────────────────────────────────────────

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
    this.inbound?.delivered?.(view.key, { transport: "discord", chatId: channelId, messageId });
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
      this.options.log.warn({ err: summary(err) }, "could not read back a Discord reply's id; its message will not be edited with the outcome");
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
      this.options.log.error({ err: summary(err), kind: i.type }, expired ? "discord interaction expired before we answered" : "discord interaction failed");
      if (expired || !i.isRepliable()) return;
      const note = { content: "Something went wrong; the details are in the asm log.", flags: ephemeral } as const;
      await (i.replied || i.deferred ? i.followUp(note) : i.reply(note)).catch(() => undefined);
    }
  }

  private async refuse(i: ChatInputCommandInteraction | ButtonInteraction, caller: Caller, what: string): Promise<void> {
    this.options.log.warn({ transport: "discord", userId: caller.userId, what }, "refused: user not in DISCORD_ALLOWED_USER_IDS");
    await i.reply({ content: refusal, flags: ephemeral });
  }

  private async onCommand(i: ChatInputCommandInteraction): Promise<void> {
    const caller = this.caller(i);
    if (!caller.allowed) return this.refuse(i, caller, `/${i.commandName}`);
    const spec = this.options.commands.find((c) => c.name === i.commandName);
    // Positional arguments in the order the command list declares them, whatever order Discord used.
    const args = (spec?.options ?? []).flatMap((o) => {
      const value = i.options.get(o.name)?.value;
      return value === undefined || value === null ? [] : [String(value)];
    });
    const work = this.inbound!.command(caller, i.commandName, args);
    const first = await within(work, this.deferAfterMs);
    if (first.done) {
      const view = first.value;
      await i.reply(this.reply(view));
      if (view.key) this.delivered(view, i.channelId, await this.replyId(i));
      return;
    }
    await i.deferReply();
    const view = await work;
    if (view.private) {
      // A deferred reply cannot turn ephemeral: replace it with an ephemeral follow-up.
      await i.deleteReply();
      await i.followUp(this.reply(view));
      return;
    }
    const message = await i.editReply(this.message(view));
    this.delivered(view, i.channelId, message.id);
  }

  private async onButton(i: ButtonInteraction): Promise<void> {
    const caller = this.caller(i);
    if (!caller.allowed) return this.refuse(i, caller, `button ${i.customId}`);
    if (i.customId.startsWith(pagerPrefix)) return this.onPage(i);
    const ref: MessageRef = { transport: "discord", chatId: i.channelId, messageId: i.message.id };
    const mark = this.order.mark();
    const work = this.inbound!.button(caller, i.customId, ref);
    // The core may have edited this message with something newer meanwhile (a fast action's result).
    const fresh = (o: ButtonOutcome): ButtonOutcome => (o.edit && this.order.editedSince(ref, mark) ? { ...o, edit: undefined } : o);
    const first = await within(work, this.deferAfterMs);
    if (first.done) return this.applying(i, fresh(first.value), false);
    await i.deferUpdate();
    await this.applying(i, fresh(await work), true);
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

  private async onPage(i: ButtonInteraction): Promise<void> {
    const target = parsePagerId(i.customId);
    const entry = target ? this.pagers.get(target.token) : undefined;
    if (!target || !entry) {
      await i.reply({ content: "This list has expired; run the command again.", flags: ephemeral });
      return;
    }
    const page = Math.min(target.page, entry.pages.length - 1);
    const { embeds, components } = renderPage(entry.view, entry.pages, { token: target.token, page, pages: entry.pages.length });
    await i.update({ embeds, components, allowedMentions: { parse: [] } });
  }

  /**
   * Applies what the core made of a button press: `edit` replaces the message the button was on
   * (its buttons go unless the new view has some), `toast` is an ephemeral note to the presser,
   * `reply` a new message. Every interaction is acknowledged exactly once.
   */
  private async apply(i: ButtonInteraction, outcome: ButtonOutcome, deferred: boolean): Promise<void> {
    let acknowledged = deferred;
    if (outcome.edit) {
      const options = this.message(outcome.edit);
      if (deferred) await i.editReply(options);
      else await i.update(options);
      acknowledged = true;
    }
    if (outcome.toast) {
      const note = { content: outcome.toast.slice(0, 2000), flags: ephemeral } as const;
      if (acknowledged) {
        // The press was answered and its message already shows the outcome; the note on top is a
        // courtesy, so a follow-up the API refuses is logged, not turned into an error reply.
        await i.followUp(note).catch((err: unknown) => this.options.log.warn({ err: summary(err) }, "discord: could not send the note after a button press"));
      } else await i.reply(note);
      acknowledged = true;
    }
    if (outcome.reply) {
      const view = outcome.reply;
      if (acknowledged) {
        const message = await i.followUp(this.reply(view));
        this.delivered(view, i.channelId, message.id);
      } else {
        await i.reply(this.reply(view));
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
      this.options.log.error({ err: summary(err) }, "discord autocomplete: could not look up sessions");
    }
    await i.respond(choices);
  }
}

/**
 * The Discord transport as `asm run` sets it up: DISCORD_TOKEN from the secrets, the `discord.*`
 * settings, the core's command list, and session-id autocomplete from the session store.
 */
export function discordTransport(rt: Runtime, overrides: Partial<DiscordOptions> = {}): DiscordTransport {
  return new DiscordTransport({
    token: rt.secrets.discordToken ?? "",
    config: rt.config.discord,
    kv: rt.kv,
    log: rt.log,
    commands,
    suggestSessions: (prefix) =>
      rt.sessions.findByPrefix(prefix, 25).map((s) => ({
        name: [s.platform, s.sessionId, s.title ?? s.project].filter(Boolean).join(" · "),
        value: s.sessionId,
      })),
    ...overrides,
  });
}
