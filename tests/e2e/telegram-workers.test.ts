import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { refusalText } from "../../src/chat/refusal.ts";
import type { FakeUser, StoredMessage } from "../fakes/telegram-api.ts";
import { until } from "../helpers/e2e.ts";
import { alertsTopic, feedChatId, startTelegramWorkers } from "../helpers/telegram-workers.ts";
import { tempDir } from "../helpers/tmp.ts";

const admin: FakeUser = { id: 7001, first_name: "Ada", username: "ada" };
const member: FakeUser = { id: 7002, first_name: "Bob", username: "bob" };
const stranger: FakeUser = { id: 7666, first_name: "Eve" };
const agentCli = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const exchange = (s: string) => fileURLToPath(new URL(`../fixtures/streams/claude/${s}.exchange.jsonl`, import.meta.url));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/**
 * `asm run` with TELEGRAM_BOT_TOKEN set, a forum supergroup as the feed, and a Claude worker driver that is the
 * fake agent CLI replaying a recorded Claude Code exchange (it exits 97 when what asm writes on its stdin
 * differs from the recording, so a wrong answer to a permission prompt cannot pass).
 */
async function start(scenario: "tool-allow" | "tool-deny", options: { forum?: boolean; topicRights?: boolean } = {}) {
  const stdinLog = join(tempDir("asm-tg-workers-log-"), "stdin.log");
  const env = { FAKE_EXCHANGE: exchange(scenario), FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog };
  const world = await startTelegramWorkers(closers, {
    prefix: "asm-tg-workers-",
    admin,
    allowed: [member],
    runner: { drivers: { claude: { command: [process.execPath, agentCli], env } } },
    ...options,
  });
  const stdinLines = () =>
    readFileSync(stdinLog, "utf8")
      .split("\n")
      .filter(Boolean)
      // biome-ignore lint/suspicious/noExplicitAny: stream-json lines as the CLI received them
      .map((l) => JSON.parse(l) as Record<string, any>);
  return { ...world, stdinLines };
}

/** An admin's `/spawn` of w1 in the alerts topic, up to its permission prompt in the topic asm opened for it. */
async function spawnedAsking(scenario: "tool-allow" | "tool-deny") {
  const world = await start(scenario);
  const { fake, group, topicOf, inThread } = world;
  fake.userMessage(admin, "/spawn claude app USE_SHELL: write a file", { chat: group, threadId: alertsTopic });
  await until(() => topicOf("w1") !== undefined, "the worker's topic");
  const topic = topicOf("w1")!;
  await until(() => inThread(topic).some((m) => /w1 asks permission/.test(m.text)), "the permission prompt in the topic");
  const ask = inThread(topic).find((m) => /w1 asks permission/.test(m.text))!;
  return { ...world, topic, ask };
}

const buttonData = (m: StoredMessage, label: string) => m.reply_markup!.inline_keyboard.flat().find((b) => b.text === label)!.callback_data!;

