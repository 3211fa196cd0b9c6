import { GrammyError, HttpError } from "grammy";
import { describe, expect, it } from "vitest";
import { describeTelegramError, isNotModified, toDeliveryError } from "../../../src/chat/telegram/errors.ts";
import { RenderError } from "../../../src/chat/telegram/render.ts";

const apiError = (error_code: number, description: string, retry_after?: number) =>
  new GrammyError(
    `Call to 'sendMessage' failed! (${error_code}: ${description})`,
    {
      ok: false,
      error_code,
      description,
      ...(retry_after !== undefined ? { parameters: { retry_after } } : {}),
    },
    "sendMessage",
    {},
  );

describe("toDeliveryError", () => {
  it("maps Telegram answers to what the outbox should do", () => {
    expect(toDeliveryError(apiError(429, "Too Many Requests: retry after 7", 7), "sendMessage")).toMatchObject({ retryAfterMs: 7000, permanent: false });
    expect(toDeliveryError(apiError(400, "Bad Request: chat not found"), "sendMessage")).toMatchObject({ permanent: true });
    expect(toDeliveryError(apiError(403, "Forbidden: bot was kicked from the supergroup chat"), "sendMessage")).toMatchObject({ permanent: true });
    expect(toDeliveryError(apiError(502, "Bad Gateway"), "sendMessage")).toMatchObject({ permanent: false, retryAfterMs: undefined });
    expect(toDeliveryError(apiError(401, "Unauthorized"), "sendMessage")).toMatchObject({ permanent: false, retryAfterMs: 300_000 });
    expect(toDeliveryError(new RenderError("bad button"), "sendMessage")).toMatchObject({ permanent: true });
    expect(isNotModified(apiError(400, "Bad Request: message is not modified: specified new message content"))).toBe(true);
  });

  it("never carries the token URL hidden in a network error", () => {
    const inner = new Error("request to http://127.0.0.1:1/bot123456:SECRETsecretSECRETsecret123/sendMessage failed, reason: ECONNREFUSED");
    const err = new HttpError("Network request for 'sendMessage' failed!", inner);
    const delivery = toDeliveryError(err, "sendMessage");
    expect(delivery.message).toBe("telegram sendMessage: Network request for 'sendMessage' failed!");
    expect(describeTelegramError(err)).not.toContain("SECRET");
    expect(delivery).toMatchObject({ permanent: false });
  });
});
