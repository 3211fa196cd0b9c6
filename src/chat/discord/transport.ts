import { randomBytes } from "node:crypto";
import { type APIMessage, DiscordAPIError, MessageFlags, Routes } from "discord.js";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import {
  DeliveryError,
  type Inbound,
  type MessageRef,
  type SendOptions,
  type ThreadPlace,
  type ThreadRequest,
  type Transport,
  type TransportProblem,
} from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import type { KvStore } from "../../store/kv.ts";
import type { Runtime } from "../../store/runtime.ts";
import { type CommandSpec, commands } from "../commands.ts";
import { EditOrder } from "../edit-order.ts";
import { problemKey, TransportHealth } from "../transport-health.ts";
import { DiscordConnection, type RawMessage } from "./connection.ts";
import { DiscordInteractions, type Suggestion } from "./interactions.ts";
import { Pager } from "./pager.ts";
import { DiscordThreads } from "./threads.ts";

export type { Suggestion } from "./interactions.ts";

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
  /**
   * Take text typed in a worker's thread as its next turn: the client then also asks for the GuildMessages
   * intent, and people mention the bot in the thread (`@asm run the tests`) unless the privileged Message
   * Content intent is granted. Default off: Guilds intent only, and `/send` in the thread does the same.
   */
  threadMessages?: boolean;
  /** REST requests give up after this long (discord.js's `timeout`, default 15 s; tests shorten it). */
  requestTimeoutMs?: number;
}

/**
 * Discord returns the message already created for a repeated enforced nonce "in the past few minutes"
 * (discord-api-types `RESTPostAPIChannelMessageJSONBody.enforce_nonce`); two minutes stays inside that.
 */
const nonceWindowMs = 2 * 60_000;

/** kv key of the current problem (a `TransportProblem`, or null), for `asm health` in another process. */
export const discordProblemKey = problemKey("discord");

/** Discord error codes of a feed channel that refuses every post: Unknown Channel, Missing Access, Missing Permissions, archived (locked) thread. */
const feedRefusals = new Set([10003, 50001, 50013, 50083]);
/** While the feed channel refuses the bot, alerts are retried this often: someone has to fix it first. */
const feedRefusedRetryMs = 60_000;

/**
 * The Discord transport (discord.js v14, Guilds intent; GuildMessages with `threadMessages`). Alerts go to the feed channel
 * (DISCORD_FEED_CHANNEL_ID, a text channel or a thread) as embeds coloured by severity and are
 * edited in place; slash commands are registered from the core's command list and answered
 * within Discord's 3 s by deferring when the core is slower; approval buttons carry the view's
 * opaque data as custom id; long views page with Prev/Next buttons. Access is by the configured
 * user and role ids only, and refusals are ephemeral. Network faults, 429s and a revoked token
 * are logged and reported, never thrown out of the process.
 *
 * The parts, one file each: `connection.ts` (the client, login, command registration, the health
 * that follows from the gateway's events), `interactions.ts` (commands, buttons, autocomplete),
 * `pager.ts` (views as messages, long ones in pages). This class wires them and delivers into the feed.
 *
 * ```ts
 * const discord = discordTransport(rt);
 * await discord.start(inbound);                  // never throws: see `discord.problem`
 * const ref = await discord.send(alertView);     // into the feed channel; throws DeliveryError
 * await discord.edit(ref, resolvedView);
 * ```
 */
export class DiscordTransport implements Transport {
  readonly name = "discord" as const;
  readonly sameKeyWithinMs = nonceWindowMs;
  private readonly health: TransportHealth;
  private readonly connection: DiscordConnection;
  private readonly interactions: DiscordInteractions;
  private readonly pager = new Pager();
  private readonly order = new EditOrder();
  private readonly threads: DiscordThreads;

  constructor(private readonly options: DiscordOptions) {
    const { config, kv, log } = options;
    this.health = new TransportHealth({ transport: "discord", kv, log: log.child({ transport: "discord" }) });
    this.interactions = new DiscordInteractions({
      config,
      log,
      commands: options.commands,
      suggestSessions: options.suggestSessions,
      deferAfterMs: options.deferAfterMs ?? 2000,
      pager: this.pager,
      order: this.order,
    });
    this.connection = new DiscordConnection({
      token: options.token,
      config,
      log,
      health: this.health,
      commands: options.commands,
      loginRetryMs: options.loginRetryMs ?? 15_000,
      maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 10_000,
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      onInteraction: (i) => this.interactions.handle(i),
      ...(options.threadMessages
        ? { onMessage: (m: RawMessage) => this.threads.onMessage(m, this.botUserId(), (view, channelId) => this.replyInThread(view, channelId)) }
        : {}),
    });
    this.threads = new DiscordThreads({ config, log });
  }

