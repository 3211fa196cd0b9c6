import { type Api, GrammyError } from "grammy";
import type { Logger } from "../../lib/log.ts";
import type { KvStore } from "../../store/kv.ts";
import { describeTelegramError } from "./errors.ts";

/** Where feed messages go: a chat, and in a forum the topic (`message_thread_id`). */
export interface FeedTarget {
  chatId: string;
  threadId?: number | undefined;
}

/**
 * A chat id as the Bot API's own type: an Integer when it is numeric (ids fit in 52 bits), else the
 * `@channelusername` string. Our config and message refs keep ids as strings.
 */
export const apiChatId = (id: string): number | string => (/^-?\d+$/.test(id) ? Number(id) : id);

export interface FeedSettings {
  feedChatId: string | null;
  feedTopicId: number | null;
  topicName: string;
}

/** The topic asm created itself, remembered across restarts. */
interface StoredTopic {
  chatId: string;
  topicId: number;
  name: string;
}

/** The id of a forum's General topic, which must be addressed by leaving the thread id out. */
const generalTopicId = 1;

/** KvStore key of the topic asm created in a forum feed chat. */
export const feedTopicKey = "telegram.feedTopicId";

/** The feed cannot be used yet (not configured, or the chat could not be looked up). */
export class FeedUnavailableError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** Telegram's answer, when it gave one. */
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "FeedUnavailableError";
  }
}

/**
 * Resolves the feed target once and remembers it. A configured topic id wins. Otherwise a forum
 * chat gets a topic of its own on first use (created once, its id kept in the store); a private
 * chat or a plain group is used as it is. Until the chat can be looked up nothing is posted, so an
 * alert never lands in the wrong topic. When Telegram refuses the topic for good (no "manage
 * topics" right, a deleted configured topic) alerts go to the General topic instead of failing one
 * by one, and a group upgraded to a supergroup is followed to its new id; each is logged once with
 * the setting to fix.
 */
export class FeedTopic {
  private resolved: FeedTarget | null = null;
  private pending: Promise<FeedTarget> | null = null;
  /** The feed chat now: the configured id, or the supergroup it was upgraded to. */
  private chatId: string | null;
  /** The configured topic no longer exists: post into the General topic. */
  private configuredTopicGone = false;

  constructor(
    private readonly api: Api,
    private readonly settings: FeedSettings,
    private readonly kv: KvStore,
    private readonly log: Logger,
  ) {
    this.chatId = settings.feedChatId;
  }

