import { type APIChannel, ChannelType, type Client, DiscordAPIError, Routes } from "discord.js";
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import type { Inbound, ThreadPlace } from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import { discordCaller } from "./access.ts";
import type { RawMessage } from "./connection.ts";
import { errorSummary } from "./errors.ts";

/** Discord's limit for a thread's name. */
const maxThreadName = 100;
/** Threads archive after a week without messages (the longest Discord allows without boosts). */
const autoArchiveMinutes = 10_080;
/**
 * Codes after which no thread can be made under the feed channel until someone changes it: Unknown Channel,
 * Missing Access, Missing Permissions, "cannot execute action on this channel type" (the feed is a thread itself).
 */
const lasting = new Set([10003, 50001, 50013, 50024]);

export interface DiscordThreadsOptions {
  config: Config["discord"];
  log: Logger;
}

/**
 * Threads of their own under the feed channel (one per managed worker), and what is typed in them: a public
 * thread is opened with the worker's first message; text in it (mentioning the bot, unless the Message
 * Content intent is on) goes to the core's `Inbound.text`, which knows the worker and answers there.
 *
 * ```ts
 * const threads = new DiscordThreads({ config, log });
 * const place = await threads.open(client, "w3 app: fix the failing test"); // null: post into the feed
 * threads.onMessage(raw, botUserId, (view, channelId) => post(view, channelId));
 * ```
 */
export class DiscordThreads {
  /** The core; null until the transport starts. */
  core: Inbound | null = null;
  private refused = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: DiscordThreadsOptions) {}

  /** A public thread under the feed channel; null (and one log line) when it cannot be had. Never throws. */
  async open(client: Client, title: string): Promise<ThreadPlace | null> {
    const feed = this.options.config.feedChannelId;
    if (!feed || this.refused) return null;
    const name = [...title.trim()].slice(0, maxThreadName).join("").slice(0, maxThreadName).trim() || "worker";
    try {
      const thread = (await client.rest.post(Routes.threads(feed), {
        body: { name, type: ChannelType.PublicThread, auto_archive_duration: autoArchiveMinutes },
      })) as APIChannel;
      return { chatId: feed, threadId: thread.id };
    } catch (err) {
      const code = err instanceof DiscordAPIError ? Number(err.code) : undefined;
      if (code !== undefined && lasting.has(code)) {
        this.refused = true;
        this.options.log.warn(
          { transport: "discord", channelId: feed, err: errorSummary(err) },
          "no threads can be made under the Discord feed channel (it needs Create Public Threads and Send Messages in Threads, and must be a text channel): worker messages go to the feed",
        );
      } else {
        this.options.log.warn(
          { transport: "discord", channelId: feed, err: errorSummary(err) },
          "could not create a worker thread now; its messages go to the feed",
        );
      }
      return null;
    }
  }

  /**
   * A message the gateway delivered. Only people's messages with text count; the bot's mention is taken out.
   * Threads are matched by the core (a worker's thread) under the feed channel; anything else is ignored.
   */
  onMessage(m: RawMessage, botUserId: string | undefined, reply: (view: View, channelId: string) => Promise<void>): void {
    const feed = this.options.config.feedChannelId;
    const core = this.core;
    if (!feed || !core?.text || !m.author || m.author.bot || m.webhook_id || m.channel_id === feed) return;
    const text = (m.content ?? "").replace(botUserId ? new RegExp(`<@!?${botUserId}>`, "g") : /$^/, "").trim();
    if (!text) return;
    const caller = discordCaller(this.options.config, {
      userId: m.author.id,
      name: m.author.username,
      member: m.member ? { roles: m.member.roles ?? [] } : null,
      channelId: m.channel_id,
    });
    const work = (async () => {
      const view = await core.text!(caller, text, { chatId: feed, threadId: m.channel_id });
      if (view) await reply(view, m.channel_id);
    })().catch((err: unknown) => this.options.log.error({ transport: "discord", err: errorSummary(err) }, "a message in a thread failed"));
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** Resolves once every message in flight has been answered. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
