import type { Api } from "grammy";
import type { Logger } from "../../log.ts";
import type { KvStore } from "../../store/kv.ts";
import { describeTelegramError } from "./errors.ts";

/** Where feed messages go: a chat, and in a forum the topic (`message_thread_id`). */
export interface FeedTarget {
  chatId: string;
  threadId?: number | undefined;
}

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
  ) {
    super(message);
    this.name = "FeedUnavailableError";
  }
}

/**
 * Resolves the feed target once and remembers it. A configured topic id wins. Otherwise a forum
 * chat gets a topic of its own on first use (created once, its id kept in the store); a private
 * chat or a plain group is used as it is. Until the chat can be looked up nothing is posted, so an
 * alert never lands in the wrong topic.
 */
export class FeedTopic {
  private resolved: FeedTarget | null = null;
  private pending: Promise<FeedTarget> | null = null;

  constructor(
    private readonly api: Api,
    private readonly settings: FeedSettings,
    private readonly kv: KvStore,
    private readonly log: Logger,
  ) {}

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

  /** True when `chatId` is the feed chat (its messages share the group's budget). */
  isFeedChat(chatId: unknown): boolean {
    return this.settings.feedChatId !== null && String(chatId) === this.settings.feedChatId;
  }

  /** The topic we created was deleted: forget it, so the next send creates a new one. */
  forgetCreatedTopic(): boolean {
    if (this.settings.feedTopicId !== null) return false;
    const stored = this.kv.get<StoredTopic | null>(feedTopicKey);
    if (!stored) return false;
    this.kv.set(feedTopicKey, null);
    this.resolved = null;
    this.log.warn({ chatId: stored.chatId, topicId: stored.topicId }, "the feed topic asm created is gone; a new one will be created");
    return true;
  }

  private async resolve(): Promise<FeedTarget> {
    const { feedChatId, feedTopicId, topicName } = this.settings;
    if (!feedChatId) {
      throw new FeedUnavailableError("no Telegram feed chat configured (set TELEGRAM_FEED_CHAT_ID)", true);
    }
    // The General topic is thread 1, but sending with message_thread_id 1 fails ("message thread not found").
    if (feedTopicId === generalTopicId) return { chatId: feedChatId };
    if (feedTopicId !== null) return { chatId: feedChatId, threadId: feedTopicId };
    const stored = this.kv.get<StoredTopic | null>(feedTopicKey);
    if (stored && stored.chatId === feedChatId) return { chatId: feedChatId, threadId: stored.topicId };
    let chat: Awaited<ReturnType<Api["getChat"]>>;
    try {
      chat = await this.api.getChat(feedChatId);
    } catch (err) {
      throw new FeedUnavailableError(`cannot look up the feed chat ${feedChatId}: ${describeTelegramError(err)}`, false);
    }
    if (!("is_forum" in chat) || !chat.is_forum) return { chatId: feedChatId };
    let topic: Awaited<ReturnType<Api["createForumTopic"]>>;
    try {
      topic = await this.api.createForumTopic(feedChatId, topicName);
    } catch (err) {
      throw new FeedUnavailableError(
        `cannot create the feed topic "${topicName}" in ${feedChatId} (the bot needs the "manage topics" admin right): ${describeTelegramError(err)}`,
        false,
      );
    }
    this.kv.set(feedTopicKey, { chatId: feedChatId, topicId: topic.message_thread_id, name: topicName } satisfies StoredTopic);
    this.log.info({ chatId: feedChatId, topicId: topic.message_thread_id, name: topicName }, "created the feed topic");
    return { chatId: feedChatId, threadId: topic.message_thread_id };
  }
}
