import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { commands } from "../../src/chat/commands.ts";
import { toneMarks } from "../../src/chat/telegram/render.ts";
import type { Finding } from "../../src/messages/finding.ts";
import { startService } from "../../src/monitor/service.ts";
import { runScan } from "../../src/sources/scan.ts";
import { openRuntime } from "../../src/store/runtime.ts";
import { Capture, healthServer, runs } from "../core/setup.ts";
import { FakeTelegramApi, type FakeUser, type StoredMessage } from "../fakes/telegram-api.ts";
import { contextCycle, criticalContext, e2eWorld, until } from "../helpers/e2e.ts";

const admin: FakeUser = { id: 7001, first_name: "Ada", username: "ada" };
const member: FakeUser = { id: 7002, first_name: "Bob", username: "bob" };
const stranger: FakeUser = { id: 7666, first_name: "Eve" };
const feedChatId = -1009876543210;
const topicId = 42;
const jsonEra = fileURLToPath(new URL("../fixtures/openclaw/json-era/.openclaw", import.meta.url));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/**
 * The whole bot as `asm run` starts it with TELEGRAM_BOT_TOKEN set: real config loading from the
 * environment, the store, the real scan of the agents' fixture files, the core, the outbox sender,
 * and grammY talking to the fake Bot API on loopback.
 */
async function start(extra: Record<string, unknown> = {}) {
  const fake = await FakeTelegramApi.start({ maxPollMs: 2000 });
  closers.push(() => fake.close());
  const group = fake.addChat({ id: feedChatId, type: "supergroup", title: "Ops", is_forum: true });
  fake.addTopic(feedChatId, topicId, "Agent alerts");
  const gw = await healthServer();
  closers.push(gw.close);
  const { home, marker, configPath } = e2eWorld("asm-telegram-e2e-", gw.url, extra);
  const log = new Capture();
  const rt = openRuntime({
    configPath,
    env: {
      HOME: home,
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: `${fake.apiRoot}/`,
      TELEGRAM_FEED_CHAT_ID: String(feedChatId),
      TELEGRAM_FEED_TOPIC_ID: String(topicId),
      TELEGRAM_ALLOWED_USER_IDS: String(member.id),
      TELEGRAM_ADMIN_IDS: String(admin.id),
    },
    logStream: log,
  });
  const scan = await runScan(rt);
  const service = await startService(rt, {
    monitorAtStart: false,
    manager: { probeIntervalMs: 50 },
    telegram: { pollTimeoutSeconds: 1, answerWithinMs: 3000 },
  });
  // Transports connect in the background; these tests talk to them right away.
  await service.ready;
  closers.push(async () => {
    await service.stop();
    rt.close();
  });
  return { fake, group, rt, service, marker, scan, log };
}

const inTopic = (fake: FakeTelegramApi) => fake.messagesIn(feedChatId).filter((m) => m.message_thread_id === topicId);

