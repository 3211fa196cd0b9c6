import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeDiscord } from "../fakes/discord-api.ts";
import { collectStderr, exitOf, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GProc1.processPROCESSprocessPROCESSprocess12";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("asm run with DISCORD_TOKEN (a real process against the fake Discord)", () => {
  it("runs Discord instead of the console, answers a slash command, and stops cleanly on SIGTERM", async () => {
    const fake = await FakeDiscord.start({ token });
    closers.push(() => fake.close());
    const dir = tempDir();
    const user = { id: "2000000000000000042", username: "ann" };
    const feed = "1300000000000000321";
    const child = spawnAsm(["run"], {
      HOME: dir,
      ASM_DB: join(dir, "asm.db"),
      DISCORD_TOKEN: token,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_FEED_CHANNEL_ID: feed,
      DISCORD_ALLOWED_USER_IDS: user.id,
    });
    const stderr = collectStderr(child);
    const exited = exitOf(child);
    closers.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const banner = await waitForOutput(child.stdout!, "watching:", 20_000);
    expect(banner).toMatch(/transports: discord\n/);
    // No DISCORD_GUILD_ID: the commands are registered globally (the transport connects in the background).
    await fake.waitFor(() => fake.requestsTo(/^\/applications\/\d+\/commands$/, "PUT").length > 0, "command registration", 20_000);
    expect(fake.requestsTo(/^\/applications\/\d+\/commands$/, "PUT")).toHaveLength(1);
    const id = fake.slashCommand({ name: "help", user, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the /help reply", 20_000);
    expect(JSON.stringify(fake.callbacks.get(id)!.data!.embeds)).toMatch(/sessions/);
    child.kill("SIGTERM");
    expect((await exited).code).toBe(0);
    expect(stderr()).toMatch(/discord connected/);
    expect(stderr()).not.toContain(token);
  });
});
