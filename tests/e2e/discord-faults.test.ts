import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandSpec } from "../../src/chat/commands.ts";
import { DiscordTransport } from "../../src/chat/discord/transport.ts";
import { discordSection } from "../../src/config/sections/chat.ts";
import { createLogger } from "../../src/lib/log.ts";
import { DeliveryError, type Inbound } from "../../src/messages/transport.ts";
import { textView } from "../../src/messages/view.ts";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import { Capture } from "../core/setup.ts";
import { FakeDiscord } from "../fakes/discord-api.ts";
import { until } from "../helpers/e2e.ts";
import { tempDir } from "../helpers/tmp.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.faultFAULTfaultFAULTfaultFAULTfault1234";
const feed = "1300000000000000999";
const user = { id: "2000000000000000002", username: "bob" };
const specs: CommandSpec[] = [{ name: "help", description: "List the commands", usage: "/help", options: [] }];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A loopback port with nothing listening on it (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function transportAt(apiBase: string) {
  const log = new Capture();
  const transport = new DiscordTransport({
    token,
    config: discordSection.parse({ apiBase, feedChannelId: feed, guildId: "1200000000000000001", allowedUserIds: [user.id] }),
    kv: new KvStore(openStore(join(tempDir("asm-discord-faults-"), "asm.db"))),
    log: createLogger({ stream: log, pretty: "never", secrets: [token] }),
    commands: specs,
    loginRetryMs: 100,
  });
  closers.push(() => transport.stop());
  const inbound: Inbound = {
    command: async (_caller, name) => textView(`answer to /${name}`),
    button: async () => ({ toast: "ok" }),
  };
  return { transport, inbound, log };
}

describe("Discord transport under network faults", () => {
  it("starts while Discord is unreachable, fails sends softly, and connects once Discord is back", async () => {
    const port = await freePort();
    const { transport, inbound, log } = transportAt(`http://127.0.0.1:${port}/api`);
    await transport.start(inbound);
    expect(log.text).toContain("could not connect to Discord; will retry");
    expect(transport.problem).toMatchObject({ kind: "unreachable" });
    const since = transport.problem!.since;
    const early = await transport.send(textView("early")).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(DeliveryError);
    expect((early as DeliveryError).permanent).toBe(false);

    const fake = await FakeDiscord.start({ token, port });
    closers.push(() => fake.close());
    await fake.waitForIdentify();
    await until(() => log.text.includes("discord connected"), "the connection");
    expect(since).toBeGreaterThan(0);
    expect(transport.problem).toBeNull();
    await transport.send(textView("late"));
    expect(fake.channelMessages(feed)).toHaveLength(1);
    expect(log.text).not.toContain(token);
  });

  it("resumes after the gateway connection drops and keeps answering commands", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200 });
    closers.push(() => fake.close());
    const { transport, inbound } = transportAt(fake.apiBase);
    await transport.start(inbound);
    fake.dropConnections();
    await fake.waitFor(() => fake.resumes.length === 1, "RESUME");
    const id = fake.slashCommand({ name: "help", user, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the reply after resuming");
    expect(JSON.stringify(fake.callbacks.get(id)!.data!.embeds)).toContain("answer to /help");
    expect(transport.problem).toBeNull();
  });
});
