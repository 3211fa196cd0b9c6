import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrub } from "../../src/lib/log.ts";
import { runAsm } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const token = "7012345678:AAHf3kZqXw9-Example_Token-Value_1234567";

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => (text += d));
  return { stream, text: () => text };
}

/** Shaped like grammY's HttpError: the inner node-fetch error's message holds the bot URL. */
class FakeHttpError extends Error {
  constructor(readonly error: Error) {
    super("Network request for 'getMe' failed!");
  }
}

describe("logger redaction", () => {
  it("never writes a configured token, whatever key or string it hides in", async () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, pretty: "never", secrets: [token] });
    log.info({ token }, "as a key");
    log.info({ config: { telegram: { botToken: token } } }, "nested key");
    log.info({ headers: { authorization: `Bot ${token}` } }, "auth header");
    log.info(`in the message ${token}`);
    log.error({ err: new FakeHttpError(new Error(`request to https://api.telegram.org/bot${token}/getMe failed, reason: ECONNRESET`)) }, "fetch failed");
    log.warn({ url: `https://api.telegram.org/bot${token}/sendMessage` }, "in a value");
    log.info({ json: JSON.stringify({ t: token }) }, "escaped inside a string");
    await new Promise((r) => setImmediate(r));
    const text = out.text();
    expect(text.split("\n").filter(Boolean)).toHaveLength(7);
    expect(text).not.toContain(token);
    expect(text).not.toContain("AAHf3kZqXw9");
    expect(text).toContain("[Redacted]");
  });

  it("scrubs token-shaped bot URLs even when the token is unknown", () => {
    expect(scrub("GET /bot123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAA/getUpdates", [])).toBe("GET /[Redacted]/getUpdates");
    expect(scrub("POST /interactions/1234/aW50ZXJhY3Rpb246MTIzNDU2Nzg5/callback", [])).toContain("[Redacted]");
  });

  it("the CLI never prints the token on stdout or stderr", async () => {
    const dir = tempDir();
    const env = { HOME: dir, ASM_DB: `${dir}/asm.db`, TELEGRAM_BOT_TOKEN: token, DISCORD_TOKEN: "discord-secret-token-value-xyz" };
    for (const args of [["config", "check"], ["health"], ["config", "check", "--bogus"]]) {
      const r = await runAsm(args, env);
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(r.stdout + r.stderr).not.toContain("discord-secret-token-value-xyz");
    }
    const r = await runAsm(["config", "check"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"TELEGRAM_BOT_TOKEN": "set \(\d+ chars\)"/);
  });
});
