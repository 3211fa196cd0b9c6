import { GrammyError, HttpError } from "grammy";
import { DeliveryError } from "../../messages/transport.ts";
import { RenderError } from "./render.ts";

/** What went wrong with a Telegram call, in words that are safe to log and show (never a URL or token). */
export function describeTelegramError(err: unknown): string {
  if (err instanceof GrammyError) {
    const to = migratedTo(err);
    return `${err.error_code}: ${err.description}${to === undefined ? "" : ` (the chat's new id is ${to})`}`;
  }
  // HttpError's message names the method only; its `error` holds the raw fetch error, whose message has the token URL.
  // A timeout's own message ("Request to 'sendMessage' timed out after 20 seconds") holds no URL.
  if (isTimedOut(err)) return ((err as HttpError).error as Error).message;
  if (err instanceof HttpError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The new id of a group that became a supergroup ("group chat was upgraded to a supergroup chat"). */
export const migratedTo = (err: unknown): number | undefined => (err instanceof GrammyError ? err.parameters.migrate_to_chat_id : undefined);

/** Seconds a 429 asks to wait, if it was one. */
export const retryAfterOf = (err: unknown): number | undefined => (err instanceof GrammyError ? err.parameters.retry_after : undefined);

/** Editing to identical content: Telegram says 400 "message is not modified", which for us is success. */
export const isNotModified = (err: unknown): boolean =>
  err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description);

/** The token is wrong or was revoked (401), or the bot was deleted. */
export const isUnauthorized = (err: unknown): boolean => err instanceof GrammyError && err.error_code === 401;

/**
 * getMe answered 404 Not Found: the Bot API did not even look the token up, because it is not
 * shaped like one (a pasted "bot" prefix, a cut-off copy), or TELEGRAM_API_ROOT is not a Bot API.
 */
export const isTokenNotFound = (err: unknown): boolean => err instanceof GrammyError && err.error_code === 404;

/**
 * The chat refuses the bot: removed or banned from it, blocked by the user (403), unknown to the bot
 * ("chat not found"), or no right to post there. Nothing changes until someone acts on the chat.
 */
export const isChatRefused = (err: unknown): boolean =>
  err instanceof GrammyError &&
  (err.error_code === 403 ||
    (err.error_code === 400 && /chat not found|not enough rights to send|CHAT_WRITE_FORBIDDEN|CHAT_RESTRICTED/i.test(err.description)));

/** Another process polls with the same token (409). */
export const isConflict = (err: unknown): boolean => err instanceof GrammyError && err.error_code === 409;

/** 409 because a webhook is set (someone registered one after asm started polling), not a second poller. */
export const isWebhookConflict = (err: unknown): boolean => isConflict(err) && /webhook/i.test((err as GrammyError).description);

/** The topic we posted into no longer exists (deleted by someone). */
export const isThreadGone = (err: unknown): boolean =>
  err instanceof GrammyError && err.error_code === 400 && /message thread not found|TOPIC_DELETED|TOPIC_CLOSED/i.test(err.description);

/** The message to edit is gone or cannot be edited any more: a new message is the fallback. */
export const isEditImpossible = (err: unknown): boolean =>
  err instanceof GrammyError && err.error_code === 400 && /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(err.description);

/**
 * The request went out and no answer came in time (grammY's client timeout): Telegram may have posted
 * the message and be slow to say so. Refused or reset connections are not this: nothing was delivered.
 */
export const isTimedOut = (err: unknown): boolean => err instanceof HttpError && err.error instanceof Error && /timed out after/i.test(err.error.message);

/** How long to wait before retrying a send while the token is rejected: an operator has to act. */
const unauthorizedRetryMs = 5 * 60_000;

/** The token is refused or malformed: the transport's problem, so the message waits without spending attempts. */
export const tokenRefused = (what: string, cause?: unknown): DeliveryError =>
  new DeliveryError(what, "telegram", { retryAfterMs: unauthorizedRetryMs, transportDown: true, cause });

/**
 * Turns a failed Telegram call into a `DeliveryError` for the outbox: 429 carries `retry_after`;
 * other 4xx (chat not found, message to edit not found, bot blocked, bad markup) are permanent,
 * because sending the same request again gives the same answer; 5xx, timeouts and network faults are
 * retryable. A rejected token is not permanent: alerts wait (`transportDown`) until the token is fixed.
 * A timeout is `uncertain`: the message may be posted, and Telegram has no key to make a retry safe.
 */
export function toDeliveryError(err: unknown, method: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const what = `telegram ${method}: ${describeTelegramError(err)}`;
  if (err instanceof GrammyError) {
    const retryAfter = err.parameters.retry_after;
    if (err.error_code === 429) {
      return new DeliveryError(what, "telegram", { retryAfterMs: (retryAfter ?? 1) * 1000, cause: err });
    }
    if (err.error_code === 401) return tokenRefused(what, err);
    if (err.error_code >= 400 && err.error_code < 500) return new DeliveryError(what, "telegram", { permanent: true, cause: err });
    return new DeliveryError(what, "telegram", { cause: err });
  }
  if (err instanceof RenderError) return new DeliveryError(what, "telegram", { permanent: true, cause: err });
  return new DeliveryError(what, "telegram", { uncertain: isTimedOut(err), cause: err });
}
