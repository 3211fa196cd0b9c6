import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";
import { DeliveryError } from "../../messages/transport.ts";

/** How long the outbox should wait after a rejected token before trying again (a restart fixes it). */
export const tokenRetryMs = 5 * 60_000;

/**
 * Turns whatever discord.js threw into a `DeliveryError` the outbox understands:
 * - `RateLimitError` (only for waits longer than we let discord.js sit out) → `retryAfterMs`;
 * - `DiscordAPIError` 4xx → permanent, except 401 (token, fixable by restart: `transportDown`, alerts wait), 408 and 429;
 * - `HTTPError` (5xx after discord.js's own retries) and network faults → transient.
 * The message never contains the request URL: interaction and webhook URLs carry tokens.
 */
export function toDeliveryError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof RateLimitError) {
    return new DeliveryError(`${what}: rate limited for ${Math.ceil(err.retryAfter / 1000)} s`, "discord", {
      retryAfterMs: Math.max(err.retryAfter, err.timeToReset),
      cause: err,
    });
  }
  if (err instanceof DiscordAPIError) {
    const text = `${what}: Discord answered ${err.status} (code ${err.code}: ${err.message})`;
    if (err.status === 401) return new DeliveryError(text, "discord", { retryAfterMs: tokenRetryMs, transportDown: true, cause: err });
    if (err.status === 429 || err.status === 408) return new DeliveryError(text, "discord", { cause: err });
    // Unknown Message/Channel, Missing Access/Permissions, Invalid Form Body: the same request fails again.
    return new DeliveryError(text, "discord", { permanent: err.status >= 400 && err.status < 500, cause: err });
  }
  if (err instanceof HTTPError) {
    return new DeliveryError(`${what}: Discord answered ${err.status} ${err.name}`, "discord", { cause: err });
  }
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  // discord.js aborts a request at its timeout (and retries it with the same body, nonce included): the
  // message may have been created. Only the nonce keeps a retry from posting it twice.
  if (e?.name === "AbortError") return new DeliveryError(`${what}: no answer in time (it may be posted)`, "discord", { uncertain: true, cause: err });
  const detail = typeof e?.code === "string" ? e.code : String(e?.message ?? err);
  return new DeliveryError(`${what}: ${detail}`, "discord", { cause: err });
}

/** The discord.js / Discord error code of an error, if it has one (10062 = interaction expired). */
export const discordCode = (err: unknown): number | string | undefined =>
  err instanceof DiscordAPIError ? err.code : (err as { code?: number | string } | null)?.code;

/** A View that cannot be shown on Discord (a button id over 100 characters, say): a bug upstream. */
export class DiscordRenderError extends Error {
  constructor(
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DiscordRenderError";
  }
}

/** A REST answer 401: the bot token is not (or no longer) valid. */
export const isUnauthorized = (err: unknown) => err instanceof DiscordAPIError && err.status === 401;

/** What to log about an error: never the request URL (interaction and webhook URLs hold tokens). */
export const errorSummary = (err: unknown) => {
  const e = err as { name?: string; message?: string; status?: number; code?: unknown };
  return { name: e?.name, message: e?.message, status: e?.status, code: e?.code };
};