  /**
   * What keeps the transport from working right now, or null: `unauthorized` (the token was
   * refused, at login or by the gateway: 4004), `unreachable` (no connection to Discord; the
   * monitor alerts only when it lasts) or `feed` (the feed channel refuses every alert). Other
   * transports deliver the resulting self alert.
   */
  get problem(): TransportProblem | null {
    return this.health.problem;
  }

  /** Logs in (GET /gateway/bot, then the gateway) and registers the commands if they changed. */
  async start(inbound: Inbound): Promise<void> {
    this.interactions.core = inbound;
    this.threads.core = inbound;
    if (!this.options.config.feedChannelId) {
      this.options.log.warn("DISCORD_FEED_CHANNEL_ID is not set: slash commands work, but alerts are not posted to Discord");
    }
    await this.connection.start();
  }

  async stop(): Promise<void> {
    this.connection.halt();
    await this.interactions.drain();
    await this.threads.drain();
    await this.connection.close();
  }

  async send(view: View, to?: { chatId: string; threadId?: string | undefined }, how?: SendOptions): Promise<MessageRef> {
    // On Discord a thread is a channel of its own: posting into it is posting to its id.
    const channelId = to?.threadId ?? to?.chatId ?? this.options.config.feedChannelId;
    if (!channelId) {
      throw new DeliveryError("no Discord feed channel: set DISCORD_FEED_CHANNEL_ID", "discord", { permanent: true });
    }
    const client = this.connection.ready("post");
    const body = {
      ...this.pager.payload(view),
      ...(view.silent ? { flags: MessageFlags.SuppressNotifications } : {}),
      // discord.js retries a post after a 5xx or a timeout, and so does the outbox (with the row's key, also
      // after a restart): Discord may have created the message already, and with an enforced nonce a retry
      // within a few minutes returns that message instead of posting it twice.
      nonce: how?.key ?? randomBytes(12).toString("base64url"),
      enforce_nonce: true,
    };
    try {
      const files = this.pager.files(view);
      const message = (await client.rest.post(Routes.channelMessages(channelId), {
        body: files.length && view.image ? { ...body, attachments: [{ id: 0, filename: view.image.filename, description: view.image.alt }] } : body,
        ...(files.length ? { files } : {}),
      })) as APIMessage;
      if (!to) this.health.feedWorks();
      return { transport: "discord", chatId: channelId, messageId: message.id };
    } catch (err) {
      if (!to && err instanceof DiscordAPIError && feedRefusals.has(Number(err.code))) throw this.feedRefused(err, channelId);
      throw this.connection.failed(err, `post to channel ${channelId}`);
    }
  }

  async edit(ref: MessageRef, view: View): Promise<void> {
    this.order.editing(ref);
    await this.interactions.settled(ref.messageId);
    const client = this.connection.ready("edit");
    try {
      await client.rest.patch(Routes.channelMessage(ref.chatId, ref.messageId), { body: this.pager.payload(view) });
    } catch (err) {
      throw this.connection.failed(err, `edit message ${ref.messageId} in channel ${ref.chatId}`);
    }
  }

  /**
   * A public thread under the feed channel for a managed worker, or null when none can be made (no right,
   * the feed is a thread itself, rate limited, not connected): then the worker's messages go to the feed.
   */
  async openThread(request: ThreadRequest): Promise<ThreadPlace | null> {
    let client: ReturnType<DiscordConnection["ready"]>;
    try {
      client = this.connection.ready("create a thread");
    } catch {
      return null;
    }
    return this.threads.open(client, request.title);
  }

  private botUserId(): string | undefined {
    try {
      return this.connection.ready("read the bot's id").user?.id;
    } catch {
      return undefined;
    }
  }

  /** The core's answer to text typed in a worker's thread, posted into that thread. */
  private async replyInThread(view: View, channelId: string): Promise<void> {
    try {
      await this.send(view, { chatId: channelId, threadId: channelId });
    } catch (err) {
      this.options.log.warn({ transport: "discord", channelId, err: err instanceof Error ? err.message : String(err) }, "could not answer in a thread");
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
    this.health.feedRefused(message, { code: err.code });
    return new DeliveryError(`post to channel ${channelId}: Discord answered ${err.status} (code ${err.code}: ${err.message})`, "discord", {
      retryAfterMs: feedRefusedRetryMs,
      cause: err,
    });
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
