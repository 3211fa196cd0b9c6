import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandSpec } from "../../../src/chat/commands.ts";
import { toneColors } from "../../../src/chat/discord/render.ts";
import { DiscordTransport, discordProblemKey } from "../../../src/chat/discord/transport.ts";
import { discordSection } from "../../../src/config/sections/chat.ts";
import { createLogger } from "../../../src/lib/log.ts";
import { type ButtonOutcome, type Caller, DeliveryError, type Inbound, type MessageRef } from "../../../src/messages/transport.ts";
import { textView, type View } from "../../../src/messages/view.ts";
import { openStore } from "../../../src/store/db.ts";
import { KvStore } from "../../../src/store/kv.ts";
import { FakeDiscord, type FakeUser } from "../../fakes/discord-api.ts";
import { tempDir } from "../../helpers/tmp.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB";
const feed = "1300000000000000777";
const admin: FakeUser = { id: "2000000000000000001", username: "ada" };
const member: FakeUser = { id: "2000000000000000002", username: "bob" };
const roleAdmin: FakeUser = { id: "2000000000000000003", username: "cy", roles: ["3000000000000000009"] };
const stranger: FakeUser = { id: "2000000000000000099", username: "eve" };

const specs: CommandSpec[] = [
  { name: "help", description: "List the commands", usage: "/help", options: [] },
  {
    name: "sessions",
    description: "List sessions",
    usage: "/sessions [platform] [scope]",
    options: [
      { name: "platform", description: "Platform", type: "string", choices: ["openclaw", "claude", "codex"] },
      { name: "scope", description: "active or all", type: "string", choices: ["active", "all"] },
      { name: "project", description: "Project", type: "string", keyword: "project" },
    ],
  },
  {
    name: "session",
    description: "One session",
    usage: "/session <id>",
    options: [{ name: "id", description: "Session id", type: "string", required: true, autocomplete: "session" }],
  },
];

interface Call {
  kind: "command" | "button" | "delivered";
  caller?: Caller;
  value: string;
  args?: string[];
  ref?: MessageRef | null;
}

/** An Inbound that records calls and answers with whatever the test queued. */
class RecordingInbound implements Inbound {
  calls: Call[] = [];
  answer: (name: string, args: string[]) => View | Promise<View> = (name, args) => textView(`answer to /${name} ${args.join(" ")}`);
  outcome: (data: string) => ButtonOutcome | Promise<ButtonOutcome> = () => ({ toast: "ok" });
  async command(caller: Caller, name: string, args: string[]) {
    this.calls.push({ kind: "command", caller, value: name, args });
    return this.answer(name, args);
  }
  async button(caller: Caller, data: string, ref: MessageRef | null) {
    this.calls.push({ kind: "button", caller, value: data, ref });
    return this.outcome(data);
  }
  delivered(key: string, ref: MessageRef) {
    this.calls.push({ kind: "delivered", value: key, ref });
  }
}

/** Polls until `check` holds (for state that changes without a request to the fake). */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function setup(options: { token?: string; deferAfterMs?: number; guildId?: string | null; kv?: KvStore } = {}) {
  const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 100 });
  running.push({ stop: () => fake.close() });
  const kv = options.kv ?? new KvStore(openStore(join(tempDir("asm-discord-"), "asm.db")));
  const logStream = new PassThrough();
  let logText = "";
  logStream.on("data", (d) => (logText += d));
  const log = createLogger({ stream: logStream, pretty: "never", level: "debug", secrets: [token] });
  const config = discordSection.parse({
    apiBase: fake.apiBase,
    feedChannelId: feed,
    guildId: options.guildId === undefined ? "1200000000000000001" : options.guildId,
    allowedUserIds: [member.id],
    adminUserIds: [admin.id],
    adminRoleIds: ["3000000000000000009"],
  });
  const transport = new DiscordTransport({
    token: options.token ?? token,
    config,
    kv,
    log,
    commands: specs,
    deferAfterMs: options.deferAfterMs ?? 2000,
    maxRateLimitWaitMs: 5000,
    suggestSessions: (prefix) =>
      ["5f0c2a11-aaaa", "5f0d9b22-bbbb", "7e11c0de-cccc"].filter((id) => id.startsWith(prefix)).map((id) => ({ name: `claude · ${id}`, value: id })),
  });
  const inbound = new RecordingInbound();
  await transport.start(inbound);
  running.push(transport);
  return { fake, transport, inbound, kv, log: () => logText };
}

