import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { commands } from "../../src/chat/commands.ts";
import { toneColors } from "../../src/chat/discord/render.ts";
import { startService } from "../../src/monitor/service.ts";
import { runScan } from "../../src/sources/scan.ts";
import { openRuntime } from "../../src/store/runtime.ts";
import { Capture, healthServer, runs } from "../core/setup.ts";
import { FakeDiscord, type FakeMessage, type FakeUser } from "../fakes/discord-api.ts";
import { session } from "../helpers/checks.ts";
import { contextCycle, criticalContext, e2eWorld, until } from "../helpers/e2e.ts";

const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.e2eE2Ee2eE2Ee2eE2Ee2eE2Ee2eE2Ee2eE2Ee2e";
const feed = "1300000000000000555";
const guild = "1200000000000000001";
const admin: FakeUser = { id: "2000000000000000001", username: "ada" };
const member: FakeUser = { id: "2000000000000000002", username: "bob" };
const jsonEra = fileURLToPath(new URL("../fixtures/openclaw/json-era/.openclaw", import.meta.url));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const text = (m: FakeMessage | undefined) => JSON.stringify(m?.embeds ?? []);

/**
 * The whole bot as `asm run` starts it with DISCORD_TOKEN set: real config loading, store, the
 * real scan of the agents' fixture files, the core, the outbox sender, and the discord.js client
 * talking to the fake Discord on loopback.
 */
async function start() {
  const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 500 });
  closers.push(() => fake.close());
  const gw = await healthServer();
  closers.push(gw.close);
  const { home, marker, configPath } = e2eWorld("asm-discord-e2e-", gw.url);
  const log = new Capture();
  const rt = openRuntime({
    configPath,
    env: {
      HOME: home,
      DISCORD_TOKEN: token,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_FEED_CHANNEL_ID: feed,
      DISCORD_GUILD_ID: guild,
      DISCORD_ALLOWED_USER_IDS: member.id,
      DISCORD_ADMIN_USER_IDS: admin.id,
    },
    logStream: log,
  });
  const scan = await runScan(rt);
  const service = await startService(rt, { monitorAtStart: false, manager: { probeIntervalMs: 50 } });
  // Transports connect in the background; these tests talk to them right away.
  await service.ready;
  closers.push(async () => {
    await service.stop();
    rt.close();
  });
  return { fake, rt, service, marker, scan, log };
}

