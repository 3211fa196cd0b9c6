import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { DiscordTransport } from "../../../src/chat/discord/transport.ts";
import { discordSection } from "../../../src/config/sections/chat.ts";
import { createLogger } from "../../../src/lib/log.ts";
import type { Inbound } from "../../../src/messages/transport.ts";
import { textView, type View } from "../../../src/messages/view.ts";
import { openStore } from "../../../src/store/db.ts";
import { KvStore } from "../../../src/store/kv.ts";
import { FakeDiscord, type FakeUser } from "../../fakes/discord-api.ts";
import { tempDir } from "../../helpers/tmp.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB";
const feed = "1300000000000000777";
const member: FakeUser = { id: "2000000000000000002", username: "bob" };

/** A 1×1 PNG. */
const onePixel = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5dd5a8a0000000049454e44ae426082",
  "hex",
);
const picture = (text: string): View =>
  textView(text, { title: "Report, last 7d", image: { png: onePixel, filename: "asm-report-7d.png", width: 1, height: 1, alt: "charts" } });

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function setup(answer: () => Promise<View>, deferAfterMs = 2000) {
  const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 100 });
  running.push({ stop: () => fake.close() });
  const kv = new KvStore(openStore(join(tempDir("asm-discord-"), "asm.db")));
  const log = createLogger({ stream: new PassThrough(), pretty: "never", level: "silent" });
  const config = discordSection.parse({ apiBase: fake.apiBase, feedChannelId: feed, guildId: "1200000000000000001", allowedUserIds: [member.id] });
  const transport = new DiscordTransport({
    token,
    config,
    kv,
    log,
    commands: [{ name: "report", description: "Charts", usage: "/report [24h|7d|30d]", options: [] }],
    deferAfterMs,
  });
  const inbound: Inbound = { command: answer, button: async () => ({}) };
  await transport.start(inbound);
  running.push(transport);
  // start() returns once the login is under way: an interaction sent before the gateway's READY reaches nobody.
  await fake.waitFor(() => fake.identifies.length === 1, "the gateway identify");
  await new Promise((r) => setTimeout(r, 300));
  return { fake, transport };
}

describe("pictures on Discord: an attachment shown in the embed", () => {
  it("a feed post uploads the PNG (multipart) and the embed shows it by its file name", async () => {
    const { fake, transport } = await setup(async () => textView("unused"));
    const ref = await transport.send(picture("tokens 1.2M · cost $3.40"));
    const message = fake.messages.get(ref.messageId)!;
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]!.filename).toBe("asm-report-7d.png");
    expect(message.attachments[0]!.bytes.equals(onePixel)).toBe(true);
    expect(message.embeds[0]).toMatchObject({
      title: "Report, last 7d",
      description: "tokens 1.2M · cost $3.40",
      image: { url: "attachment://asm-report-7d.png" },
    });
  });

  it("a slash command answered with a picture: in the reply at once, or in the edited reply when the answer was slow", async () => {
    let delay = 0;
    const { fake } = await setup(async () => {
      await new Promise((r) => setTimeout(r, delay));
      return picture("caption");
    }, 150);
    const quick = fake.slashCommand({ name: "report", user: member, channelId: feed });
    // Quick enough to be the reply itself (or, on a loaded machine, the edit of a deferred one): the picture is in it.
    await fake.waitFor(() => (fake.responseOf(quick)?.attachments.length ?? 0) === 1, "the reply", 20_000);
    expect(fake.responseOf(quick)!.attachments.map((a) => a.filename)).toEqual(["asm-report-7d.png"]);
    expect(fake.responseOf(quick)!.embeds[0]).toMatchObject({ image: { url: "attachment://asm-report-7d.png" } });

    delay = 600;
    const slow = fake.slashCommand({ name: "report", user: member, channelId: feed });
    await fake.waitFor(() => (fake.responseOf(slow)?.attachments.length ?? 0) === 1, "the edited reply", 20_000);
    expect(fake.callbacks.get(slow)!.type).toBe(5);
    expect(fake.responseOf(slow)!.attachments[0]!.bytes.equals(onePixel)).toBe(true);
  }, 60_000);
});
