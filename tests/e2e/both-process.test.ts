import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeDiscord } from "../fakes/discord-api.ts";
import { FakeTelegramApi } from "../fakes/telegram-api.ts";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { collectStderr, exitOf, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const discordToken = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GBoth1.bothBOTHbothBOTHbothBOTHbothBOTHboth12";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("asm run with both TELEGRAM_BOT_TOKEN and DISCORD_TOKEN (one real process, both fakes)", () => {
  it("posts each alert to both feeds once, answers commands on both, and stops cleanly", async () => {
    const telegram = await FakeTelegramApi.start({ maxPollMs: 1000 });
    closers.push(() => telegram.close());
    telegram.addChat({ id: -100555, type: "supergroup", title: "Ops", is_forum: false });
    const discord = await FakeDiscord.start({ token: discordToken });
    closers.push(() => discord.close());

    const home = tempDir();
    // Two sessions over a tiny transcript limit: one grouped or two transcript alerts, whatever the lifecycle
    // decides, must reach both feeds the same number of times.
    writeClaudeSessions(home, 2);
    const config = join(home, "asm.json");
    writeFileSync(
      config,
      JSON.stringify({ checks: { transcript: { maxBytes: 1000, sizePlatforms: ["claude"] }, gateway: { enabled: false }, logs: { enabled: false } } }),
    );
    const tgUser = { id: 4242, first_name: "Ann" };
    const dcUser = { id: "2000000000000000042", username: "ann" };
    const feed = "1300000000000000555";
    const child = spawnAsm(["run", "--config", config], {
      HOME: home,
      ASM_DB: join(home, "asm.db"),
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_FEED_CHAT_ID: "-100555",
      TELEGRAM_ALLOWED_USER_IDS: String(tgUser.id),
      DISCORD_TOKEN: discordToken,
      DISCORD_API_BASE: discord.apiBase,
      DISCORD_FEED_CHANNEL_ID: feed,
      DISCORD_ALLOWED_USER_IDS: dcUser.id,
    });
    const stderr = collectStderr(child);
    const exited = exitOf(child);
    closers.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const banner = await waitForOutput(child.stdout!, "watching:", 20_000);
    expect(banner).toMatch(/transports: telegram, discord\n/);

    const inTelegram = () => telegram.ok("sendMessage").filter((c) => String(c.payload.chat_id) === "-100555");
    await telegram.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === "-100555", 20_000);
    await discord.waitFor(() => discord.channelMessages(feed).length >= inTelegram().length, "the same alerts on Discord", 20_000);
    expect(inTelegram().length).toBeGreaterThan(0);
    expect(discord.channelMessages(feed)).toHaveLength(inTelegram().length);
    expect(String(inTelegram()[0]!.payload.text)).toMatch(/transcript/i);
    expect(JSON.stringify(discord.channelMessages(feed)[0])).toMatch(/transcript/i);

    telegram.userMessage(tgUser, "/help");
    const reply = await telegram.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(tgUser.id), 20_000);
    expect(reply.payload.text).toMatch(/sessions/);
    const id = discord.slashCommand({ name: "help", user: dcUser, channelId: feed });
    await discord.waitFor(() => discord.callbacks.has(id), "the /help reply", 20_000);

    child.kill("SIGTERM");
    expect((await exited).code).toBe(0);
    // Nothing was sent twice while stopping.
    expect(discord.channelMessages(feed)).toHaveLength(inTelegram().length);
    expect(stderr()).toMatch(/telegram connected/);
    expect(stderr()).toMatch(/discord connected/);
    expect(stderr()).not.toContain(telegram.token);
    expect(stderr()).not.toContain(discordToken);
  });
});
