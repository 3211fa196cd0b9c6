import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandSpec } from "../../src/chat/commands.ts";
import { type DiscordOptions, DiscordTransport, discordProblemKey } from "../../src/chat/discord/transport.ts";
import { discordSection } from "../../src/config/sections/chat.ts";
import { createLogger } from "../../src/lib/log.ts";
import { type Caller, DeliveryError, type Inbound } from "../../src/messages/transport.ts";
import { textView, type View } from "../../src/messages/view.ts";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import { Capture } from "../core/setup.ts";
import { FakeDiscord, type FakeUser, fakeGuildId } from "../fakes/discord-api.ts";
import { until } from "../helpers/e2e.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * How Discord itself behaves where our fake used to be kinder: a token reset seen on REST first,
 * gateway RECONNECT / INVALID_SESSION, a cached guild (members as GuildMember), DMs, commands
 * that vanished on Discord's side, the daily command-create limit.
 */

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GPlat1.platformPLATFORMplatformPLATFORMplat1";
const feed = "1300000000000000444";
const adminRole = "3000000000000000009";
const admin: FakeUser = { id: "2000000000000000001", username: "ada" };
const member: FakeUser = { id: "2000000000000000002", username: "bob" };
const roleAdmin: FakeUser = { id: "2000000000000000003", username: "cy", roles: [adminRole] };

const specs: CommandSpec[] = [
  { name: "help", description: "List the commands", usage: "/help", options: [] },
  {
    name: "session",
    description: "One session",
    usage: "/session <id> [scope]",
    options: [
      { name: "id", description: "Session id", type: "string", required: true, autocomplete: "session" },
      { name: "scope", description: "active or all", type: "string", choices: ["active", "all"] },
    ],
  },
];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Setup {
  fake?: FakeDiscord;
  kv?: KvStore;
  guildId?: string | null;
  overrides?: Partial<DiscordOptions>;
  answer?: (caller: Caller, name: string) => Promise<View>;
  delivered?: Inbound["delivered"];
  button?: Inbound["button"];
  /** DISCORD_API_BASE as given (default: the fake's base). */
  apiBase?: string;
}

async function setup(input: Setup = {}) {
  const fake = input.fake ?? (await FakeDiscord.start({ token, heartbeatIntervalMs: 200 }));
  if (!input.fake) closers.push(() => fake.close());
  const kv = input.kv ?? new KvStore(openStore(join(tempDir("asm-discord-platform-"), "asm.db")));
  const log = new Capture();
  const callers: Caller[] = [];
  const transport = new DiscordTransport({
    token,
    config: discordSection.parse({
      apiBase: input.apiBase ?? fake.apiBase,
      feedChannelId: feed,
      guildId: input.guildId === undefined ? fakeGuildId : input.guildId,
      allowedUserIds: [member.id],
      adminUserIds: [admin.id],
      adminRoleIds: [adminRole],
    }),
    kv,
    log: createLogger({ stream: log, pretty: "never", level: "debug", secrets: [token] }),
    commands: specs,
    maxRateLimitWaitMs: 5000,
    ...input.overrides,
  });
  const inbound: Inbound = {
    command: async (caller, name) => {
      callers.push(caller);
      return input.answer ? input.answer(caller, name) : textView(`answer to /${name}`);
    },
    button: input.button ?? (async () => ({ toast: "ok" })),
    ...(input.delivered ? { delivered: input.delivered } : {}),
  };
  await transport.start(inbound);
  closers.push(() => transport.stop());
  return { fake, transport, kv, log, callers };
}

const answered = (fake: FakeDiscord, id: string) => JSON.stringify(fake.callbacks.get(id)?.data ?? {});

describe("Discord transport: the token reset on Discord's side", () => {
  it("a 401 on a feed post while the gateway is still up is reported as an unauthorized token, once, and later sends fail softly", async () => {
    const { fake, transport, kv, log } = await setup();
    fake.revokeToken({ gateway: false });
    const first = await transport.send(textView("alert")).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DeliveryError);
    expect((first as DeliveryError).permanent).toBe(false);
    expect(transport.problem).toMatchObject({ kind: "unauthorized", message: expect.stringContaining("401") });
    expect(kv.get<{ kind: string }>(discordProblemKey)).toMatchObject({ kind: "unauthorized" });
    // No further requests with a token Discord refused (each counts towards Discord's invalid-request ban).
    const before = fake.requests.length;
    const second = await transport.edit({ transport: "discord", chatId: feed, messageId: "1399999999999999999" }, textView("x")).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DeliveryError);
    expect((second as DeliveryError).permanent).toBe(false);
    expect(fake.requests.length).toBe(before);
    expect(log.text.match(/DISCORD_TOKEN/g)).toHaveLength(1);
    expect(log.text).not.toContain(token);
  });
});

