import { Client, Events, GatewayCloseCodes, GatewayIntentBits, type Interaction, type RateLimitData, RateLimitError } from "discord.js";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { DeliveryError } from "../../messages/transport.ts";
import type { CommandSpec } from "../commands.ts";
import type { ConnectionProblemKind, TransportHealth } from "../transport-health.ts";
import { restBase } from "./api-base.ts";
import { buildSlashCommands, registerCommands, removeGlobalCopy } from "./commands.ts";
import { discordCode, errorSummary, isUnauthorized, toDeliveryError, tokenRetryMs } from "./errors.ts";

export interface DiscordConnectionOptions {
  token: string;
  config: Config["discord"];
  log: Logger;
  health: TransportHealth;
  /** Registered as slash commands once connected (only when they changed). */
  commands: readonly CommandSpec[];
  /** First wait before reconnecting after a failed login; doubles up to 10 minutes. */
  loginRetryMs: number;
  /** Longer feed rate-limit waits are thrown back (see `onRateLimit`). */
  maxRateLimitWaitMs: number;
  /** REST requests give up after this long (discord.js default 15 s). */
  requestTimeoutMs?: number;
  /** Every interaction the gateway delivers. */
  onInteraction(interaction: Interaction): void;
  /**
   * Every MESSAGE_CREATE the gateway delivers, raw. Given, the client also asks for the GuildMessages intent
   * (content only where the bot is mentioned); left out, it keeps to the Guilds intent.
   */
  onMessage?(message: RawMessage): void;
}

/** The fields of a raw MESSAGE_CREATE that asm reads. */
export interface RawMessage {
  channel_id: string;
  guild_id?: string;
  content?: string;
  author?: { id: string; username?: string; bot?: boolean };
  member?: { roles?: string[] };
  webhook_id?: string;
}

const maxLoginRetryMs = 600_000;
const tokenRejected = "Discord rejected DISCORD_TOKEN (401): the Discord transport is off until the token is fixed";

/**
 * The bot's connection to Discord: a discord.js client (Guilds intent; GuildMessages for thread text), its login with
 * retries, the slash-command registration, and what the gateway's events mean for the transport's
 * health: a refused token (at login, a 401 from any request, gateway close 4004) is `unauthorized`
 * and stops everything until the token is fixed; a failed login, a reconnect or a close discord.js
 * gives up after is `unreachable` until the gateway is ready again.
 *
 * ```ts
 * const connection = new DiscordConnection({ token, config, log, health, commands, loginRetryMs: 15_000, maxRateLimitWaitMs: 10_000, onInteraction });
 * await connection.start();                       // never throws: see `health.problem`
 * const client = connection.ready("post");        // or a DeliveryError to retry later
 * ```
 */
