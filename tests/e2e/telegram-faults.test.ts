import { describe, expect, it, vi } from "vitest";
import { alertStores, processFindings } from "../../src/alerts/lifecycle.ts";
import { OutboxSender } from "../../src/alerts/outbox.ts";
import { feedTopicKey } from "../../src/chat/telegram/feed.ts";
import type { TelegramProblem } from "../../src/chat/telegram/transport.ts";
import { createLogger } from "../../src/lib/log.ts";
import { textView } from "../../src/messages/view.ts";
import { admin, cleanups, feedChatId, member, setup } from "../chat/telegram/harness.ts";

/**
 * What a real Bot API server does that is easy to get wrong: a second poller on the token, a bot
 * without the right to create topics, a configured topic someone deleted, a group upgraded to a
 * supergroup, and strings that are not valid UTF-8. Each case runs the real grammY client against
 * the fake server answering with Telegram's own status codes and descriptions.
 */

/** Another process long-polling with the same token, as a second asm or an OpenClaw gateway would. */
function otherPoller(apiRoot: string, token: string) {
  let running = true;
  const loop = (async () => {
    while (running) {
      await fetch(`${apiRoot}/bot${token}/getUpdates?who=other`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ timeout: 1 }),
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe("TelegramTransport against the real Bot API's behaviour", () => {
  it("409 from another poller: a clear log, backing off longer each time, no 'recovered' flapping; polling resumes once it stops", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const problems: (TelegramProblem | null)[] = [];
    t.transport.onProblem((p) => problems.push(p));
    const other = otherPoller(t.fake.apiRoot, t.fake.token);
    cleanups.push(() => other.stop());
    const ours = () => t.fake.calls.filter((c) => c.method === "getUpdates" && c.payload.who !== "other");
    await vi.waitFor(() => expect(t.transport.problem).toMatchObject({ kind: "conflict" }), { timeout: 5000 });
    const conflictAt = Date.now();
    const before = ours().length;
    await new Promise((r) => setTimeout(r, 3000));
    // reconnectMs is 200: with backoff that is 200 + 400 + 800 + 1600 ms, so at most 4 more polls in 3 s.
    expect(ours().length - before).toBeLessThanOrEqual(5);
    expect(
      problems.filter((p) => p === null),
      "the conflict never looked resolved while it lasted",
    ).toHaveLength(0);
    expect(t.transport.problem).toMatchObject({ kind: "conflict", message: expect.stringMatching(/409 Conflict.*stop the other/) });
    expect(t.log()).toMatch(/another process is polling Telegram with the same bot token/);
    expect(t.log()).not.toMatch(/telegram recovered/);
    expect(Date.now() - conflictAt).toBeGreaterThanOrEqual(3000);

    await other.stop();
    await vi.waitFor(() => expect(t.transport.problem).toBeNull(), { timeout: 10_000 });
    t.fake.userMessage(member, "/sessions");
    await t.fake.waitForCall("sendMessage", (c) => c.status === 200 && String(c.payload.chat_id) === String(member.id));
    expect(t.log()).not.toContain(t.fake.token);
  });

  it("a bot without the 'manage topics' right: one clear warning, alerts go to the General topic, no creation retried per alert", async () => {
    const t = await setup();
    t.fake.denyTopicRights(feedChatId);
    await t.transport.start(t.core.inbound);
    expect(t.log()).toMatch(/not enough rights to create a topic/);
    expect(t.log()).toMatch(/Manage topics/i);
    const first = await t.transport.send(textView("one"));
    const second = await t.transport.send(textView("two"));
    expect(first.threadId).toBeUndefined();
    expect(second.threadId).toBeUndefined();
    expect(t.fake.ok("sendMessage").map((c) => c.payload.message_thread_id)).toEqual([undefined, undefined]);
    expect(t.fake.calls.filter((c) => c.method === "createForumTopic")).toHaveLength(1);
    expect(t.kv.get(feedTopicKey) ?? null, "nothing remembered: the next start tries again").toBeNull();
  });

  it("a configured topic that was deleted: the failed alert is retryable, the next lands in the General topic, no endless failures", async () => {
    const t = await setup({ telegram: { feedTopicId: 77 } });
    t.fake.addTopic(feedChatId, 77, "alerts");
    await t.transport.start(t.core.inbound);
    await t.transport.send(textView("before"));
    t.fake.topics.get(feedChatId)!.delete(77);
    const failed = await t.transport.send(textView("lost?")).catch((e) => e);
    expect(failed).toMatchObject({ permanent: false, message: expect.stringMatching(/thread not found.*General topic/) });
    expect(t.log()).toMatch(/TELEGRAM_FEED_TOPIC_ID=77/);
    const ref = await t.transport.send(textView("found"));
    expect(ref.threadId).toBeUndefined();
    const last = t.fake.ok("sendMessage").at(-1)!;
    expect(last.payload).not.toHaveProperty("message_thread_id");
    expect(last.payload.text).toBe("found");
    expect(t.fake.ok("createForumTopic")).toHaveLength(0);
  });

  it("a feed group upgraded to a supergroup (Topics turned on): alerts follow migrate_to_chat_id and the log names the new id", async () => {
    const oldId = -4242;
    const newId = -1004242;
    const t = await setup({ telegram: { feedChatId: String(oldId) } });
    t.fake.addChat({ id: oldId, type: "group", title: "Ops" });
    await t.transport.start(t.core.inbound);
    t.fake.migrateChat(oldId, { id: newId, type: "supergroup", title: "Ops", is_forum: true });
    const failed = await t.transport.send(textView("moved?")).catch((e) => e);
    expect(failed).toMatchObject({ permanent: false, message: expect.stringMatching(/upgraded to a supergroup.*-1004242/) });
    expect(t.log()).toMatch(/TELEGRAM_FEED_CHAT_ID=-1004242/);
    const ref = await t.transport.send(textView("here"));
    expect(ref.chatId).toBe(String(newId));
    const topic = t.fake.ok("createForumTopic");
    expect(topic).toHaveLength(1);
    expect(ref.threadId).toBe(String(t.kv.get<{ topicId: number }>(feedTopicKey)!.topicId));
    // The new chat shares the group budget like the old id did.
    expect(t.transport.sendBudget()).toBe(19);
  });

  it("a toast whose 200th character falls inside an emoji is still answered (no lone surrogate sent)", async () => {
    const t = await setup({ forum: false });
    const toast = `${"x".repeat(199)}🔴 and more`;
    await t.transport.start({ ...t.core.inbound, button: async () => ({ toast }) });
    const ref = await t.transport.send({ title: "press", sections: [], buttons: [[{ label: "Go", data: "go" }]] });
    const message = t.fake.messagesIn(feedChatId).find((m) => String(m.message_id) === ref.messageId)!;
    const q = t.fake.pressButton(admin, message, "go");
    const answer = await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q);
    expect(answer.status).toBe(200);
    expect(answer.payload.text.length).toBeLessThanOrEqual(200);
    expect(answer.payload.text.startsWith("x".repeat(199))).toBe(true);
  });
});

describe("TelegramTransport with a token Telegram cannot use", () => {
  it("a malformed token (404 Not Found from getMe) is a token problem, not 'unreachable': a clear message and no retry loop", async () => {
    const t = await setup({ forum: false });
    const pasted = `bot${t.fake.token}`;
    const wrong = t.make({ token: pasted });
    cleanups.push(() => wrong.stop());
    await wrong.start(t.core.inbound);
    expect(wrong.problem).toMatchObject({ kind: "unauthorized", message: expect.stringMatching(/TELEGRAM_BOT_TOKEN/) });
    await new Promise((r) => setTimeout(r, 1000));
    expect(t.fake.calls.filter((c) => c.method === "getMe")).toHaveLength(1);
    expect(t.log()).toMatch(/404/);
    expect(t.log()).not.toContain(t.fake.token);
  });
});

describe("alerts queued while the Telegram token is malformed", () => {
  it("wait without spending attempts (a token problem is the transport's, not the message's) and go out once the right token is used", async () => {
    const t = await setup({ forum: false });
    const stores = alertStores(t.db);
    const wrong = t.make({ token: `bot${t.fake.token}` });
    cleanups.push(() => wrong.stop());
    // A send before the transport has connected (it connects in the background) is held back too.
    await expect(wrong.send(textView("early"))).rejects.toMatchObject({ permanent: false, transportDown: true });
    await wrong.start(t.core.inbound);
    let now = Date.now();
    processFindings(stores, [{ check: "context", subject: "s1", severity: "critical", summary: "s1 is at 97 %", component: "s1", action: "reset it" }], {
      now,
      config: { alerts: { repeatIntervalMinutes: 240, minFiringSeconds: 0, groupAbove: 100, resolveAfterMissedScans: 1 } },
      transports: ["telegram"],
    });
    const sender = (transport: typeof wrong) =>
      new OutboxSender({
        transports: [transport],
        outbox: stores.outbox,
        alerts: stores.alerts,
        // One attempt only: a token problem must not spend it.
        config: { outbox: { maxAttempts: 1, baseDelaySeconds: 1, maxDelaySeconds: 1, unknownFateWaitSeconds: 120, maxBlindRetries: 1 } },
        log: createLogger({ level: "silent" }),
        now: () => now,
      });
    expect(await sender(wrong).drainOnce()).toMatchObject({ sent: 0, failed: 0 });
    const [row] = stores.outbox.all();
    expect(row).toMatchObject({ status: "pending", attempts: 0, lastError: expect.stringMatching(/TELEGRAM_BOT_TOKEN/) });
    expect(t.fake.calls.filter((c) => c.method === "sendMessage")).toHaveLength(0);

    // Restarted with the token as BotFather gave it: the waiting alert is delivered.
    await t.transport.start(t.core.inbound);
    now += 10 * 60_000;
    expect(await sender(t.transport).drainOnce()).toMatchObject({ sent: 1, failed: 0 });
    expect(stores.outbox.all()[0]).toMatchObject({ status: "sent" });
    expect(t.fake.messagesIn(feedChatId).map((m) => m.text)).toEqual([expect.stringMatching(/s1 is at 97 %/)]);
  });
});

describe("TelegramTransport when the feed chat refuses the bot", () => {
  it("a bot kicked from the feed group: alerts wait in the outbox, a 'feed' problem says what to fix, and it clears once the bot is back", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const problems: (TelegramProblem | null)[] = [];
    t.transport.onProblem((p) => problems.push(p));
    await t.transport.send(textView("before"));
    t.fake.removeBot(feedChatId, "kicked");
    const failed = await t.transport.send(textView("while kicked")).catch((e) => e);
    expect(failed).toMatchObject({ permanent: false, message: expect.stringMatching(/403: Forbidden: bot was kicked from the supergroup chat/) });
    expect(failed.retryAfterMs).toBeGreaterThanOrEqual(60_000);
    expect(t.transport.problem).toMatchObject({
      kind: "feed",
      message: expect.stringMatching(/kicked from the supergroup chat.*TELEGRAM_FEED_CHAT_ID/),
    });
    // A reply into some other chat that refuses the bot is not a feed problem.
    t.fake.addChat({ id: 900, type: "private", first_name: "x" });
    t.fake.removeBot(900);
    await expect(t.transport.send(textView("dm"), { chatId: "900" })).rejects.toMatchObject({ permanent: true });
    expect(t.transport.problem).toMatchObject({ kind: "feed" });

    t.fake.restoreBot(feedChatId);
    await t.transport.send(textView("back"));
    expect(t.transport.problem).toBeNull();
    expect(problems.map((p) => p?.kind ?? null)).toEqual(["feed", null]);
    expect(t.fake.messagesIn(feedChatId).map((m) => m.text)).toEqual(["before", "back"]);
  });

  it("a feed chat the bot cannot look up at start (kicked before asm started) is a 'feed' problem, not an endless 'not ready yet'", async () => {
    const t = await setup();
    t.fake.removeBot(feedChatId, "left");
    await t.transport.start(t.core.inbound);
    expect(t.transport.problem, "reported at start, before any alert").toMatchObject({ kind: "feed" });
    const failed = await t.transport.send(textView("anyone?")).catch((e) => e);
    expect(failed).toMatchObject({ permanent: false, message: expect.stringMatching(/not a member of the supergroup chat/) });
    expect(t.transport.problem).toMatchObject({ kind: "feed", message: expect.stringMatching(/not a member.*TELEGRAM_FEED_CHAT_ID/) });
    t.fake.restoreBot(feedChatId);
    const ref = await t.transport.send(textView("found"));
    expect(ref.threadId).toBeDefined();
    expect(t.transport.problem).toBeNull();
  });
});