  /** The chat (and topic) to post into; throws `FeedUnavailableError`. */
  target(): Promise<FeedTarget> {
    if (this.resolved) return Promise.resolve(this.resolved);
    this.pending ??= this.resolve()
      .then((target) => {
        this.resolved = target;
        return target;
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  /** True when `chatId` is the feed chat, under its configured or its upgraded id (all share the group's budget). */
  isFeedChat(chatId: unknown): boolean {
    const id = String(chatId);
    return (this.settings.feedChatId !== null && id === this.settings.feedChatId) || (this.chatId !== null && id === this.chatId);
  }

  /**
   * The topic the feed posts into is gone ("message thread not found"). A topic asm created is
   * forgotten, so the next send creates a new one; a configured topic falls back to the General
   * topic. Returns what happens next, or null when the feed was not posting into a topic.
   */
  threadGone(): string | null {
    const { feedTopicId } = this.settings;
    if (feedTopicId !== null) {
      if (this.configuredTopicGone || feedTopicId === generalTopicId) return null;
      this.configuredTopicGone = true;
      this.resolved = null;
      this.log.warn(
        { chatId: this.chatId, topicId: feedTopicId },
        `TELEGRAM_FEED_TOPIC_ID=${feedTopicId} no longer exists in the feed chat (deleted?); alerts go to the General topic until it is set to an existing topic (or unset) and asm restarted`,
      );
      return "the next alerts go to the General topic";
    }
    const stored = this.kv.get<StoredTopic | null>(feedTopicKey);
    if (!stored) return null;
    this.kv.set(feedTopicKey, null);
    this.resolved = null;
    this.log.warn({ chatId: stored.chatId, topicId: stored.topicId }, "the feed topic asm created is gone; a new one will be created");
    return "a new topic will be created";
  }

  /**
   * Telegram says the feed group became a supergroup (`migrate_to_chat_id`), as happens when
   * Topics are turned on: post there from now on. Returns false when `from` is not the feed chat.
   */
  migrated(from: string, to: string): boolean {
    if (this.chatId === null || from !== this.chatId || from === to) return false;
    this.chatId = to;
    this.resolved = null;
    this.log.warn(
      { from, to },
      `the Telegram feed group was upgraded to a supergroup with a new id; alerts now go there. Set TELEGRAM_FEED_CHAT_ID=${to} to keep it after a restart`,
    );
    return true;
  }

  /**
   * Whether the feed chat is a forum (getChat's `is_forum`); null when the server does not know getChat
   * (404: a minimal or older Bot API server), and then trying createForumTopic is what tells.
   */
  private async isForum(chatId: string): Promise<boolean | null> {
    try {
      const chat = await this.api.getChat(apiChatId(chatId));
      return "is_forum" in chat && chat.is_forum === true;
    } catch (err) {
      if (err instanceof GrammyError && err.error_code === 404) return null;
      throw new FeedUnavailableError(`cannot look up the feed chat ${chatId}: ${describeTelegramError(err)}`, false, err);
    }
  }

  private async resolve(): Promise<FeedTarget> {
    const { feedTopicId, topicName } = this.settings;
    const feedChatId = this.chatId;
    if (!feedChatId) {
      throw new FeedUnavailableError("no Telegram feed chat configured (set TELEGRAM_FEED_CHAT_ID)", true);
    }
    // The General topic is thread 1, but sending with message_thread_id 1 fails ("message thread not found").
    if (feedTopicId === generalTopicId || this.configuredTopicGone) return { chatId: feedChatId };
    if (feedTopicId !== null) return { chatId: feedChatId, threadId: feedTopicId };
    const stored = this.kv.get<StoredTopic | null>(feedTopicKey);
    if (stored && stored.chatId === feedChatId) return { chatId: feedChatId, threadId: stored.topicId };
    const forum = await this.isForum(feedChatId);
    if (forum === false) return { chatId: feedChatId };
    let topic: Awaited<ReturnType<Api["createForumTopic"]>>;
    try {
      topic = await this.api.createForumTopic(apiChatId(feedChatId), topicName);
    } catch (err) {
      if (forum === null && isRefused(err)) {
        this.log.info(
          { chatId: feedChatId, error: describeTelegramError(err) },
          "the feed chat takes no new topic (not a forum, or no right to create one); alerts go to the chat itself",
        );
        return { chatId: feedChatId };
      }
      // A refusal (no "manage topics" right, not a forum after all) stays a refusal: asking again
      // for every alert would only fail again, so the feed carries on in the General topic.
      if (isRefused(err)) {
        this.log.warn(
          { chatId: feedChatId, error: describeTelegramError(err) },
          `cannot create the feed topic "${topicName}"; alerts go to the General topic. Make the bot an admin with the "Manage topics" right and restart asm, or set TELEGRAM_FEED_TOPIC_ID to an existing topic`,
        );
        return { chatId: feedChatId };
      }
      throw new FeedUnavailableError(`cannot create the feed topic "${topicName}" in ${feedChatId}: ${describeTelegramError(err)}`, false, err);
    }
    this.kv.set(feedTopicKey, { chatId: feedChatId, topicId: topic.message_thread_id, name: topicName } satisfies StoredTopic);
    this.log.info({ chatId: feedChatId, topicId: topic.message_thread_id, name: topicName }, "created the feed topic");
    return { chatId: feedChatId, threadId: topic.message_thread_id };
  }
}

/** A 4xx that asking again will not change (not a rate limit, not the token itself). */
const isRefused = (err: unknown): boolean =>
  err instanceof GrammyError && err.error_code >= 400 && err.error_code < 500 && err.error_code !== 429 && err.error_code !== 401;
