import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";
import { describe, expect, it } from "vitest";
import { toDeliveryError, tokenRetryMs } from "../../../src/chat/discord/errors.ts";
import { DeliveryError } from "../../../src/messages/transport.ts";

const url = "http://127.0.0.1/api/v10/webhooks/1/aW50ZXJhY3Rpb246c2VjcmV0dG9rZW4/messages/@original";
const api = (status: number, code: number, message: string) =>
  new DiscordAPIError({ code, message }, code, status, "PATCH", url, { body: undefined, files: undefined });

describe("Discord errors → DeliveryError", () => {
  it("maps 4xx to permanent, 401 to a later retry, 5xx and network faults to transient", () => {
    const gone = toDeliveryError(api(404, 10008, "Unknown Message"), "edit");
    expect(gone).toBeInstanceOf(DeliveryError);
    expect(gone).toMatchObject({ permanent: true, transport: "discord" });
    expect(gone.message).toContain("10008");
    expect(gone.message).not.toContain("aW50ZXJhY3Rpb24");
    expect(toDeliveryError(api(403, 50013, "Missing Permissions"), "post").permanent).toBe(true);
    expect(toDeliveryError(api(401, 0, "401: Unauthorized"), "post")).toMatchObject({ permanent: false, retryAfterMs: tokenRetryMs });
    const server = new HTTPError(502, "Bad Gateway", "POST", url, { body: undefined, files: undefined });
    expect(toDeliveryError(server, "post")).toMatchObject({ permanent: false });
    expect(toDeliveryError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "post").message).toContain("ECONNREFUSED");
  });

  it("passes a long rate limit back with its wait", () => {
    const limited = new RateLimitError({
      timeToReset: 90_000,
      limit: 5,
      method: "POST",
      hash: "h",
      url,
      route: "/channels/:id/messages",
      majorParameter: "1",
      global: false,
      retryAfter: 90_000,
      sublimitTimeout: 0,
      scope: "user",
    });
    expect(toDeliveryError(limited, "post")).toMatchObject({ permanent: false, retryAfterMs: 90_000 });
  });
});