describe("Discord transport: a feed channel that refuses alerts", () => {
  it("makes a deleted feed channel (10003) or lost access (50001) a feed problem, keeps the alert for a retry, until a post lands again", async () => {
    const { fake, transport, kv, log } = await setup();
    fake.fail("POST", new RegExp(`^/channels/${feed}/messages$`), 404, 10003, "Unknown Channel");
    const err = await transport.send(textView("alert")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).permanent).toBe(false);
    expect((err as DeliveryError).retryAfterMs).toBe(60_000);
    expect(transport.problem).toMatchObject({ kind: "feed", message: expect.stringContaining(`feed channel ${feed} refuses the bot`) });
    expect(transport.problem!.message).toContain("DISCORD_FEED_CHANNEL_ID");
    expect(transport.problem!.message).toContain("10003");
    expect(kv.get<{ message: string }>(discordProblemKey)!.message).toContain("10003");

    fake.fail("POST", new RegExp(`^/channels/${feed}/messages$`), 403, 50001, "Missing Access");
    const since = transport.problem!.since;
    await transport.send(textView("alert")).catch(() => undefined);
    expect(transport.problem).toMatchObject({ kind: "feed", since, message: expect.stringContaining("50001") });

    await transport.send(textView("alert"));
    expect(transport.problem).toBeNull();
    expect(kv.get(discordProblemKey)).toBeNull();
    expect(log.text).toContain("takes posts again");

    // A post into another chat that fails says nothing about the feed.
    const other = "1300000000000000445";
    fake.fail("POST", new RegExp(`^/channels/${other}/messages$`), 404, 10003, "Unknown Channel");
    const elsewhere = await transport.send(textView("reply"), { chatId: other }).catch((e: unknown) => e);
    expect((elsewhere as DeliveryError).permanent).toBe(true);
    expect(transport.problem).toBeNull();
  });
});

describe("Discord transport: a post whose answer is lost", () => {
  it("posts an alert once when Discord created it but the answer was a 502 (discord.js retries 5xx; the nonce is enforced)", async () => {
    const { fake, transport } = await setup();
    fake.loseAnswers(new RegExp(`^/channels/${feed}/messages$`));
    const ref = await transport.send(textView("gateway down", { tone: "critical" }));
    const posts = fake.requestsTo(new RegExp(`^/channels/${feed}/messages$`), "POST");
    expect(posts.map((r) => r.status)).toEqual([502, 200]);
    expect(fake.channelMessages(feed).map((m) => m.id)).toEqual([ref.messageId]);
    // Two different alerts are two messages.
    await transport.send(textView("gateway down again", { tone: "critical" }));
    expect(fake.channelMessages(feed)).toHaveLength(2);
  });
});

describe("Discord transport: editing old feed messages", () => {
  it("sits out Discord's 30046 (a 429 for edits to hour-old messages, 3 per 6 s) and edits in place, without a second message", async () => {
    const { fake, transport } = await setup();
    const ref = await transport.send(textView("firing", { tone: "critical" }));
    fake.rateLimit("PATCH", /^\/channels\/\d+\/messages\/\d+$/, 1.2, 1, false, 30046);
    await transport.edit(ref, textView("resolved", { tone: "ok" }));
    expect(fake.requestsTo(/^\/channels\/\d+\/messages\/\d+$/, "PATCH").map((r) => r.status)).toEqual([429, 200]);
    expect(fake.channelMessages(feed)).toHaveLength(1);
    expect(JSON.stringify(fake.channelMessages(feed)[0]!.embeds)).toContain("resolved");
  });
});

