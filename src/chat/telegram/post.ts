import { type Api, InputFile } from "grammy";
import type { Message } from "grammy/types";
import { DeliveryError, type MessageRef } from "../../messages/transport.ts";
import type { View, ViewImage } from "../../messages/view.ts";
import { isNotModified, toDeliveryError } from "./errors.ts";
import { apiChatId } from "./feed.ts";
import { type RenderedMessage, renderSingle } from "./render.ts";

/** A chat, and a forum topic in it, to post into. */
export type Where = { chatId: string; threadId?: number | undefined };

/** How a message goes out: without a notification, and as a reply to another. */
export interface PostOptions {
  silent: boolean;
  replyTo?: number | undefined;
  /** A picture to send first (sendPhoto, uploaded as multipart), with the first part as its caption when that fits. */
  image?: ViewImage | undefined;
}

/** Telegram's limit on a photo caption (after entity parsing; the HTML is at least as long). */
export const telegramCaptionLimit = 1024;

/**
 * Where a sent message lives. The chat we sent to stands in when an answer leaves `chat` out (a
 * minimal Bot API server): the message was delivered, and failing here would make the outbox send it again.
 */
export const refOf = (message: Pick<Message, "chat" | "message_id" | "message_thread_id" | "is_topic_message">, sentTo?: string | number): MessageRef => ({
  transport: "telegram",
  chatId: String(message.chat?.id ?? sentTo),
  messageId: String(message.message_id),
  threadId: message.is_topic_message && message.message_thread_id ? String(message.message_thread_id) : undefined,
});

/** Low-severity messages arrive silently; critical ones always notify. */
export const silentFor = (view: View) => (view.tone === "critical" ? false : (view.silent ?? (view.tone === "info" || view.tone === "ok")));

/** Sends the parts in order; returns where the last one (the one with the buttons) landed. Throws what the API threw. */
export async function post(api: Api, where: Where, parts: RenderedMessage[], how: PostOptions): Promise<MessageRef> {
  let last: Message.TextMessage | Message.PhotoMessage | null = null;
  let rest = parts;
  if (how.image) {
    // The view's text rides along as the caption when it fits (a report's totals do); otherwise it follows as messages.
    const caption = parts.length === 1 && parts[0]!.html.length <= telegramCaptionLimit ? parts[0] : undefined;
    last = await api.sendPhoto(apiChatId(String(where.chatId)), new InputFile(how.image.png, how.image.filename), {
      ...(caption ? { caption: caption.html, parse_mode: "HTML" as const } : {}),
      disable_notification: how.silent,
      ...(where.threadId ? { message_thread_id: where.threadId } : {}),
      ...(caption?.keyboard ? { reply_markup: caption.keyboard } : {}),
      ...(how.replyTo ? { reply_parameters: { message_id: how.replyTo, allow_sending_without_reply: true } } : {}),
    });
    if (caption) rest = [];
  }
  for (const [i, part] of rest.entries()) {
    last = await api.sendMessage(apiChatId(String(where.chatId)), part.html, {
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      disable_notification: how.silent,
      ...(where.threadId ? { message_thread_id: where.threadId } : {}),
      ...(part.keyboard ? { reply_markup: part.keyboard } : {}),
      ...(i === 0 && how.replyTo && !how.image ? { reply_parameters: { message_id: how.replyTo, allow_sending_without_reply: true } } : {}),
    });
  }
  if (!last) throw new DeliveryError("telegram: nothing to send", "telegram", { permanent: true });
  return { ...refOf(last, where.chatId), threadId: where.threadId ? String(where.threadId) : undefined };
}

/**
 * editMessageText; no keyboard in the view removes the buttons; "message is not modified" is
 * success. A failure becomes a `DeliveryError` through `failed` (which also notices a revoked token).
 */
export async function editMessage(api: Api, ref: MessageRef, view: View, failed: (err: unknown, method: string) => DeliveryError): Promise<void> {
  let rendered: RenderedMessage;
  try {
    rendered = renderSingle(view);
  } catch (err) {
    throw toDeliveryError(err, "editMessageText");
  }
  try {
    await api.editMessageText(apiChatId(ref.chatId), Number(ref.messageId), rendered.html, {
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      ...(rendered.keyboard ? { reply_markup: rendered.keyboard } : {}),
    });
  } catch (err) {
    if (isNotModified(err)) return;
    throw failed(err, "editMessageText");
  }
}