describe("DiscordTransport against a fake Discord on loopback", () => {
  it("logs in through GET /gateway/bot and the gateway, with the Guilds intent only, and heartbeats", async () => {
    const { fake, transport } = await setup();
    expect(transport.problem).toBeNull();
    expect(fake.requestsTo(/^\/gateway\/bot$/, "GET")).toHaveLength(1);
    expect(fake.requestsTo(/^\/gateway\/bot$/)[0]!.authorization).toBe(`Bot ${token}`);
    expect(fake.identifies).toHaveLength(1);
    expect(fake.identifies[0]!.intents).toBe(1);
    await fake.waitFor(() => fake.heartbeats >= 1, "a heartbeat");
  });

  it("registers the slash commands from the command list in the guild, and only when they changed", async () => {
    const first = await setup();
    const puts = first.fake.requestsTo(/^\/applications\/\d+\/guilds\/1200000000000000001\/commands$/, "PUT");
    expect(puts).toHaveLength(1);
    const body = puts[0]!.body as {
      name: string;
      description: string;
      options?: { name: string; choices?: unknown[]; autocomplete?: boolean; required?: boolean }[];
    }[];
    expect(body.map((c) => c.name)).toEqual(specs.map((s) => s.name));
    const sessions = body.find((c) => c.name === "sessions")!;
    expect(sessions.options!.map((o) => o.name)).toEqual(["platform", "scope", "project"]);
    expect(sessions.options![0]!.choices).toEqual([
      { name: "openclaw", value: "openclaw" },
      { name: "claude", value: "claude" },
      { name: "codex", value: "codex" },
    ]);
    const session = body.find((c) => c.name === "session")!;
    expect(session.options![0]).toMatchObject({ name: "id", autocomplete: true, required: true });
    expect(first.fake.registered.get("1200000000000000001")!.map((c) => c.name)).toEqual(specs.map((s) => s.name));

    // Without a guild id they are registered globally.
    const global = await setup({ guildId: null });
    expect(global.fake.requestsTo(/^\/applications\/\d+\/commands$/, "PUT")).toHaveLength(1);
  });

  it("posts an alert to the feed channel as a coloured embed that pings nobody, and edits it when resolved", async () => {
    const { fake, transport } = await setup();
    const ref = await transport.send({
      title: "Context at 86% — claude 5f0c",
      sections: [{ lines: ["@everyone model claude-sonnet", "context 172k of 200k"] }],
      tone: "critical",
    });
    expect(ref).toMatchObject({ transport: "discord", chatId: feed });
    const post = fake.requestsTo(new RegExp(`^/channels/${feed}/messages$`), "POST")[0]!;
    expect(post.body).toMatchObject({ allowed_mentions: { parse: [] } });
    const [message] = fake.channelMessages(feed);
    expect(message!.id).toBe(ref.messageId);
    expect(message!.embeds[0]).toMatchObject({ title: "Context at 86% — claude 5f0c", color: toneColors.critical });
    expect(String(message!.embeds[0]!.description)).toContain("context 172k of 200k");

    await transport.edit(ref, { title: "Resolved: context back to 40%", sections: [{ lines: ["claude 5f0c"] }], tone: "ok" });
    expect(message!.edits).toBe(1);
    expect(message!.embeds[0]).toMatchObject({ title: "Resolved: context back to 40%", color: toneColors.ok });
    expect(message!.components).toEqual([]);
    expect(fake.channelMessages(feed)).toHaveLength(1);
  });

  it("posts into a thread by its id, and quietly when the view is silent", async () => {
    const { fake, transport } = await setup();
    const thread = "1300000000000000888";
    const ref = await transport.send(textView("resolved quietly", { silent: true }), { chatId: feed, threadId: thread });
    expect(ref).toMatchObject({ chatId: thread });
    const [post] = fake.requestsTo(new RegExp(`^/channels/${thread}/messages$`), "POST");
    expect(post!.body).toMatchObject({ flags: 4096 });
    await transport.send(textView("loud", { tone: "critical" }));
    expect(fake.requestsTo(new RegExp(`^/channels/${feed}/messages$`), "POST")[0]!.body).not.toHaveProperty("flags");
  });

  it("sits out a short 429 on the feed and delivers once; a long one goes back to the outbox", async () => {
    const { fake, transport, log } = await setup();
    fake.rateLimit("POST", /^\/channels\/\d+\/messages$/, 0.3);
    const ref = await transport.send(textView("gateway down", { tone: "warning" }));
    expect(fake.requestsTo(/^\/channels\/\d+\/messages$/, "POST").map((r) => r.status)).toEqual([429, 200]);
    expect(fake.channelMessages(feed).map((m) => m.id)).toEqual([ref.messageId]);
    expect(log()).toContain("discord rate limited");

    fake.rateLimit("POST", /^\/channels\/\d+\/messages$/, 120);
    const err = await transport.send(textView("second")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryAfterMs).toBeGreaterThanOrEqual(120_000);
    expect((err as DeliveryError).permanent).toBe(false);
    expect(fake.channelMessages(feed)).toHaveLength(1);
  });

  it("reports a deleted message as a permanent delivery error and a 5xx as a transient one", async () => {
    const { fake, transport } = await setup();
    const gone = await transport.edit({ transport: "discord", chatId: feed, messageId: "1399999999999999999" }, textView("x")).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DeliveryError);
    expect((gone as DeliveryError).permanent).toBe(true);
    expect((gone as DeliveryError).message).toContain("10008");
    fake.fail("POST", /^\/channels\/\d+\/messages$/, 500, 0, "boom", 4);
    const down = await transport.send(textView("x")).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DeliveryError);
    expect((down as DeliveryError).permanent).toBe(false);
  });

  it("answers a slash command with options mapped to the command list's order", async () => {
    const { fake, inbound } = await setup();
    const id = fake.slashCommand({ name: "sessions", options: { scope: "all", platform: "claude" }, user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the reply");
    expect(inbound.calls[0]).toMatchObject({ kind: "command", value: "sessions", args: ["claude", "all"] });
    expect(inbound.calls[0]!.caller).toMatchObject({ transport: "discord", userId: member.id, allowed: true, admin: false, chatId: feed });
    const cb = fake.callbacks.get(id)!;
    expect(cb.type).toBe(4);
    expect(cb.data!.flags ?? 0).toBe(0);
    expect(JSON.stringify(cb.data!.embeds)).toContain("answer to /sessions claude all");
  });

  it("passes a keyword option as the words typed in text (project <name>), so the command parses it as in Telegram", async () => {
    const { fake, inbound } = await setup();
    const id = fake.slashCommand({ name: "sessions", options: { project: "alpha", platform: "claude" }, user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the reply");
    expect(inbound.calls[0]).toMatchObject({ kind: "command", value: "sessions", args: ["claude", "project", "alpha"] });
  });

  it("recognises admins by user id and by role id (raw member roles), and refuses strangers ephemerally", async () => {
    const { fake, inbound, log } = await setup();
    const a = fake.slashCommand({ name: "help", user: roleAdmin, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(a), "the reply");
    expect(inbound.calls[0]!.caller).toMatchObject({ admin: true, allowed: true });

    const s = fake.slashCommand({ name: "help", user: stranger, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(s), "the refusal");
    expect(fake.callbacks.get(s)).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String(fake.callbacks.get(s)!.data!.content)).toContain("not allowed");
    expect(inbound.calls).toHaveLength(1);
    expect(log()).toContain(stranger.id);
  });

  it("defers a slow command and edits the deferred reply; a slow private answer becomes an ephemeral follow-up", async () => {
    const { fake, inbound } = await setup({ deferAfterMs: 50 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    inbound.answer = async () => {
      await gate;
      return { title: "Health", sections: [{ lines: ["all good"] }], tone: "ok" };
    };
    const id = fake.slashCommand({ name: "sessions", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the deferral");
    expect(fake.callbacks.get(id)!.type).toBe(5);
    release();
    await fake.waitFor(() => fake.requestsTo(/\/messages\/@original$/, "PATCH").length === 1, "the edit");
    expect(fake.responseOf(id)!.embeds[0]).toMatchObject({ title: "Health", color: toneColors.ok });

    let releasePrivate!: () => void;
    const privateGate = new Promise<void>((r) => (releasePrivate = r));
    inbound.answer = async () => {
      await privateGate;
      return textView("secret", { private: true });
    };
    const p = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(p), "the second deferral");
    releasePrivate();
    await fake.waitFor(() => fake.followUpsOf(p).length === 1, "the follow-up");
    expect(fake.callbacks.get(p)!.type).toBe(5);
    expect(fake.followUpsOf(p)[0]!.flags).toBe(64);
    expect(fake.responseOf(p)).toBeUndefined(); // the public "thinking…" placeholder was deleted
  });

  it("reports where a keyed reply landed, so the core can edit it later", async () => {
    const { fake, inbound } = await setup();
    inbound.answer = () => ({
      title: "Restart the gateway?",
      sections: [{ lines: ["#7"] }],
      key: "action:7",
      buttons: [[{ label: "Approve", data: "a:7:0123456789abcdef:y", style: "success" }]],
    });
    const id = fake.slashCommand({ name: "help", user: member, channelId: feed });
    await fake.waitFor(() => inbound.calls.some((c) => c.kind === "delivered"), "delivered()");
    const delivered = inbound.calls.find((c) => c.kind === "delivered")!;
    expect(delivered.value).toBe("action:7");
    expect(delivered.ref).toEqual({ transport: "discord", chatId: feed, messageId: fake.responseOf(id)!.id });
    expect(fake.responseOf(id)!.components).toEqual([{ type: 1, components: [{ type: 2, custom_id: "a:7:0123456789abcdef:y", label: "Approve", style: 3 }] }]);
  });

  it("turns button presses into edits (buttons removed), ephemeral toasts and deferred updates", async () => {
    const { fake, transport, inbound } = await setup({ deferAfterMs: 50 });
    const ref = await transport.send({
      title: "Approve?",
      sections: [{ lines: ["restart"] }],
      buttons: [[{ label: "Approve", data: "a:1:aaaaaaaaaaaaaaaa:y" }]],
    });
    const message = fake.messages.get(ref.messageId)!;

    inbound.outcome = () => ({ toast: "Only an admin can approve this." });
    const refused = fake.press({ message, customId: "a:1:aaaaaaaaaaaaaaaa:y", user: member });
    await fake.waitFor(() => fake.callbacks.has(refused), "the toast");
    expect(fake.callbacks.get(refused)).toMatchObject({ type: 4, data: { flags: 64, content: "Only an admin can approve this." } });
    expect(inbound.calls.at(-1)).toMatchObject({ kind: "button", value: "a:1:aaaaaaaaaaaaaaaa:y", ref });
    expect(message.edits).toBe(0);

    inbound.outcome = () => ({ toast: "Approved #1", edit: { title: "Restart: running", sections: [{ lines: ["by ada"] }], tone: "info" } });
    const pressed = fake.press({ message, customId: "a:1:aaaaaaaaaaaaaaaa:y", user: admin });
    await fake.waitFor(() => fake.followUpsOf(pressed).length === 1, "the follow-up toast");
    expect(fake.callbacks.get(pressed)!.type).toBe(7);
    expect(message.embeds[0]).toMatchObject({ title: "Restart: running" });
    expect(message.components).toEqual([]);
    expect(fake.followUpsOf(pressed)[0]).toMatchObject({ flags: 64, content: "Approved #1" });

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    inbound.outcome = async () => {
      await gate;
      return { edit: { title: "Restart: done", sections: [{ lines: ["healthy"] }], tone: "ok" } };
    };
    const slow = fake.press({ message, customId: "a:1:aaaaaaaaaaaaaaaa:y", user: admin });
    await fake.waitFor(() => fake.callbacks.has(slow), "the deferred update");
    expect(fake.callbacks.get(slow)!.type).toBe(6);
    release();
    await fake.waitFor(() => message.embeds[0]?.title === "Restart: done", "the late edit");
  });

  it("lets the core's outcome edit land after the button's own update, never before it", async () => {
    const { fake, transport, inbound } = await setup();
    const ref = await transport.send({ title: "Approve?", sections: [], buttons: [[{ label: "Approve", data: "a:2:cccccccccccccccc:y" }]] });
    const message = fake.messages.get(ref.messageId)!;
    // The action finishes while our "running" update is still on the wire (a slow callback).
    fake.delay(/\/callback$/, 300);
    let finished!: Promise<void>;
    inbound.outcome = () => {
      finished = new Promise((resolve) => setImmediate(() => resolve(transport.edit(ref, { title: "Restart: succeeded", sections: [] }))));
      return { edit: { title: "Restart: running", sections: [] } };
    };
    const id = fake.press({ message, customId: "a:2:cccccccccccccccc:y", user: admin });
    await fake.waitFor(() => fake.callbacks.has(id), "the update");
    await finished;
    expect(fake.requests.filter((r) => r.path.endsWith("/callback") || r.method === "PATCH").map((r) => r.method)).toEqual(["POST", "PATCH"]);
    expect(message.embeds[0]!.title).toBe("Restart: succeeded");
  });

  it("refuses a stranger's button press before the core sees it", async () => {
    const { fake, transport, inbound } = await setup();
    const ref = await transport.send({ title: "Approve?", sections: [], buttons: [[{ label: "Approve", data: "a:1:bbbbbbbbbbbbbbbb:y" }]] });
    const id = fake.press({ message: fake.messages.get(ref.messageId)!, customId: "a:1:bbbbbbbbbbbbbbbb:y", user: stranger });
    await fake.waitFor(() => fake.callbacks.has(id), "the refusal");
    expect(fake.callbacks.get(id)).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(inbound.calls).toHaveLength(0);
  });

  it("pages a long feed view with Prev/Next buttons", async () => {
    const { fake, transport } = await setup();
    const lines = Array.from({ length: 300 }, (_, i) => `session ${String(i).padStart(3, "0")} ${"x".repeat(30)}`);
    const ref = await transport.send({ title: "Many", sections: [{ lines, pre: true }] });
    const message = fake.messages.get(ref.messageId)!;
    const footer = (message.embeds[0]!.footer as { text: string }).text;
    expect(footer).toMatch(/^Page 1\/(\d+)$/);
    const row = message.components.at(-1) as { components: { custom_id: string; disabled?: boolean }[] };
    expect(row.components[0]!.disabled).toBe(true);
    const next = row.components[1]!.custom_id;
    expect(next.length).toBeLessThanOrEqual(100);
    const id = fake.press({ message, customId: next, user: member });
    await fake.waitFor(() => fake.callbacks.has(id), "the page");
    expect(fake.callbacks.get(id)!.type).toBe(7);
    expect((message.embeds[0]!.footer as { text: string }).text).toMatch(/^Page 2\//);
    expect(String(message.embeds[0]!.description)).toContain("session 1");
    expect(String(message.embeds[0]!.description)).not.toContain("session 000");
  });

  it("suggests session ids while the user types", async () => {
    const { fake } = await setup();
    const id = fake.autocomplete({ name: "session", focused: "id", value: "5f0", user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(id), "the choices");
    expect(fake.callbacks.get(id)).toEqual({
      type: 8,
      data: {
        choices: [
          { name: "claude · 5f0c2a11-aaaa", value: "5f0c2a11-aaaa" },
          { name: "claude · 5f0d9b22-bbbb", value: "5f0d9b22-bbbb" },
        ],
      },
    });
  });

  it("survives a rejected token: start resolves, the problem is logged and kept, sends fail softly, no token in the log", async () => {
    const { transport, kv, log, fake } = await setup({ token: "MTEw.bad.tokentokentokentokentokentoken" });
    expect(transport.problem).toMatchObject({ kind: "unauthorized", message: expect.stringContaining("rejected DISCORD_TOKEN") });
    expect(kv.get<{ message: string }>(discordProblemKey)!.message).toContain("rejected");
    expect(fake.identifies).toHaveLength(0);
    const err = await transport.send(textView("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).permanent).toBe(false);
    expect(log()).toContain("rejected DISCORD_TOKEN");
    expect(log()).not.toContain("tokentokentoken");
  });

  it("reports a token revoked while connected (gateway close 4004)", async () => {
    const { fake, transport, kv } = await setup();
    fake.revokeToken();
    await until(() => transport.problem !== null);
    expect(transport.problem).toMatchObject({ kind: "unauthorized", message: expect.stringContaining("4004") });
    expect(kv.get<{ message: string }>(discordProblemKey)!.message).toContain("4004");
  });
});