describe("Discord transport: gateway sessions as Discord runs them", () => {
  it("resumes after op 7 RECONNECT and keeps answering", async () => {
    const { fake, transport } = await setup();
    fake.requestReconnect();
    await fake.waitFor(() => fake.resumes.length === 1, "RESUME after RECONNECT");
    const id = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the reply");
    expect(answered(fake, id)).toContain("answer to /help");
    expect(fake.identifies).toHaveLength(1);
    expect(transport.problem).toBeNull();
  });

  it("reconnects and resumes when heartbeats go unanswered (a zombie connection)", async () => {
    const { fake, transport } = await setup();
    await fake.waitFor(() => fake.heartbeats >= 1, "a first heartbeat");
    fake.ackHeartbeats = false;
    await fake.waitFor(() => fake.resumes.length === 1, "RESUME after missed ACKs");
    fake.ackHeartbeats = true;
    const id = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the reply");
    expect(answered(fake, id)).toContain("answer to /help");
    await until(() => transport.problem === null, "recovered");
  });

  it("identifies again after op 9 INVALID_SESSION and after a refused RESUME, and keeps answering", async () => {
    const { fake, transport } = await setup();
    fake.invalidateSessions();
    await fake.waitFor(() => fake.identifies.length === 2, "a new IDENTIFY", 15_000);
    const a = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(a), "the reply after re-identifying");

    // The socket drops and the session is gone by the time the client tries to resume it.
    fake.invalidateSessions();
    fake.dropConnections();
    await fake.waitFor(() => fake.identifies.length >= 3, "IDENTIFY after the refused RESUME", 15_000);
    const b = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(b), "the reply after the refused resume");
    expect(answered(fake, b)).toContain("answer to /help");
    await until(() => transport.problem === null, "recovered");
    // The commands are not registered again on every new session.
    expect(fake.requestsTo(/\/commands$/, "PUT")).toHaveLength(1);
  }, 30_000);
});

describe("Discord transport: a gateway closed for good", () => {
  it("reports a close discord.js will not reconnect after (4014 Disallowed intents) as a problem, not just a log line", async () => {
    const { fake, transport, kv } = await setup();
    fake.closeGateway(4014, "Disallowed intent(s).");
    await until(() => transport.problem !== null, "the problem");
    expect(transport.problem).toMatchObject({ kind: "unreachable", message: expect.stringContaining("4014 DisallowedIntents") });
    expect(kv.get<{ kind: string }>(discordProblemKey)).toMatchObject({ kind: "unreachable" });
  });
});

