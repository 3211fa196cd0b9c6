import { type Api, GrammyError } from "grammy";
import type { Logger } from "../../lib/log.ts";
import type { ThreadPlace } from "../../messages/transport.ts";
import { describeTelegramError } from "./errors.ts";
import { apiChatId } from "./feed.ts";

/** Telegram's limit for a forum topic's name. */
const maxTopicName = 128;

/**
 * Forum topics of their own (one per managed worker) in the feed chat. A chat that refuses topics for good
 * (not a forum, the bot lacks "Manage topics") is remembered after one log line, so later workers go
 * straight to the feed; a rate limit or a fault refuses only this one topic.
 *
 * ```ts
 * const topics = new WorkerTopics(api, log);
 * const place = await topics.open("-100123", "w3 app: fix the failing test"); // null: post into the feed
 * ```
 */
export class WorkerTopics {
  private readonly refused = new Set<string>();

  constructor(
    private readonly api: Api,
    private readonly log: Logger,
  ) {}

  /** createForumTopic in `chatId`; null (and one log line) when it cannot be had. Never throws. */
  async open(chatId: string, title: string): Promise<ThreadPlace | null> {
    if (this.refused.has(chatId)) return null;
    const name = topicName(title);
    try {
      const topic = await this.api.createForumTopic(apiChatId(chatId), name);
      return { chatId, threadId: String(topic.message_thread_id) };
    } catch (err) {
      const error = describeTelegramError(err);
      if (isLasting(err)) {
        this.refused.add(chatId);
        this.log.warn(
          { chatId, error },
          'the feed chat takes no worker topics (not a forum, or the bot is not an admin with "Manage topics"): worker messages go to the feed',
        );
      } else {
        this.log.warn({ chatId, error }, "could not create a worker topic now; this worker's messages go to the feed");
      }
      return null;
    }
  }
}

/** At most 128 UTF-16 units, whole characters only, no lone surrogate (the Bot API refuses malformed UTF-8). */
export function topicName(title: string): string {
  let name = "";
  for (const ch of title.trim()) {
    if (ch.length === 1 && /[\uD800-\uDFFF]/.test(ch)) continue;
    if (name.length + ch.length > maxTopicName) break;
    name += ch;
  }
  return name.trim() || "worker";
}

/** A 4xx that asking again would not change (not a rate limit, not the token). */
const isLasting = (err: unknown): boolean =>
  err instanceof GrammyError && err.error_code >= 400 && err.error_code < 500 && err.error_code !== 429 && err.error_code !== 401;
