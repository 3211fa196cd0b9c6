import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeTelegramApi } from "../fakes/telegram-api.ts";
import { collectStderr, exitOf, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("asm run with TELEGRAM_BOT_TOKEN (a real process against the fake Bot API)", () => {
  it("runs Telegram instead of the console, answers a command, and stops cleanly on SIGTERM", async () => {
    const fake = await FakeTelegramApi.start({ maxPollMs: 1000 });
    closers.push(() => fake.close());
    fake.addChat({ id: -100777, type: "supergroup", title: "Ops", is_forum: true });
    const dir = tempDir();
    const user = { id: 4242, first_name: "Ann" };
    const child = spawnAsm(["run"], {
      HOME: dir,
      ASM_DB: join(dir, "asm.db"),
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_FEED_CHAT_ID: "-100777",
      TELEGRAM_ALLOWED_USER_IDS: String(user.id),
    });
    const stderr = collectStderr(child);
    const exited = exitOf(child);
    closers.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const banner = await waitForOutput(child.stdout!, "watching:", 20_000);
    expect(banner).toMatch(/transports: telegram\n/);
    // The forum had no topic configured: one was created on first start.
    await fake.waitForCall("createForumTopic");
    fake.userMessage(user, "/help");
    const reply = await fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(user.id), 20_000);
    expect(reply.payload.text).toMatch(/sessions/);
    child.kill("SIGTERM");
    expect((await exited).code).toBe(0);
    expect(stderr()).toMatch(/telegram connected/);
    expect(stderr()).not.toContain(fake.token);
  });
});