describe("Discord transport: who is asking, in a cached guild and in DMs", () => {
  it("recognises an admin role on a cached guild's member (GuildMember roles), and admins by user id in a DM", async () => {
    const { fake, callers } = await setup();
    const inGuild = fake.slashCommand({ name: "help", user: roleAdmin, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(inGuild), "the guild reply");
    expect(callers[0]).toMatchObject({ userId: roleAdmin.id, admin: true, allowed: true });

    const dmChannel = "1300000000000000333";
    const dm = fake.slashCommand({ name: "help", user: admin, channelId: dmChannel, guildId: null });
    await fake.waitFor(() => fake.callbacks.has(dm), "the DM reply");
    expect(answered(fake, dm)).toContain("answer to /help");
    expect(callers[1]).toMatchObject({ userId: admin.id, admin: true, allowed: true, chatId: dmChannel });

    // A role id means nothing outside the guild.
    const dmRole = fake.slashCommand({ name: "help", user: roleAdmin, channelId: dmChannel, guildId: null });
    await fake.waitFor(() => fake.callbacks.has(dmRole), "the DM refusal");
    expect(fake.callbacks.get(dmRole)).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(callers).toHaveLength(2);
  });
});

describe("Discord transport: slash command registration against what Discord holds", () => {
  it("compares with GET: no PUT when Discord has the same commands (fresh store), a PUT when Discord lost them", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200 });
    closers.push(() => fake.close());
    const first = await setup({ fake });
    expect(fake.requestsTo(/\/guilds\/\d+\/commands$/, "PUT")).toHaveLength(1);
    await first.transport.stop();

    // Another machine's store (or a wiped one): Discord already has exactly these commands.
    const second = await setup({ fake });
    expect(fake.requestsTo(/\/guilds\/\d+\/commands$/, "PUT")).toHaveLength(1);
    expect(second.log.text).toContain('"result":"unchanged"');
    await second.transport.stop();

    // The bot was removed from the guild and invited again: its guild commands are gone, the store does not know.
    fake.forgetCommands();
    await setup({ fake, kv: first.kv });
    expect(fake.requestsTo(/\/guilds\/\d+\/commands$/, "PUT")).toHaveLength(2);
    expect(fake.registered.get(fakeGuildId)!.map((c) => c.name)).toEqual(specs.map((s) => s.name));
  });

  it("answers a command whose reply must be found again (an approval) on an API whose callbacks return no body", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200, callbacksWithoutResponse: true });
    closers.push(() => fake.close());
    const delivered: { key: string; messageId: string }[] = [];
    const keyed: View = { title: "Restart the gateway?", sections: [{ lines: ["asked by ada"] }], key: "action:7" };
    const { log } = await setup({
      fake,
      answer: async () => keyed,
      delivered: (key, ref) => delivered.push({ key, messageId: ref.messageId }),
    });
    const id = fake.slashCommand({ name: "help", user: admin, channelId: feed });
    await until(() => delivered.length === 1, "the reply's message id");
    expect(delivered[0]).toEqual({ key: "action:7", messageId: fake.responseOf(id)!.id });
    expect(fake.followUpsOf(id), "no 'Something went wrong' after a reply that landed").toHaveLength(0);
    expect(log.text).not.toContain("discord interaction failed");
  });

  it("a press whose message shows the outcome stays answered when the API refuses the follow-up note", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200, noFollowUps: true });
    closers.push(() => fake.close());
    const { transport, log } = await setup({
      fake,
      button: async () => ({ toast: "Approved #7: running.", edit: { title: "#7 running…", sections: [{ lines: ["approved by ada"] }] } }),
    });
    const ref = await transport.send({ title: "Restart?", sections: [], buttons: [[{ label: "Approve", data: "a:7:0123456789abcdef:y" }]] });
    const message = fake.messages.get(ref.messageId)!;
    const id = fake.press({ message, customId: JSON.stringify(message.components).match(/"custom_id":"([^"]+)"/)![1]!, user: admin });
    await until(() => log.text.includes("could not send the note"), "the refused note to be logged");
    expect(fake.callbacks.get(id)?.type, "answered by updating the message").toBe(7);
    expect(JSON.stringify(fake.messages.get(ref.messageId)!.embeds)).toContain("#7 running");
    expect(log.text).not.toContain("discord interaction failed");
  });

  it("takes DISCORD_API_BASE with the version on it (…/api/v10/) as well as without", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200 });
    closers.push(() => fake.close());
    const { transport } = await setup({ fake, apiBase: `${fake.apiBase}/v10/` });
    expect(transport.problem).toBeNull();
    const ref = await transport.send(textView("versioned base"));
    expect(fake.messages.get(ref.messageId)?.channel_id).toBe(feed);
  });

  it("still registers (PUT) on an API that does not serve GET on the command routes", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200, commandsPutOnly: true });
    closers.push(() => fake.close());
    const { log } = await setup({ fake });
    expect(fake.requestsTo(/\/guilds\/\d+\/commands$/, "PUT")).toHaveLength(1);
    expect(fake.registered.get(fakeGuildId)!.map((c) => c.name)).toEqual(specs.map((s) => s.name));
    expect(log.text).toContain('"result":"registered"');
    expect(log.text).not.toContain("could not register");
  });

  it("removes a global copy of the same commands when moving to a guild (Discord would list each twice there), and nothing else", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200 });
    closers.push(() => fake.close());
    const globally = await setup({ fake, guildId: null });
    expect(fake.registered.get("global")).toHaveLength(specs.length);
    await globally.transport.stop();

    const inGuild = await setup({ fake });
    expect(fake.registered.get(fakeGuildId)).toHaveLength(specs.length);
    expect(fake.registered.get("global")).toEqual([]);
    expect(inGuild.log.text).toContain("removed the global copy");
    await inGuild.transport.stop();

    // Global commands that are not exactly ours are left alone.
    fake.registered.set("global", [{ id: "1", application_id: fake.applicationId, type: 1, name: "other", description: "Another tool's command" }]);
    await setup({ fake });
    expect(fake.registered.get("global")!.map((c) => c.name)).toEqual(["other"]);
  });

  it("does not hold start for hours when Discord's daily command-create limit answers 429", async () => {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 200 });
    closers.push(() => fake.close());
    fake.rateLimit("PUT", /\/commands$/, 7200);
    const started = Date.now();
    const { log, fake: same } = await setup({ fake });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(log.text).toContain("could not register Discord slash commands");
    // The bot still serves.
    const id = same.slashCommand({ name: "help", user: member, channelId: feed });
    await same.waitFor(() => same.callbacks.has(id), "the reply");
  });
});

describe("Discord transport: answers that go wrong", () => {
  it("fills the 'thinking…' of a deferred command that then fails with the error note", async () => {
    const { fake } = await setup({
      overrides: { deferAfterMs: 50 },
      answer: async () => {
        await new Promise((r) => setTimeout(r, 200));
        throw new Error("store is locked");
      },
    });
    const id = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.responseOf(id)?.loading === false, "the error note");
    expect(fake.callbacks.get(id)!.type).toBe(5);
    expect(fake.responseOf(id)!.content).toContain("Something went wrong");
    expect(fake.followUpsOf(id)).toHaveLength(0);
  });

  it("answers autocomplete with no choices when looking the sessions up fails", async () => {
    const { fake, log } = await setup({
      overrides: {
        suggestSessions: () => {
          throw new Error("database is locked");
        },
      },
    });
    const id = fake.autocomplete({ name: "session", focused: "id", value: "5f", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the choices");
    expect(fake.callbacks.get(id)).toEqual({ type: 8, data: { choices: [] } });
    expect(log.text).toContain("database is locked");
  });
});
