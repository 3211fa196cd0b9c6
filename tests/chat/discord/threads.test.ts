import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { DiscordTransport } from "../../../src/chat/discord/transport.ts";
import { discordSection } from "../../../src/config/sections/chat.ts";
import { createLogger } from "../../../src/lib/log.ts";
import type { Caller, Inbound, ThreadPlace } from "../../../src/messages/transport.ts";
import { textView, type View } from "../../../src/messages/view.ts";
import { openStore } from "../../../src/store/db.ts";
import { KvStore } from "../../../src/store/kv.ts";
import { FakeDiscord, type FakeUser } from "../../fakes/discord-api.ts";
import { tempDir } from "../../helpers/tmp.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB";
const feed = "1300000000000000777";
const admin: FakeUser = { id: "2000000000000000001", username: "ada" };
const stranger: FakeUser = { id: "2000000000000000099", username: "eve" };

/** An Inbound whose `text` knows one thread (a worker's) and records what reached it. */
class ThreadInbound implements Inbound {
  texts: { caller: Caller; text: string; where: ThreadPlace }[] = [];
  known: string | null = null;
  async command() {
    return textView("-");
  }
  async button() {
    return {};
  }
  async text(caller: Caller, text: string, where: ThreadPlace): Promise<View | null> {
    this.texts.push({ caller, text, where });
    return where.threadId === this.known ? textView(`↪ w1: ${text}`) : null;
  }
}

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function setup(threadMessages = false) {
  const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 100 });
  running.push({ stop: () => fake.close() });
  const logStream = new PassThrough();
  let logText = "";
  logStream.on("data", (d) => (logText += d));
  const log = createLogger({ stream: logStream, pretty: "never", level: "debug", secrets: [token] });
  const config = discordSection.parse({
    apiBase: fake.apiBase,
    feedChannelId: feed,
    guildId: "1200000000000000001",
    allowedUserIds: [],
    adminUserIds: [admin.id],
  });
  const transport = new DiscordTransport({
    token,
    config,
    kv: new KvStore(openStore(join(tempDir("asm-discord-threads-"), "asm.db"))),
    log,
    commands: [],
    threadMessages,
  });
  const inbound = new ThreadInbound();
  await transport.start(inbound);
  running.push(transport);
  return { fake, transport, inbound, log: () => logText };
}

const waitFor = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("Discord: a thread per worker", () => {
  it("opens a public thread under the feed channel (name cut to 100) and posts into it; Guilds intent only by default", async () => {
    const { fake, transport, inbound } = await setup();
    expect(fake.identifies[0]!.intents).toBe(1);
    const place = await transport.openThread({ title: `w1 app: ${"x".repeat(150)}`, tag: "w1" });
    expect(place).toEqual({ chatId: feed, threadId: expect.stringMatching(/^\d+$/) });
    const created = fake.requestsTo(/^\/channels\/\d+\/threads$/, "POST");
    expect(created).toHaveLength(1);
    expect(created[0]!.path).toBe(`/channels/${feed}/threads`);
    expect(created[0]!.body).toMatchObject({ type: 11 });
    expect((created[0]!.body as { name: string }).name).toHaveLength(100);
    const ref = await transport.send(textView("w1 status"), place!);
    expect(ref.chatId).toBe(place!.threadId);
    expect(fake.channelMessages(place!.threadId)).toHaveLength(1);
    expect(fake.channelMessages(feed)).toHaveLength(0);
    // Without threadMessages the gateway sends no guild messages: nothing reaches the core.
    fake.userMessage({ channelId: place!.threadId, user: admin, content: "next", mention: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(inbound.texts).toHaveLength(0);
  });

  it("a channel that takes no threads is remembered after one log line: later workers go to the feed without asking", async () => {
    const { fake, transport, log } = await setup();
    fake.fail("POST", /^\/channels\/\d+\/threads$/, 403, 50013, "Missing Permissions");
    expect(await transport.openThread({ title: "w1 app: a", tag: "w1" })).toBeNull();
    expect(await transport.openThread({ title: "w2 app: b", tag: "w2" })).toBeNull();
    expect(fake.requestsTo(/^\/channels\/\d+\/threads$/, "POST")).toHaveLength(1);
    expect(log().match(/no threads can be made under the Discord feed channel/g)).toHaveLength(1);
  });

  it("with threadMessages: text mentioning the bot in a thread reaches the core without the mention, and its answer is posted there", async () => {
    const { fake, transport, inbound } = await setup(true);
    expect(Number(fake.identifies[0]!.intents) & (1 << 9)).toBe(1 << 9);
    const place = (await transport.openThread({ title: "w1 app: a", tag: "w1" }))!;
    inbound.known = place.threadId;
    fake.userMessage({ channelId: place.threadId, user: admin, content: "now run the tests", mention: true });
    await waitFor(() => fake.channelMessages(place.threadId).length === 1);
    expect(inbound.texts).toHaveLength(1);
    expect(inbound.texts[0]!).toMatchObject({ text: "now run the tests", where: { chatId: feed, threadId: place.threadId } });
    expect(inbound.texts[0]!.caller).toMatchObject({ transport: "discord", userId: admin.id, admin: true });
    expect(JSON.stringify(fake.channelMessages(place.threadId)[0]!.embeds)).toContain("now run the tests");

    // Without a mention Discord leaves the content out (no Message Content intent): nothing to pass on.
    fake.userMessage({ channelId: place.threadId, user: admin, content: "no mention" });
    // A stranger's text reaches the core, which decides (here: a thread it does not know → silence).
    fake.userMessage({ channelId: "1300000000000009999", user: stranger, content: "elsewhere", mention: true });
    await waitFor(() => inbound.texts.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(inbound.texts.map((t) => t.text)).toEqual(["now run the tests", "elsewhere"]);
    expect(inbound.texts[1]!.caller).toMatchObject({ allowed: false, admin: false });
    expect(fake.channelMessages("1300000000000009999")).toHaveLength(0);
  });
});
