import { describe, expect, it, vi } from "vitest";
import { feedTopicKey } from "../../../src/chat/telegram/feed.ts";
import { telegramProblemKey } from "../../../src/chat/telegram/transport.ts";
import { DeliveryError } from "../../../src/messages/transport.ts";
import { textView, type View } from "../../../src/messages/view.ts";
import { FakeTelegramApi } from "../../fakes/telegram-api.ts";
import { admin, cleanups, feedChatId, member, setup, stranger } from "./harness.ts";

describe("TelegramTransport against a Bot API server on loopback", () => {
  it("on start: getMe, the command menus by scope, and a feed topic created once and remembered", async () => {
    const t = await setup();
    await t.transport.start(t.core.inbound);
    expect(t.fake.ok("getMe")).toHaveLength(1);
    expect(t.fake.ok("deleteWebhook")).toHaveLength(1);
    expect(t.fake.commands.get(JSON.stringify({ type: "default" }))!.map((c) => c.command)).toEqual(["sessions"]);
    expect(t.fake.commands.get(JSON.stringify({ type: "chat_member", chat_id: feedChatId, user_id: admin.id }))!.map((c) => c.command)).toEqual([
      "sessions",
      "approve_me",
    ]);
    // The admin never opened a DM with the bot: that scope fails, and is only logged.
    expect(t.log()).toContain("could not set the command menu");
    const topics = t.fake.ok("createForumTopic");
    expect(topics).toHaveLength(1);
    expect(topics[0]!.payload.name).toBe("Agent alerts");
    const stored = t.kv.get<{ topicId: number }>(feedTopicKey);
    expect(stored?.topicId).toBeGreaterThan(0);
    await t.transport.stop();

    const again = t.make();
    cleanups.push(() => again.stop());
    await again.start(t.core.inbound);
    const ref = await again.send({ title: "hello", sections: [] });
    expect(t.fake.ok("createForumTopic")).toHaveLength(1);
    expect(ref.threadId).toBe(String(stored!.topicId));
  });

  it("a deleted feed topic is recreated: the failed send is retryable, the next one lands in the new topic", async () => {
    const t = await setup();
    await t.transport.start(t.core.inbound);
    const first = t.kv.get<{ topicId: number }>(feedTopicKey)!.topicId;
    t.fake.topics.get(feedChatId)!.delete(first);
    const failed = await t.transport.send(textView("lost?")).catch((e) => e);
    expect(failed).toMatchObject({ permanent: false, message: expect.stringMatching(/thread not found.*new topic/) });
    const ref = await t.transport.send(textView("found"));
    const second = t.kv.get<{ topicId: number }>(feedTopicKey)!.topicId;
    expect(second).not.toBe(first);
    expect(ref.threadId).toBe(String(second));
    expect(t.fake.ok("createForumTopic")).toHaveLength(2);
  });

  it("TELEGRAM_FEED_TOPIC_ID=1 (the General topic) posts without message_thread_id", async () => {
    const t = await setup({ telegram: { feedTopicId: 1 } });
    await t.transport.start(t.core.inbound);
    await t.transport.send(textView("general"));
    expect(t.fake.ok("sendMessage")[0]!.payload).not.toHaveProperty("message_thread_id");
    expect(t.fake.ok("createForumTopic")).toHaveLength(0);
  });

  it("a plain group gets no topic and no message_thread_id", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const ref = await t.transport.send(textView("plain"));
    expect(ref.threadId).toBeUndefined();
    expect(t.fake.ok("sendMessage")[0]!.payload).not.toHaveProperty("message_thread_id");
    expect(t.fake.ok("createForumTopic")).toHaveLength(0);
  });

  it("posts alerts into the feed topic as HTML, silent unless critical, and edits them in place", async () => {
    const t = await setup({ telegram: { feedTopicId: 77 } });
    t.fake.addTopic(feedChatId, 77, "alerts");
    await t.transport.start(t.core.inbound);
    const critical: View = {
      title: "Gateway <down>",
      tone: "critical",
      sections: [{ lines: ["no answer from http://127.0.0.1:1 & retrying"] }],
      buttons: [[{ label: "Restart", data: "a:9:00000000000000aa:y" }]],
    };
    const ref = await t.transport.send(critical);
    expect(ref).toMatchObject({ transport: "telegram", chatId: String(feedChatId), threadId: "77" });
    const sent = t.fake.ok("sendMessage")[0]!.payload;
    expect(sent).toMatchObject({ chat_id: feedChatId, message_thread_id: 77, parse_mode: "HTML", disable_notification: false });
    expect(sent.text).toContain("🔴 <b>Gateway &lt;down&gt;</b>");
    expect(sent.reply_markup.inline_keyboard[0][0].callback_data).toBe("a:9:00000000000000aa:y");

    await t.transport.send({ title: "Context at 71%", tone: "info", sections: [] });
    expect(t.fake.ok("sendMessage")[1]!.payload.disable_notification).toBe(true);

    const resolved: View = { title: "Resolved: gateway up", tone: "ok", sections: [{ lines: ["back after 2 min"] }] };
    await t.transport.edit(ref, resolved);
    const msg = t.fake.messagesIn(feedChatId)[0]!;
    expect(msg.text).toContain("Resolved: gateway up");
    expect(msg.reply_markup, "an edit without buttons removes them").toBeUndefined();
    // Editing to the same content again: Telegram says "not modified", which is success.
    await expect(t.transport.edit(ref, resolved)).resolves.toBeUndefined();
    expect(t.fake.calls.filter((c) => c.method === "editMessageText" && c.status === 400)).toHaveLength(1);
  });

  it("answers commands from allowed users in a DM and in a group topic (/cmd@Bot), refuses strangers, ignores other bots", async () => {
    const t = await setup({ telegram: { feedTopicId: 77 } });
    t.fake.addTopic(feedChatId, 77);
    await t.transport.start(t.core.inbound);
    const group = t.fake.chats.get(feedChatId)!;

    t.fake.userMessage(member, "/sessions claude all");
    const dm = await t.fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(member.id));
    expect(dm.payload.text).toBe("you ran /sessions claude all &amp; &lt;got&gt; this");
    expect(t.core.commands[0]).toMatchObject({ name: "sessions", args: ["claude", "all"], caller: { userId: "502", allowed: true, admin: false } });

    t.fake.userMessage(admin, "/sessions@asm_test_bot", { chat: group, threadId: 77 });
    const inTopic = await t.fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(feedChatId));
    expect(inTopic.payload.message_thread_id).toBe(77);
    expect(inTopic.payload.reply_parameters.message_id).toBeGreaterThan(0);
    expect(t.core.commands[1]!.caller).toMatchObject({ admin: true, chatId: String(feedChatId) });

    t.fake.userMessage(admin, "/sessions@some_other_bot", { chat: group });
    t.fake.userMessage(admin, "/weather", { chat: group });
    t.fake.userMessage(stranger, "/sessions");
    const refusal = await t.fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(stranger.id));
    expect(refusal.payload.text).toMatch(/not allowed/);
    // Anonymous group admins post as the chat: that proves nothing about the person.
    t.fake.userMessage(admin, "/sessions", { chat: group, senderChat: group });
    await t.fake.waitForCount("sendMessage", 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.core.commands).toHaveLength(2);
    const last = t.fake.ok("sendMessage")[3]!;
    expect(String(last.payload.chat_id)).toBe(String(feedChatId));
    expect(last.payload.text).toMatch(/not allowed/);
    expect(t.fake.ok("sendMessage")).toHaveLength(4);
  });

  it("answers every button press, refuses strangers before the core sees them, and edits with the outcome", async () => {
    const t = await setup({ telegram: { feedTopicId: 77 } });
    t.fake.addTopic(feedChatId, 77);
    await t.transport.start(t.core.inbound);
    t.fake.userMessage(admin, "/approve_me");
    await t.fake.waitForCall("sendMessage", (c) => Boolean(c.payload.reply_markup));
    await t.fake.waitForCount("sendMessage", 1);
    const request = t.fake.messagesIn(admin.id)[0]!;
    expect(request.reply_markup!.inline_keyboard[0]!.map((b) => b.text)).toEqual(["Approve", "Deny"]);
    await vi.waitFor(() => expect(t.core.delivered).toHaveLength(1));
    expect(t.core.delivered).toEqual([{ key: "action:1", ref: { transport: "telegram", chatId: String(admin.id), messageId: String(request.message_id) } }]);

    const q1 = t.fake.pressButton(stranger, request, "a:1:0123456789abcdef:y");
    await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q1);
    expect(t.fake.ok("answerCallbackQuery")[0]!.payload.text).toMatch(/not allowed/);
    expect(t.core.buttons).toHaveLength(0);

    const q2 = t.fake.pressButton(member, request, "a:1:0123456789abcdef:y");
    const answered = await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q2);
    expect(answered.payload.text).toBe("Only admins can approve.");
    expect(t.fake.ok("editMessageText")).toHaveLength(0);

    const q3 = t.fake.pressButton(admin, request, "a:1:0123456789abcdef:y");
    await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q3);
    await t.fake.waitForCount("editMessageText", 1);
    const edited = t.fake.messagesIn(admin.id)[0]!;
    expect(edited.text).toContain("approved by @ada");
    expect(edited.reply_markup).toBeUndefined();
    expect(t.core.buttons.map((b) => b.caller.userId)).toEqual(["502", "501"]);
    expect(t.core.buttons[1]!.message).toMatchObject({ chatId: String(admin.id), messageId: String(request.message_id) });
  });

  it("a slow button is answered with 'Working…' first, then the message shows the outcome", async () => {
    const t = await setup({ transport: { answerWithinMs: 100 } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await t.transport.start({
      ...t.core.inbound,
      async button() {
        await gate;
        return { toast: "late toast", edit: textView("done after a while") };
      },
    });
    const ref = await t.transport.send({ title: "approve?", sections: [], buttons: [[{ label: "Go", data: "go" }]] });
    const message = t.fake.messagesIn(feedChatId).find((m) => String(m.message_id) === ref.messageId)!;
    const q = t.fake.pressButton(admin, message, "go");
    const answer = await t.fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === q);
    expect(answer.payload.text).toBe("Working…");
    release();
    await t.fake.waitForCount("editMessageText", 1);
    expect(t.fake.messagesIn(feedChatId)[0]!.text).toBe("done after a while");
    expect(t.fake.ok("answerCallbackQuery")).toHaveLength(1);
  });

  it("a 429 burst on sendMessage: every alert is still delivered exactly once, after retry_after", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    t.fake.fail("sendMessage", { status: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 }, 3);
    const alerts = Array.from({ length: 5 }, (_, i) => ({ title: `alert ${i}`, tone: "warning" as const, sections: [] }));
    await Promise.all(alerts.map((a) => t.transport.send(a)));
    const texts = t.fake.messagesIn(feedChatId).map((m) => m.text);
    expect(texts.sort()).toEqual(alerts.map((a) => `🟠 ${a.title}`).sort());
    const rejected = t.fake.calls.filter((c) => c.method === "sendMessage" && c.status === 429);
    expect(rejected).toHaveLength(3);
    const firstRetry = t.fake.ok("sendMessage").find((c) => c.payload.text === rejected[0]!.payload.text)!;
    expect(firstRetry.at - rejected[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it("turns failures into DeliveryError for the outbox: long 429 → retryAfterMs, 4xx → permanent, 5xx → retry", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    t.fake.fail("sendMessage", { status: 429, description: "Too Many Requests: retry after 40", retryAfter: 40 });
    const long = await t.transport.send(textView("x")).catch((e) => e);
    expect(long).toBeInstanceOf(DeliveryError);
    expect(long).toMatchObject({ retryAfterMs: 40_000, permanent: false });

    t.fake.fail("sendMessage", { status: 502, description: "Bad Gateway" });
    const bad = await t.transport.send(textView("x")).catch((e) => e);
    expect(bad).toMatchObject({ permanent: false });

    const nowhere = await t.transport.send(textView("x"), { chatId: "-42" }).catch((e) => e);
    expect(nowhere).toMatchObject({ permanent: true, message: expect.stringMatching(/chat not found/) });

    const gone = await t.transport.edit({ transport: "telegram", chatId: String(feedChatId), messageId: "99999" }, textView("x")).catch((e) => e);
    expect(gone).toMatchObject({ permanent: true, message: expect.stringMatching(/message to edit not found/) });

    const tooLong = await t.transport.send({ sections: [{ lines: ["x"] }], buttons: [[{ label: "b", data: "x".repeat(65) }]] }).catch((e) => e);
    expect(tooLong).toMatchObject({ permanent: true });
    expect(t.fake.calls.some((c) => c.status === 400 && /BUTTON_DATA_INVALID/.test(JSON.stringify(c)))).toBe(false);

    // A slow server: the feed client gives up after its timeout and the outbox keeps the alert.
    t.fake.slow("sendMessage", 2500);
    const slow = await t.transport.send(textView("slow")).catch((e) => e);
    expect(slow).toMatchObject({ permanent: false, message: expect.stringMatching(/sendMessage/) });
    expect(t.log()).not.toContain(t.fake.token);
  });

  it("long views are split within 4096 characters, never inside a tag, buttons on the last part", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const lines = Array.from({ length: 600 }, (_, i) => `<b>session</b> ${i} & "quotes" ${"·".repeat(i % 23)}`);
    const ref = await t.transport.send({
      title: "All sessions",
      sections: [
        { heading: "Sessions", lines },
        { pre: true, lines },
      ],
      buttons: [[{ label: "More", data: "pg:t:2" }]],
    });
    const parts = t.fake.messagesIn(feedChatId);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.raw.length).toBeLessThanOrEqual(4096);
    expect(parts.at(-1)!.reply_markup).toBeDefined();
    expect(parts.slice(0, -1).every((p) => !p.reply_markup)).toBe(true);
    expect(ref.messageId).toBe(String(parts.at(-1)!.message_id));
    const all = parts.map((p) => p.text).join("\n");
    for (const line of lines) expect(all.split(line).length - 1).toBe(2);
  });

  it("respects the per-group budget: sendBudget() counts feed messages and a send over it waits", async () => {
    const t = await setup({ forum: false, telegram: { maxMessagesPerMinute: 3 } });
    await t.transport.start(t.core.inbound);
    expect(t.transport.sendBudget()).toBe(3);
    for (let i = 0; i < 3; i++) await t.transport.send(textView(`a${i}`));
    expect(t.transport.sendBudget()).toBe(0);
    const over = await t.transport.send(textView("a3")).catch((e) => e);
    expect(over).toBeInstanceOf(DeliveryError);
    expect(over.retryAfterMs).toBeGreaterThan(50_000);
    expect(t.fake.ok("sendMessage")).toHaveLength(3);
    // Other chats do not share the group's budget.
    t.fake.addChat({ id: 900, type: "private", first_name: "x" });
    await expect(t.transport.send(textView("dm"), { chatId: "900" })).resolves.toMatchObject({ chatId: "900" });
  });

  it("replies into the feed group share its budget: a reply over it waits until the window frees", async () => {
    const t = await setup({ forum: false, telegram: { maxMessagesPerMinute: 2 }, transport: { budgetWindowMs: 1500 } });
    await t.transport.start(t.core.inbound);
    await t.transport.send(textView("a1"));
    await t.transport.send(textView("a2"));
    const lastAlert = t.fake.ok("sendMessage")[1]!;
    t.fake.userMessage(member, "/sessions", { chat: t.fake.chats.get(feedChatId)! });
    const reply = await t.fake.waitForCall("sendMessage", (c) => /you ran/.test(String(c.payload.text)));
    expect(reply.at - t.fake.ok("sendMessage")[0]!.at).toBeGreaterThanOrEqual(1400);
    expect(reply.at).toBeGreaterThan(lastAlert.at);
    await vi.waitFor(() => expect(t.transport.sendBudget()).toBe(1));
  });

  it("a revoked token: no crash, polling stops, a clear problem without the token in the log", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    const problems: unknown[] = [];
    t.transport.onProblem((p) => problems.push(p));
    t.fake.revokeToken();
    await t.fake.waitForCall("getUpdates", (c) => c.status === 401);
    const until = Date.now() + 5000;
    while (!t.transport.problem && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(t.transport.problem).toMatchObject({ kind: "unauthorized" });
    expect(t.kv.get(telegramProblemKey)).toMatchObject({ kind: "unauthorized", message: expect.stringMatching(/TELEGRAM_BOT_TOKEN/) });
    expect(problems).toHaveLength(1);
    const polls = t.fake.calls.filter((c) => c.method === "getUpdates").length;
    await new Promise((r) => setTimeout(r, 500));
    expect(t.fake.calls.filter((c) => c.method === "getUpdates").length, "polling stopped").toBe(polls);
    const send = await t.transport.send(textView("still here?")).catch((e) => e);
    expect(send).toMatchObject({ permanent: false });
    expect(t.log()).toMatch(/refused the bot token/);
    expect(t.log()).not.toContain(t.fake.token);
    expect(t.log()).not.toContain(t.fake.token.split(":")[1]);
  });

  it("a 429 storm on getUpdates and on replies: polling recovers and the command is still answered once", async () => {
    const t = await setup({ forum: false });
    await t.transport.start(t.core.inbound);
    t.fake.fail("getUpdates", { status: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 }, 3);
    t.fake.fail("sendMessage", { status: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 }, 2);
    await t.fake.waitForCall("getUpdates", (c) => c.status === 429);
    t.fake.userMessage(member, "/sessions");
    await t.fake.waitForCall("sendMessage", (c) => c.status === 200 && String(c.payload.chat_id) === String(member.id), 15_000);
    expect(t.core.commands).toHaveLength(1);
    expect(t.fake.ok("sendMessage")).toHaveLength(1);
    expect(t.transport.problem).toBeNull();
  });

  it("starts even when Telegram is unreachable, and connects once it is back", async () => {
    const gone = await FakeTelegramApi.start();
    const port = Number(new URL(gone.apiRoot).port);
    await gone.close();
    const t = await setup({ forum: false, telegram: { apiRoot: `http://127.0.0.1:${port}` } });
    await t.transport.start(t.core.inbound);
    expect(t.transport.problem).toMatchObject({ kind: "unreachable" });
    expect(t.kv.get(telegramProblemKey)).toMatchObject({ kind: "unreachable" });
    const back = await FakeTelegramApi.start({ port, maxPollMs: 2000 });
    back.addChat({ id: feedChatId, type: "supergroup", title: "Ops" });
    cleanups.push(() => back.close());
    await back.waitForCall("getUpdates", () => true, 10_000);
    expect(t.transport.problem).toBeNull();
    back.userMessage(member, "/sessions");
    await back.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(member.id));
    expect(t.log()).toMatch(/cannot reach Telegram/);
    expect(t.log()).not.toContain(t.fake.token);
  });
});