describe("Telegram workers end to end: a topic per worker, its prompts, buttons, result and replies", () => {
  it("/spawn opens a topic; the permission prompt there is refused to a non-admin and allowed by the admin; the result lands there; a plain-text reply is the next turn", async () => {
    const { fake, group, workers, topicOf, inThread, stdinLines, log } = await start("tool-allow");

    fake.userMessage(admin, "/spawn claude app USE_SHELL: write a file", { chat: group, threadId: alertsTopic });
    await until(() => inThread(alertsTopic).some((m) => /w1 started/.test(m.text)), "the spawn reply in the alerts topic");

    // A topic of its own, named after the workspace and the prompt.
    await until(() => topicOf("w1") !== undefined, "the worker's topic");
    const topic = topicOf("w1")!;
    expect(fake.topics.get(feedChatId)!.get(topic)).toBe("w1 app: USE_SHELL: write a file");
    expect(fake.ok("createForumTopic")).toHaveLength(1);
    expect(workers.store.get("w1")!.threads).toEqual([{ transport: "telegram", chatId: String(feedChatId), threadId: String(topic) }]);

    // The permission prompt arrives in that topic with Allow / Deny, not in the alerts topic.
    await until(() => inThread(topic).some((m) => /w1 asks permission/.test(m.text)), "the permission prompt in the topic");
    const ask = inThread(topic).find((m) => /w1 asks permission/.test(m.text))!;
    expect(ask.text).toContain("tool Bash");
    expect(ask.reply_markup!.inline_keyboard.flat().map((b) => b.text)).toEqual(["Allow", "Deny"]);
    expect(inThread(alertsTopic).some((m) => /asks permission/.test(m.text))).toBe(false);
    const allow = buttonData(ask, "Allow");

    // A non-admin's press is refused; the prompt keeps its buttons and the CLI still waits.
    const refused = fake.pressButton(member, ask, allow);
    const refusal = await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === refused);
    expect(refusal.payload.text).toMatch(/only an admin/i);
    expect(ask.reply_markup).toBeDefined();
    expect(workers.store.get("w1")!.status).toBe("waiting-for-input");

    // The admin's Allow answers the CLI (the fake would exit 97 on a wrong answer) and the worker completes.
    const pressed = fake.pressButton(admin, ask, allow);
    const answered = await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === pressed);
    expect(answered.payload.text).toBe("Allowed.");
    await until(() => workers.store.get("w1")!.status === "completed", "w1 completed", 15_000);
    expect(workers.store.get("w1")!.exitCode).toBe(0);
    expect(stdinLines()[1]!.response.response.behavior).toBe("allow");
    await until(() => !ask.reply_markup, "the prompt's buttons removed");
    expect(ask.text).toMatch(/Allowed by telegram:7001/);

    // The status message and the result are in the topic; nothing about w1 went to the alerts topic but the spawn reply.
    await until(() => inThread(topic).some((m) => /completed/.test(m.text) && m.reply_markup !== undefined), "the result in the topic");
    const result = inThread(topic).find((m) => /completed/.test(m.text) && m.reply_markup)!;
    expect(result.text).toMatch(/w1 · Claude Code · app/);
    expect(result.text).toMatch(/Answer/);
    expect(result.reply_markup!.inline_keyboard.flat().map((b) => b.text)).toEqual(["Resume", "Show output"]);
    const status = inThread(topic)[0]!;
    expect(status.text).toMatch(/w1 · Claude Code · app/);
    expect(status.disable_notification).toBe(true);
    expect(
      inThread(alertsTopic)
        .filter((m) => /\bw1\b/.test(m.text))
        .map((m) => m.text),
    ).toEqual([expect.stringMatching(/w1 started/)]);

    // Text in the worker's topic from a stranger: the refusal; from an allowed non-admin: the admin note; nothing is sent to the CLI.
    const before = inThread(topic).length;
    fake.userMessage(stranger, "rm -rf everything", { chat: group, threadId: topic });
    fake.userMessage(member, "please continue", { chat: group, threadId: topic });
    await until(() => inThread(topic).length >= before + 2, "the two refusals");
    const refusals = inThread(topic)
      .slice(before)
      .map((m) => m.text);
    expect(refusals).toContain(refusalText);
    expect(refusals).toContain("Only an admin can send w1 its next turn.");
    expect(workers.store.get("w1")!.status).toBe("completed");

    // Text in a topic that is not a worker's is not asm's business: no answer.
    const alertsBefore = inThread(alertsTopic).length;
    fake.userMessage(admin, "just chatting", { chat: group, threadId: alertsTopic });

    // The admin's plain text in the topic is w1's next turn: the session resumes with it, in the same topic.
    fake.userMessage(admin, "now also list the files", { chat: group, threadId: topic });
    await until(() => inThread(topic).some((m) => m.text === "↪ w1: sent as its next turn."), "the acknowledgement");
    const secondAsk = () => inThread(topic).find((m) => /w1 asks permission/.test(m.text) && m.message_id !== ask.message_id);
    await until(() => secondAsk() !== undefined, "the second turn's prompt in the topic");
    const ask2 = secondAsk()!;
    fake.pressButton(admin, ask2, buttonData(ask2, "Allow"));
    await until(() => workers.store.get("w1")!.turns === 2 && workers.store.get("w1")!.status === "completed", "the second turn completed", 15_000);
    expect(
      stdinLines()
        .filter((l) => l.type === "user")
        .map((l) => l.message.content),
    ).toEqual(["USE_SHELL: write a file", "now also list the files"]);
    expect(fake.ok("createForumTopic")).toHaveLength(1);
    expect(inThread(alertsTopic)).toHaveLength(alertsBefore);
    expect(log.text).not.toContain(fake.token);
  }, 30_000);

  it("Deny from the topic: the CLI gets the denial as recorded and the worker completes, with the result in the topic", async () => {
    const { fake, workers, inThread, stdinLines, topic, ask } = await spawnedAsking("tool-deny");
    const pressed = fake.pressButton(admin, ask, buttonData(ask, "Deny"));
    const answered = await fake.waitForCall("answerCallbackQuery", (c) => c.payload.callback_query_id === pressed);
    expect(answered.payload.text).toBe("Denied.");
    await until(() => workers.store.get("w1")!.status === "completed", "w1 completed", 15_000);
    expect(stdinLines()[1]!.response.response.behavior).toBe("deny");
    await until(() => inThread(topic).some((m) => /completed/.test(m.text) && m.reply_markup !== undefined), "the result in the topic");
    await until(() => /Denied by telegram:7001/.test(ask.text), "the prompt edited with the decision");
    expect(ask.reply_markup).toBeUndefined();
  }, 30_000);

  it("a result the Bot API refuses (502) goes out from the outbox once it answers again, once, in the topic", async () => {
    const { fake, rt, workers, inThread, topic, ask } = await spawnedAsking("tool-deny");
    // The next posts (the result) meet a Bot API in trouble; before, the result was logged as lost.
    fake.fail("sendMessage", { status: 502, description: "Bad Gateway" }, 2);
    fake.pressButton(admin, ask, buttonData(ask, "Deny"));
    await until(() => workers.store.get("w1")!.status === "completed", "w1 completed", 15_000);
    await until(() => inThread(topic).some((m) => /completed/.test(m.text) && m.reply_markup !== undefined), "the result in the topic", 20_000);
    expect(inThread(topic).filter((m) => /completed/.test(m.text) && m.reply_markup !== undefined)).toHaveLength(1);
    // The fake posts before it answers: the row is marked sent a moment after the message shows.
    const notes = () =>
      rt.db.prepare("SELECT status, attempts, subject FROM outbox WHERE kind = 'note' ORDER BY id").all() as {
        status: string;
        attempts: number;
        subject: string;
      }[];
    await until(() => notes().every((n) => n.status === "sent"), "every note marked sent");
    expect(notes().every((n) => n.subject === "worker:w1")).toBe(true);
    // Both 502s were met by notes and recorded as failed tries; the same rows went out afterwards.
    const failed = rt.db
      .prepare("SELECT COUNT(*) AS n FROM delivery_attempts d JOIN outbox o ON o.id = d.outbox_id WHERE o.kind = 'note' AND d.ok = 0 AND d.error LIKE '%502%'")
      .get() as { n: number };
    expect(failed.n).toBe(2);
  }, 40_000);

  it("no right to create topics: the worker's messages go to the feed topic, with one log line", async () => {
    const { fake, group, workers, inThread, log } = await start("tool-allow", { topicRights: false });
    fake.userMessage(admin, "/spawn claude app USE_SHELL: write a file", { chat: group, threadId: alertsTopic });
    await until(() => inThread(alertsTopic).some((m) => /w1 asks permission/.test(m.text)), "the permission prompt in the feed topic");
    const ask = inThread(alertsTopic).find((m) => /w1 asks permission/.test(m.text))!;
    fake.pressButton(admin, ask, buttonData(ask, "Allow"));
    await until(() => workers.store.get("w1")!.status === "completed", "w1 completed", 15_000);
    await until(() => inThread(alertsTopic).some((m) => /completed/.test(m.text) && m.reply_markup !== undefined), "the result in the feed topic");
    expect(workers.store.get("w1")!.threads).toEqual([]);
    expect(log.text.match(/takes no worker topics/g)).toHaveLength(1);
  }, 30_000);
});
