import { type RunnerHandle, run } from "@grammyjs/runner";
import { type Bot, GrammyError, type RawApi, type Transformer } from "grammy";
import type { Logger } from "../../lib/log.ts";
import type { TransportHealth } from "../transport-health.ts";
import { describeTelegramError, isConflict, isTokenNotFound, isUnauthorized, isWebhookConflict, retryAfterOf } from "./errors.ts";

export interface TelegramConnectionOptions {
  bot: Bot;
  health: TransportHealth;
  log: Logger;
  /** `getUpdates` long-poll timeout in seconds. */
  pollTimeoutSeconds: number;
  /** First delay before reconnecting after a failure; doubles up to 5 minutes. */
  reconnectMs: number;
  /** Runs after each (re)connect, before polling starts: command menus, the feed topic. */
  connected(): Promise<void>;
}

const maxReconnectMs = 5 * 60_000;
/** grammY types its AbortSignal parameter with the abort-controller shim; Node's own is what it gets at run time. */
type GrammySignal = Parameters<Bot["api"]["getMe"]>[0];
/** Polling that ran this long before failing counts as healthy: the next retry starts from the first delay again. */
const stableMs = maxReconnectMs;

/**
 * The bot's connection to the Bot API: getMe, deleteWebhook, then long polling through
 * `@grammyjs/runner`, and what a failure means for the transport's health. A rejected or malformed
 * token stops with an `unauthorized` problem to fix (asking again with it cannot help); a second
 * poller or a webhook (409) is a `conflict`, anything else `unreachable`; both are retried with a
 * delay that doubles while failures come quickly.
 *
 * ```ts
 * const connection = new TelegramConnection({ bot, health, log, pollTimeoutSeconds: 30, reconnectMs: 5000, connected });
 * bot.api.config.use(connection.watchPolling);   // a failed or successful poll shows at once
 * await connection.start();                       // never throws: see `health.problem`
 * ```
 */
export class TelegramConnection {
  private runner: RunnerHandle | null = null;
  private halted = true;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay: number;
  /** When polling last started (null while not polling); decides whether a failure resets the backoff. */
  private pollingSince: number | null = null;
  /** Aborts the getMe/deleteWebhook of a connect in progress (a hung Bot API must not hold up `stop`). */
  private connecting: AbortController | null = null;

  constructor(private readonly options: TelegramConnectionOptions) {
    this.reconnectDelay = options.reconnectMs;
  }

  /** True before `start()` and after `stop()`: nothing reconnects, replies stop waiting. */
  get stopped(): boolean {
    return this.halted;
  }

  async start(): Promise<void> {
    this.halted = false;
    await this.connect();
  }

  /** Stops reconnecting and polling, and abandons a getMe/deleteWebhook in flight; resolves once the runner has stopped. */
  async stop(): Promise<void> {
    this.halted = true;
    this.connecting?.abort();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const runner = this.runner;
    this.runner = null;
    if (runner) await runner.stop();
  }

  /** getMe, deleteWebhook, `connected()`, then polling; failures schedule a retry. */
  private async connect(): Promise<void> {
    const { bot, health, log } = this.options;
    const connecting = new AbortController();
    this.connecting = connecting;
    try {
      // Not bot.init(): it retries network errors forever, and start() must not hang while Telegram is away.
      if (!bot.isInited()) bot.botInfo = await bot.api.getMe(connecting.signal as GrammySignal);
      await this.dropWebhook(connecting.signal as GrammySignal);
    } catch (err) {
      this.failed(err, "connect");
      return;
    } finally {
      if (this.connecting === connecting) this.connecting = null;
    }
    if (this.halted) return;
    // Reaching Telegram ends "unreachable". A conflict ends only when a poll succeeds (watchPolling),
    // or every retry would report "recovered" just before the next 409; a feed problem when a feed send succeeds.
    health.recover("unreachable");
    log.info({ bot: `@${bot.botInfo.username}` }, "telegram connected");
    await this.options.connected();
    if (this.halted) return;
    const runner = run(bot, {
      runner: {
        fetch: { timeout: this.options.pollTimeoutSeconds, allowed_updates: ["message", "callback_query"] },
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

  /**
   * Records why a request failed and, unless the token itself is refused, connects again later.
   * Feed sends and edits call it too: a 401 there means the token was revoked.
   */
  failed(err: unknown, during: string): void {
    const { health, log } = this.options;
    if (this.halted) return;
    // Backing off keeps growing while failures come quickly (a 409 right after each reconnect);
    // only polling that ran for a while earns a fresh start.
    if (this.pollingSince !== null && Date.now() - this.pollingSince >= stableMs) this.reconnectDelay = this.options.reconnectMs;
    this.pollingSince = null;
    // Asking again with the same token cannot help: wait for an operator instead of looping.
    const notFound = during === "connect" && isTokenNotFound(err);
    if (isUnauthorized(err) || notFound) {
      const message = notFound
        ? "Telegram does not accept the bot token (404 Not Found from getMe): it is malformed. Copy TELEGRAM_BOT_TOKEN exactly as BotFather gave it (digits:letters, no 'bot' prefix), check TELEGRAM_API_ROOT if set, and restart asm."
        : "Telegram refused the bot token (401 Unauthorized): it was revoked or is wrong. Set a valid TELEGRAM_BOT_TOKEN and restart asm.";
      if (health.connection?.kind !== "unauthorized") log.error({ during }, message);
      health.fail("unauthorized", message);
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
    health.fail(conflict ? "conflict" : "unreachable", message);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.halted) void this.connect();
    }, retryInMs);
    this.reconnectTimer.unref?.();
    this.reconnectDelay = Math.min(maxReconnectMs, this.reconnectDelay * 2);
  }

  /** Polling failures show up as a problem at once; a successful poll clears it. Install on `bot.api`. */
  readonly watchPolling: Transformer<RawApi> = async (prev, method, payload, signal) => {
    if (method !== "getUpdates") return prev(method, payload, signal);
    const { health, log } = this.options;
    try {
      const result = await prev(method, payload, signal);
      if (result.ok) health.recover("unreachable", "conflict");
      return result;
    } catch (err) {
      if (!signal?.aborted && !this.halted && health.connection?.kind !== "unreachable") {
        log.warn({ error: describeTelegramError(err) }, "telegram: polling failed; retrying");
        health.fail("unreachable", `cannot reach Telegram: ${describeTelegramError(err)}`);
      }
      throw err;
    }
  };

  /**
   * deleteWebhook, so that polling works. A server that does not know the method (404 after getMe
   * accepted the token: a minimal or older Bot API server) has no webhook to drop; polling goes on.
   */
  private async dropWebhook(signal: GrammySignal): Promise<void> {
    try {
      await this.options.bot.api.deleteWebhook(undefined, signal);
    } catch (err) {
      if (!(err instanceof GrammyError && err.error_code === 404)) throw err;
      this.options.log.info({ error: describeTelegramError(err) }, "telegram: the Bot API server has no deleteWebhook; polling without it");
    }
  }
}