describe("TelegramTransport and button presses the real API delivers", () => {
  it("a press on a message the bot can no longer see (InaccessibleMessage, date 0) is answered and the outcome arrives as a new message", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const ref = await t.transport.send({ title: "approve?", sections: [], buttons: [[{ label: "Go", data: "a:1:0123456789abcdef:y" }]] });
    const message = t.fake.messagesIn(feedChatId).find((m) => String(m.message_id) === ref.messageId)!;
    t.fake.deleteMessage(message);
    const q = t.fake.pressButton(admin, message, "a:1:0123456789abcdef:y", { inaccessible: true });
    const answer = await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q);
    expect(answer).toMatchObject({ status: 200, payload: { text: "Approved" } });
    expect(t.core.buttons[0]!.message).toMatchObject({ chatId: String(feedChatId), messageId: ref.messageId });
    await t.fake.waitForCall("editMessageText", (c) => c.status === 400);
    const reply = await t.fake.waitForCall("sendMessage", (c) => c.status === 200 && /approved by @ada/.test(String(c.payload.text)));
    expect(String(reply.payload.chat_id)).toBe(String(feedChatId));
  });
});

describe("TelegramTransport when a webhook is set for its token", () => {
  it("409 'webhook is active' says so (not 'another process is polling'), and asm deletes it and polls again", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    t.fake.setWebhook("https://example.invalid/hook");
    await t.fake.waitForCall("getUpdates", (c) => c.status === 409);
    await vi.waitFor(() => expect(t.log()).toMatch(/a webhook is set for this bot token/), { timeout: 5000 });
    expect(t.log()).not.toMatch(/another process is polling/);
    await vi.waitFor(() => expect(t.fake.ok("deleteWebhook")).toHaveLength(2), { timeout: 5000 });
    t.fake.userMessage(member, "/sessions");
    await t.fake.waitForCall("sendMessage", (c) => c.status === 200 && String(c.payload.chat_id) === String(member.id));
    expect(t.transport.problem).toBeNull();
  });
});

describe("TelegramTransport while the Bot API asks it to wait", () => {
  it("a 429 on getMe longer than auto-retry waits (the server restarting) is honoured before reconnecting", async () => {
    const t = await setup({ forum: false });
    t.fake.fail("getMe", { status: 429, description: "Too Many Requests: retry after 31", retryAfter: 31 });
    await t.transport.start(t.core.inbound);
    expect(t.transport.problem).toMatchObject({ kind: "unreachable", message: expect.stringMatching(/429/) });
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      t.fake.calls.filter((c) => c.method === "getMe"),
      "no new attempt before retry_after",
    ).toHaveLength(1);
    expect(t.log()).toMatch(/"retryInMs":31000/);
  });
});