describe("Telegram end to end: the real service and grammY against the fake Bot API", () => {
  it("menus from the core's commands, an alert through the outbox (429 sat out) resolved in place, /sessions from real files, and an approved restart run once", async () => {
    const { fake, group, rt, service, marker, log } = await start();
    expect(service.transports.map((t) => t.name)).toEqual(["telegram"]);

    // Menus: everyone sees the commands anyone allowed may run; admin-only ones only in admin scopes.
    const everyone = fake.commands.get(JSON.stringify({ type: "default" }))!.map((c) => c.command);
    expect(everyone).toEqual(commands.filter((c) => !c.admin).map((c) => c.name));
    const adminScope = fake.commands.get(JSON.stringify({ type: "chat_member", chat_id: feedChatId, user_id: admin.id }));
    if (commands.some((c) => c.admin)) expect(adminScope!.map((c) => c.command)).toEqual(commands.map((c) => c.name));
    else expect(adminScope).toBeUndefined();

    // An alert: lifecycle → outbox row → sender → sendMessage into the topic; a 429 first is sat out.
    fake.fail("sendMessage", { status: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 });
    const t0 = Date.now();
    contextCycle(service, rt, [criticalContext("e2e-session", "claude e2e-session context at 91% <high>")], "telegram", t0);
    await until(() => inTopic(fake).length === 1, "the alert");
    const alert = inTopic(fake)[0]!;
    expect(alert.text.startsWith(toneMarks.critical)).toBe(true);
    expect(alert.text).toContain("context at 91% <high>");
    expect(alert.text).toContain("182k tokens (91%)");
    expect(alert.disable_notification).toBe(false);
    const posts = fake.calls.filter((c) => c.method === "sendMessage");
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(posts[1]!.payload).toMatchObject({ chat_id: Number(feedChatId), message_thread_id: topicId, parse_mode: "HTML" });

    contextCycle(service, rt, [], "telegram", t0 + 60_000);
    await until(() => alert.edits === 1, "the resolve edit");
    expect(alert.text).toMatch(/resolved/i);
    expect(alert.reply_markup).toBeUndefined();
    expect(inTopic(fake)).toHaveLength(1);

    // /sessions all in the topic, answered from what the real scan of the fixture files stored.
    const stored = rt.sessions.list({ includeGone: true, limit: 3 });
    expect(stored.length).toBeGreaterThan(0);
    const before = inTopic(fake).length;
    fake.userMessage(member, "/sessions@asm_test_bot all", { chat: group, threadId: topicId });
    await until(() => inTopic(fake).length > before, "the /sessions reply");
    const list = inTopic(fake).slice(before);
    const listed = list.map((m) => m.text).join("\n");
    expect(listed).toMatch(/Sessions/);
    for (const s of stored) expect(listed).toContain(s.sessionId.slice(0, 8));

    // A stranger: one short refusal, nothing else.
    const beforeStranger = inTopic(fake).length;
    fake.userMessage(stranger, "/sessions", { chat: group, threadId: topicId });
    await until(() => inTopic(fake).length === beforeStranger + 1, "the refusal");
    expect(inTopic(fake).at(-1)!.text).toMatch(/not allowed/);

    // /restart_gateway → an approval message with buttons in the feed topic (where the admins are), and a short
    // answer pointing to it; the core learns where it landed.
    const beforeRequest = inTopic(fake).length;
    fake.userMessage(member, "/restart_gateway not answering", { chat: group, threadId: topicId });
    const sinceRequest = () => inTopic(fake).slice(beforeRequest);
    await until(() => sinceRequest().some((m) => /posted in this chat/.test(m.text)), "the answer to the request");
    const approval = sinceRequest().find((m) => /Approval needed/.test(m.text))! as StoredMessage;
    expect(approval.text).toMatch(/Restart the gateway/);
    const buttons = approval.reply_markup!.inline_keyboard.flat();
    const approve = buttons.find((b) => /approve/i.test(b.text))!.callback_data!;
    expect(Buffer.byteLength(approve)).toBeLessThanOrEqual(64);
    await until(() => service.manager.actionStore.get(1)!.messageRefs.length === 1, "the recorded approval message");
    expect(service.manager.actionStore.get(1)!.messageRefs[0]).toMatchObject({
      transport: "telegram",
      chatId: String(feedChatId),
      messageId: String(approval.message_id),
    });

    // A non-admin press: answered with a refusal, nothing runs, the buttons stay.
    const refused = fake.pressButton(member, approval, approve);
    const refusal = await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === refused);
    expect(refusal.payload.text).toMatch(/admin/i);
    expect(approval.reply_markup).toBeDefined();
    expect(runs(marker)).toBe(0);

    // The admin press: answered, the argv runs once, and the message ends with the verified outcome, no buttons.
    const pressed = fake.pressButton(admin, approval, approve);
    await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === pressed && c.status === 200);
    await until(() => !approval.reply_markup, "the buttons removed");
    await service.manager.actions.idle();
    await until(() => /succeeded/i.test(approval.text), "the outcome edit");
    expect(runs(marker)).toBe(1);
    expect(approval.text).toMatch(/gateway healthy/i);

    // A second press: answered, nothing runs again.
    const again = fake.pressButton(admin, approval, approve);
    const second = await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === again);
    await service.manager.actions.idle();
    expect(second.payload.text).toMatch(/already/i);
    expect(runs(marker)).toBe(1);
    expect(service.manager.actionStore.get(1)).toMatchObject({ status: "succeeded", decidedBy: `telegram:${admin.id}` });

    // Every press was answered exactly once; nothing we logged carries the token.
    expect(fake.calls.filter((c) => c.method === "answerCallbackQuery" && c.status !== 200)).toHaveLength(0);
    expect(log.text).not.toContain(fake.token);
    expect(log.text).not.toContain(fake.token.split(":")[1]);
  });

  it("a revoked token stops polling, logs a clear error without the token, and becomes a critical self alert", async () => {
    const { fake, service, log } = await start();
    fake.revokeToken();
    const telegram = service.transports[0]!;
    await until(() => typeof telegram.problem === "object" && telegram.problem?.kind === "unauthorized", "the problem");
    await service.monitoring.scheduler.runNow("cycle");
    const alert = service.monitoring.stores.alerts.open().find((a) => a.subject === "self:transport:telegram");
    expect(alert).toMatchObject({ check: "self", severity: "critical" });
    expect(alert!.summary).toMatch(/telegram: Telegram refused the bot token/);
    expect(log.text).toMatch(/refused the bot token/);
    expect(log.text).not.toContain(fake.token);
    expect(log.text).not.toContain(fake.token.split(":")[1]);
  });

  it("a bot kicked from the feed group: the alert waits in the outbox (not failed) and a critical self alert says what to fix", async () => {
    const { fake, rt, service, log } = await start();
    fake.removeBot(feedChatId, "kicked");
    contextCycle(service, rt, [criticalContext("kicked")], "telegram");
    const outbox = service.monitoring.stores.outbox;
    await until(() => outbox.all().some((r) => r.attempts > 0), "a delivery attempt");
    expect(outbox.all().map((r) => r.status)).toEqual(["pending"]);
    const telegram = service.transports[0]!;
    expect(telegram.problem).toMatchObject({ kind: "feed" });
    await service.monitoring.scheduler.runNow("cycle");
    const self = service.monitoring.stores.alerts.open().find((a) => a.subject === "self:transport:telegram");
    expect(self).toMatchObject({ check: "self", severity: "critical" });
    expect(self!.summary).toMatch(/kicked from the supergroup chat.*TELEGRAM_FEED_CHAT_ID/);
    expect(log.text).not.toContain(fake.token);
  });

  it("a burst larger than the group's budget arrives as one grouped message in the topic", async () => {
    // Grouping by the lifecycle is off here (groupAbove high): this is the outbox reacting to the budget.
    const { fake, rt, service, log } = await start({ telegram: { maxMessagesPerMinute: 3 }, alerts: { groupAbove: 100 } });
    const findings: Finding[] = Array.from({ length: 6 }, (_, i) => ({
      check: "context",
      subject: `claude::burst-${i}`,
      severity: "warning",
      summary: `claude burst-${i} context at 8${i}%`,
      component: `claude burst-${i}`,
      value: `8${i}%`,
      threshold: "80%",
      action: "Compact the session",
    }));
    contextCycle(service, rt, findings, "telegram");
    await until(() => inTopic(fake).length >= 1, "the grouped alert");
    await new Promise((r) => setTimeout(r, 300));
    const posted = inTopic(fake);
    expect(posted).toHaveLength(1);
    for (let i = 0; i < 6; i++) expect(posted[0]!.text).toContain(`burst-${i}`);
    expect(service.transports[0]!.sendBudget!()).toBe(2);
    expect(log.text).toMatch(/send budget short: merged pending alerts into one message/);
  });

  it("a fast action's result stays on the approval message (the late 'running…' edit does not overwrite it)", async () => {
    const { fake, group, rt, service } = await start();
    cpSync(jsonEra, rt.config.sources.openclaw.root, { recursive: true });
    await runScan(rt);
    const before = inTopic(fake).length;
    fake.userMessage(admin, "/cleanup", { chat: group, threadId: topicId });
    await until(
      () =>
        inTopic(fake)
          .slice(before)
          .some((m) => /posted in this chat/.test(m.text)),
      "the answer to the request",
    );
    const approval = inTopic(fake)
      .slice(before)
      .find((m) => /Approval needed/.test(m.text))! as StoredMessage;
    expect(approval.text).toMatch(/Clean up session store/);
    const approve = approval.reply_markup!.inline_keyboard.flat().find((b) => /approve/i.test(b.text))!.callback_data!;
    const pressed = fake.pressButton(admin, approval, approve);
    await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === pressed && c.status === 200);
    await service.manager.actions.idle();
    expect(service.manager.actionStore.get(1)).toMatchObject({ status: "succeeded" });
    // Stopping the transport waits for the button's handler, so every edit it makes has landed
    // (grammY's throttler held a late "running…" edit for seconds, then it overwrote the outcome).
    await service.transports[0]!.stop();
    expect(approval.text).toMatch(/succeeded/);
    expect(approval.reply_markup).toBeUndefined();
  });
});
