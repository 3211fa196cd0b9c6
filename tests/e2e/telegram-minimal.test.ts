import { describe, expect, it } from "vitest";
import { feedTopicKey } from "../../src/chat/telegram/feed.ts";
import { textView } from "../../src/messages/view.ts";
import { feedChatId, member, setup } from "../chat/telegram/harness.ts";
import { minimalMethods } from "../fakes/telegram-api.ts";

/**
 * A Bot API server that knows only the methods the bot strictly needs (getMe, getUpdates, sendMessage,
 * the edits, answerCallbackQuery, setMyCommands, createForumTopic) and answers 404 "Not Found" for the
 * rest, as the real server does for a method it does not know: no deleteWebhook, no getChat.
 */
describe("TelegramTransport on a minimal Bot API server", () => {
  it("polls without deleteWebhook, answers commands, and finds the forum by creating the topic", async () => {
    const t = await setup({ methods: minimalMethods });
    await t.transport.start(t.core.inbound);
    expect(t.fake.calls.find((c) => c.method === "deleteWebhook")?.status).toBe(404);
    const ref = await t.transport.send(textView("gateway down"));
    const [topic] = t.fake.ok("createForumTopic");
    expect(topic).toBeDefined();
    const sent = t.fake.ok("sendMessage").at(-1)!;
    expect(sent.payload).toMatchObject({ chat_id: feedChatId, text: "gateway down" });
    expect(sent.payload.message_thread_id).toBe(Number(ref.threadId));
    expect(Number(ref.threadId)).toBeGreaterThan(1);
    expect(t.kv.get<{ topicId: number }>(feedTopicKey)?.topicId).toBe(Number(ref.threadId));

    t.fake.userMessage(member, "/sessions");
    const reply = await t.fake.waitForCall("sendMessage", (c) => String(c.payload.text).includes("you ran /sessions"));
    expect(reply.payload.chat_id).toBe(member.id);
    expect(t.core.commands.map((c) => c.name)).toEqual(["sessions"]);
  });

  it("a plain group (createForumTopic refused as not a forum) gets alerts in the chat itself, asked once", async () => {
    const t = await setup({ methods: minimalMethods, forum: false });
    await t.transport.start(t.core.inbound);
    const first = await t.transport.send(textView("one"));
    const second = await t.transport.send(textView("two"));
    expect(first.threadId).toBeUndefined();
    expect(second.threadId).toBeUndefined();
    expect(t.fake.ok("sendMessage").map((c) => c.payload.message_thread_id)).toEqual([undefined, undefined]);
    expect(t.fake.calls.filter((c) => c.method === "createForumTopic")).toHaveLength(1);
    expect(t.log()).toMatch(/takes no new topic/);
    expect(t.transport.problem).toBeNull();
  });

  it("a sent message answered without its chat still counts as delivered (no error, so no second send)", async () => {
    const t = await setup({ forum: false, leanMessages: true });
    await t.transport.start(t.core.inbound);
    const ref = await t.transport.send(textView("one"));
    expect(ref).toMatchObject({ transport: "telegram", chatId: String(feedChatId) });
    expect(Number(ref.messageId)).toBeGreaterThan(0);
    expect(t.fake.ok("sendMessage")).toHaveLength(1);
  });
});