describe("Discord end to end: the real service and discord.js against the fake Discord", () => {
  it("registers the core's commands, posts and resolves an alert through the outbox, answers /sessions from real files, and runs an approved restart once", async () => {
    const { fake, rt, service, marker, log } = await start();
    expect(service.transports.map((t) => t.name)).toEqual(["discord"]);

    // Commands: one PUT into the guild, with the names of the core's command list.
    const puts = fake.requestsTo(new RegExp(`^/applications/\\d+/guilds/${guild}/commands$`), "PUT");
    expect(puts).toHaveLength(1);
    expect((puts[0]!.body as { name: string }[]).map((c) => c.name)).toEqual(commands.map((c) => c.name));

    // An alert: lifecycle → outbox row → sender → an embed in the feed channel; a 429 first is sat out.
    fake.rateLimit("POST", new RegExp(`^/channels/${feed}/messages$`), 0.2);
    const t0 = Date.now();
    contextCycle(service, rt, [criticalContext("e2e-session")], "discord", t0);
    await fake.waitFor(() => fake.channelMessages(feed).length === 1, "the alert");
    const alert = fake.channelMessages(feed)[0]!;
    expect(alert.embeds[0]).toMatchObject({ color: toneColors.critical });
    expect(String(alert.embeds[0]!.title)).toContain("context at 91%");
    expect(text(alert)).toContain("182k tokens (91%)");
    expect(fake.requestsTo(new RegExp(`^/channels/${feed}/messages$`), "POST").map((r) => r.status)).toEqual([429, 200]);

    // The alert's own buttons go through the core: Ack by an allowed user, answered ephemerally.
    const controls = alert.components.flatMap((row) => (row as { components: { custom_id: string; label: string }[] }).components);
    const ack = controls.find((b) => b.label === "Ack")!.custom_id;
    const acked = fake.press({ message: alert, customId: ack, user: member });
    await fake.waitFor(() => fake.callbacks.has(acked), "the ack answer");
    expect(fake.callbacks.get(acked)).toMatchObject({ type: 4, data: { flags: 64 } });
    const alertId = Number(/^ack:(\d+)$/.exec(ack)![1]);
    expect(service.monitoring.stores.alerts.get(alertId)!.ackedBy).toBe(`discord:${member.id}`);

    contextCycle(service, rt, [], "discord", t0 + 60_000);
    await fake.waitFor(() => alert.edits === 1, "the resolve edit");
    expect(String(alert.embeds[0]!.title)).toContain("RESOLVED");
    expect(alert.embeds[0]).toMatchObject({ color: toneColors.ok });
    expect(alert.components).toEqual([]);
    expect(fake.channelMessages(feed)).toHaveLength(1);

    // /sessions all, answered from what the real scan of the fixture files put in the store.
    const stored = rt.sessions.list({ includeGone: true, limit: 3 });
    expect(stored.length).toBeGreaterThan(0);
    const list = fake.slashCommand({ name: "sessions", options: { scope: "all" }, user: member, channelId: feed, guildId: guild });
    await fake.waitFor(() => fake.callbacks.has(list), "the /sessions reply");
    const answer = fake.responseOf(list)!;
    expect(String(answer.embeds[0]!.title)).toMatch(/^Sessions: \d+ \(all\)/);
    for (const s of stored) expect(text(answer)).toContain(s.sessionId.slice(0, 8));

    // /restart_gateway → an approval message with buttons in the feed (where the admins are); the member's
    // answer says it is there; the core learns where it landed.
    const req = fake.slashCommand({ name: "restart_gateway", options: { reason: "not answering" }, user: member, channelId: feed, guildId: guild });
    await fake.waitFor(() => fake.callbacks.has(req), "the approval request");
    expect(text(fake.responseOf(req)!)).toMatch(/a1: the approval request is posted in this chat/);
    const approval = fake.channelMessages(feed).find((m) => /Approval needed/.test(String(m.embeds[0]?.title)))!;
    expect(String(approval.embeds[0]!.title)).toMatch(/Approval needed: a1 Restart the gateway/);
    const buttons = (approval.components[0] as { components: { custom_id: string; label: string }[] }).components;
    const approve = buttons.find((b) => /approve/i.test(b.label))!.custom_id;
    expect(approve.length).toBeLessThanOrEqual(100);
    await until(() => service.manager.actionStore.get(1)!.messageRefs.length === 1, "the recorded approval message");
    expect(service.manager.actionStore.get(1)!.messageRefs[0]).toEqual({ transport: "discord", chatId: feed, messageId: approval.id });

    // A non-admin press: refused, ephemeral, nothing runs, the buttons stay.
    const refused = fake.press({ message: approval, customId: approve, user: member });
    await fake.waitFor(() => fake.callbacks.has(refused), "the refusal");
    expect(fake.callbacks.get(refused)).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(String(fake.callbacks.get(refused)!.data!.content)).toMatch(/Only an admin/);
    expect(approval.components).toHaveLength(1);
    expect(runs(marker)).toBe(0);

    // The admin press: the message is updated in place without buttons, the argv runs once, and the
    // message is edited again with the verified outcome (health URL on loopback).
    const pressed = fake.press({ message: approval, customId: approve, user: admin });
    await fake.waitFor(() => fake.callbacks.has(pressed), "the approval");
    expect(fake.callbacks.get(pressed)!.type).toBe(7);
    await service.manager.actions.idle();
    await fake.waitFor(() => /succeeded/.test(String(approval.embeds[0]?.title)), "the outcome edit");
    expect(runs(marker)).toBe(1);
    expect(approval.components).toEqual([]);
    expect(text(approval)).toContain("gateway healthy");
    expect(fake.requestsTo(new RegExp(`^/channels/${feed}/messages/${approval.id}$`), "PATCH").length).toBeGreaterThan(0);
    expect(fake.followUpsOf(pressed)[0]).toMatchObject({ flags: 64 });
    expect(fake.followUpsOf(pressed)[0]!.content).toMatch(/Approved a1/);

    // A replayed press (the same interaction payload again): nothing runs.
    const replay = fake.press({ message: approval, customId: approve, user: admin });
    await fake.waitFor(() => fake.followUpsOf(replay).length === 1, "the replay answer");
    await service.manager.actions.idle();
    expect(runs(marker)).toBe(1);
    expect(fake.followUpsOf(replay)[0]).toMatchObject({ flags: 64 });
    expect(fake.followUpsOf(replay)[0]!.content).toMatch(/already decided \(succeeded/);
    expect(service.manager.actionStore.get(1)).toMatchObject({ status: "succeeded", decidedBy: `discord:${admin.id}` });

    // Autocomplete for a session id, from the store the real scan filled.
    const target = stored[0]!;
    const ac = fake.autocomplete({ name: "reset_session", focused: "id", value: target.sessionId.slice(0, 6), user: member, channelId: feed });
    await fake.waitFor(() => fake.callbacks.has(ac), "the suggestions");
    const choices = (fake.callbacks.get(ac)!.data!.choices as { name: string; value: string }[]).map((c) => c.value);
    expect(choices).toContain(target.sessionId);

    // Nothing we logged carries the token.
    expect(log.text).not.toContain(token);
    expect(log.text).not.toContain(token.split(".")[2]);
  });
});

describe("Discord end to end: long answers", () => {
  it("pages a long /sessions with the core's page buttons, each page within Discord's limits", async () => {
    const { fake, rt } = await start();
    const now = Date.now();
    for (let i = 0; i < 120; i++) {
      rt.sessions.upsert(
        session({
          platform: "claude",
          agentId: null,
          sessionId: `${String(i).padStart(4, "0")}aaaa-e2e-${i}`,
          title: `task number ${i} with a long title`,
          lastActivity: now - i * 1000,
          scannedAt: now,
        }),
      );
    }
    const id = fake.slashCommand({ name: "sessions", options: { scope: "all", sort: "activity" }, user: member, channelId: feed, guildId: guild });
    await fake.waitFor(() => fake.callbacks.has(id), "the first page");
    const reply = fake.responseOf(id)!;
    const title = () => String(reply.embeds[0]!.title);
    expect(title()).toMatch(/page 1\/(\d+)/);
    const pages = Number(/page 1\/(\d+)/.exec(title())![1]);
    expect(pages).toBeGreaterThan(1);
    expect(String(reply.embeds[0]!.description).length).toBeLessThanOrEqual(4096);
    expect(text(reply)).toContain("0000aaaa");

    const nav = () => (reply.components.at(-1) as { components: { custom_id: string; label: string }[] }).components;
    const next = nav().find((b) => b.label.includes("›"))!.custom_id;
    expect(next.length).toBeLessThanOrEqual(100);
    const press = fake.press({ message: reply, customId: next, user: member });
    await fake.waitFor(() => fake.callbacks.has(press), "page 2");
    expect(fake.callbacks.get(press)!.type).toBe(7);
    expect(title()).toMatch(/page 2\//);
    expect(text(reply)).not.toContain("0000aaaa");
    expect(nav().some((b) => b.label.includes("‹"))).toBe(true);
  });

  it("a fast action's result stays on the approval message (a late 'running…' update does not overwrite it)", async () => {
    const { fake, rt, service } = await start();
    cpSync(jsonEra, rt.config.sources.openclaw.root, { recursive: true });
    await runScan(rt);
    const req = fake.slashCommand({ name: "cleanup", options: {}, user: admin, channelId: feed, guildId: guild });
    await fake.waitFor(() => fake.callbacks.has(req), "the approval request");
    // Asked in the feed channel: the request is posted there once (the command's answer only points to it).
    const approval = fake.channelMessages(feed).find((m) => /Clean up session store/.test(String(m.embeds[0]?.title)))!;
    expect(String(approval.embeds[0]!.title)).toMatch(/Clean up session store/);
    await until(() => service.manager.actionStore.get(1)!.messageRefs.length === 1, "the recorded approval message");
    const buttons = (approval.components[0] as { components: { custom_id: string; label: string }[] }).components;
    const pressed = fake.press({ message: approval, customId: buttons.find((b) => /approve/i.test(b.label))!.custom_id, user: admin });
    await fake.waitFor(() => fake.callbacks.has(pressed), "the approval");
    await service.manager.actions.idle();
    expect(service.manager.actionStore.get(1)).toMatchObject({ status: "succeeded" });
    // Every answer to the press has landed once its follow-up (the toast) has.
    await fake.waitFor(() => fake.followUpsOf(pressed).length > 0 || fake.callbacks.get(pressed)!.type === 4, "the toast");
    expect(String(approval.embeds[0]!.title)).toMatch(/succeeded/);
    expect(approval.components).toEqual([]);
  });
});
