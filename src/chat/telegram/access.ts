import type { Caller } from "../../messages/transport.ts";

/** Who may talk to the bot, by numeric Telegram user id (never by username, which can change hands). */
export interface TelegramAccess {
  allowedUserIds: readonly string[];
  adminIds: readonly string[];
}

/** The parts of a message or callback query that say who sent it. */
export interface TelegramSender {
  from?: { id: number; username?: string | undefined; first_name?: string | undefined } | undefined;
  /** Set when a message is sent on behalf of a chat (anonymous group admin, linked channel). */
  sender_chat?: { id: number } | undefined;
  chatId?: number | undefined;
}

/**
 * The caller as asm sees it. Admins are always allowed. A message sent on behalf of a chat carries a
 * placeholder `from` user, so it proves nothing about the person: it is treated as a stranger.
 */
export function telegramCaller(sender: TelegramSender, access: TelegramAccess): Caller {
  const from = sender.from;
  const userId = from ? String(from.id) : "unknown";
  const anonymous = sender.sender_chat !== undefined || !from;
  const admin = !anonymous && access.adminIds.includes(userId);
  const allowed = admin || (!anonymous && access.allowedUserIds.includes(userId));
  return {
    transport: "telegram",
    userId: anonymous && sender.sender_chat ? `chat:${sender.sender_chat.id}` : userId,
    name: from?.username ? `@${from.username}` : from?.first_name,
    allowed,
    admin,
    chatId: sender.chatId === undefined ? undefined : String(sender.chatId),
    // A private chat's id is the user's own id (groups and channels are negative).
    direct: !anonymous && sender.chatId !== undefined && String(sender.chatId) === userId,
  };
}