export class DiscordConnection {
  private client: Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: DiscordConnectionOptions) {}

  /** Logs in (GET /gateway/bot, then the gateway) and registers the commands if they changed. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect(this.options.loginRetryMs);
  }

  /** No more reconnecting; call `close()` once the interactions in flight have settled. */
  halt(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Disconnects from the gateway. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.destroy();
  }

  /** The connected client, or a `DeliveryError` saying when to try again (a refused token, not connected). */
  ready(what: string): Client {
    const problem = this.options.health.connection;
    if (problem?.kind === "unauthorized") {
      throw new DeliveryError(`discord ${what}: ${problem.message}`, "discord", { retryAfterMs: tokenRetryMs });
    }
    if (!this.client) throw new DeliveryError(`discord ${what}: not connected`, "discord", { retryAfterMs: 30_000 });
    return this.client;
  }

  /**
   * A failed post or edit as a `DeliveryError`. A 401 means Discord no longer takes the token
   * (reset in the developer portal): the gateway may stay up a while, but discord.js has dropped
   * the token and every later request would fail too, so it becomes the transport's problem.
   */
  failed(err: unknown, what: string): DeliveryError {
    if (isUnauthorized(err)) this.problem("unauthorized", tokenRejected);
    return toDeliveryError(err, what);
  }

  /** Logs a problem clearly, once per change. */
  private problem(kind: ConnectionProblemKind, message: string): void {
    if (this.options.health.fail(kind, message)) this.options.log.error({ transport: "discord", kind }, message);
  }

  private createClient(): Client {
    const { config, log, health } = this.options;
    const client = new Client({
      // GuildMessages (not privileged) only when text typed in a worker's thread is wanted (`onMessage`); even
      // then, without the privileged Message Content intent Discord fills in `content` only when the message
      // mentions the bot.
      intents: this.options.onMessage ? [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] : [GatewayIntentBits.Guilds],
      allowedMentions: { parse: [] },
      rest: {
        ...(config.apiBase ? restBase(config.apiBase) : {}),
        // Short waits: discord.js sits them out. Long ones on the feed: the outbox decides when to retry.
        rejectOnRateLimit: (d: RateLimitData) => this.onRateLimit(d),
        ...(this.options.requestTimeoutMs ? { timeout: this.options.requestTimeoutMs } : {}),
      },
    });
    client.on(Events.InteractionCreate, (interaction) => this.options.onInteraction(interaction));
    // Raw, so a message in a thread discord.js has not cached is not dropped.
    client.on(Events.Raw, (packet: { t?: string | null; d?: unknown }) => {
      if (packet.t === "MESSAGE_CREATE" && packet.d && this.options.onMessage) this.options.onMessage(packet.d as RawMessage);
    });
    client.on(Events.Error, (err) => log.error({ err: errorSummary(err) }, "discord client error"));
    client.on(Events.Warn, (message) => log.warn({ message }, "discord warning"));
    client.on(Events.ShardError, (err, shardId) => log.warn({ err: errorSummary(err), shardId }, "discord gateway error; reconnecting"));
    client.on(Events.ShardDisconnect, (event, shardId) => {
      // discord.js emits this only for close codes it will not reconnect after (4004, 4010–4014).
      if (event.code === 4004) this.problem("unauthorized", "Discord closed the gateway: DISCORD_TOKEN is no longer valid (4004)");
      else if (!this.stopped) {
        const why = GatewayCloseCodes[event.code] ?? "unknown";
        log.error({ code: event.code, shardId }, "discord gateway closed for good");
        this.problem("unreachable", `Discord closed the gateway for good (${event.code} ${why}): commands and buttons stop until asm restarts`);
      }
    });
    // discord.js reconnects by itself after network faults; meanwhile we are unreachable.
    client.on(Events.ShardReconnecting, () => {
      if (!this.stopped && health.connection?.kind !== "unauthorized") this.problem("unreachable", "reconnecting to the Discord gateway");
    });
    client.on(Events.ShardResume, () => health.recover("unreachable"));
    client.on(Events.ShardReady, () => health.recover("unreachable"));
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
    const reject = (d.route.startsWith("/channels") || d.route.startsWith("/applications")) && waitMs > this.options.maxRateLimitWaitMs;
    this.options.log.warn({ route: d.route, method: d.method, waitMs, global: d.global, reject }, "discord rate limited");
    return reject;
  }

  private async connect(retryMs: number): Promise<void> {
    if (this.stopped) return;
    const { health, log } = this.options;
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
        this.problem("unauthorized", tokenRejected);
        return;
      }
      this.problem("unreachable", `cannot connect to Discord: ${errorSummary(err).message ?? "network error"}`);
      const next = Math.min(retryMs * 2, maxLoginRetryMs);
      log.error({ err: errorSummary(err), retryInMs: retryMs }, "could not connect to Discord; will retry");
      this.retryTimer = setTimeout(() => void this.connect(next), retryMs);
      this.retryTimer.unref();
      return;
    }
    health.recover("unreachable");
    log.info({ user: client.user?.username, guildId: this.options.config.guildId }, "discord connected");
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
          log.warn({ err: errorSummary(err) }, "could not check for a global copy of the Discord commands");
          return false;
        });
        if (removed) log.info({ guildId: config.guildId }, "removed the global copy of the commands (they were listed twice in the guild)");
      }
    } catch (err) {
      if (isUnauthorized(err)) return this.problem("unauthorized", tokenRejected);
      if (err instanceof RateLimitError) {
        const retryInMs = Math.max(err.retryAfter, err.timeToReset);
        log.error({ retryInMs }, "could not register Discord slash commands: Discord's command limit is reached; the next start tries again");
        return;
      }
      log.error({ err: errorSummary(err) }, "could not register Discord slash commands (does the bot have applications.commands?)");
    }
  }
}
