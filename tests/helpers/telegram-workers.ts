import { startService } from "../../src/monitor/service.ts";
import { openRuntime } from "../../src/store/runtime.ts";
import { Capture, healthServer } from "../core/setup.ts";
import { FakeTelegramApi, type FakeUser } from "../fakes/telegram-api.ts";
import { e2eWorld } from "./e2e.ts";
import { tempDir } from "./tmp.ts";

/** The feed group and its alerts topic the worker e2e tests post into. */
export const feedChatId = -1009876543210;
export const alertsTopic = 42;

/**
 * `asm run` with TELEGRAM_BOT_TOKEN set, a forum supergroup as the feed (or a plain group: `forum: false`), the
 * workspace `app` and `runner` as given (its drivers point at the fakes), connected before it returns. What it starts
 * is stopped by the functions pushed onto `closers`, last first. `topicOf(id)` is the topic asm opened for a worker.
 */
export async function startTelegramWorkers(
  closers: (() => Promise<void>)[],
  o: { prefix: string; admin: FakeUser; runner: Record<string, unknown>; allowed?: FakeUser[]; forum?: boolean; topicRights?: boolean },
) {
  const forum = o.forum ?? true;
  const fake = await FakeTelegramApi.start({ maxPollMs: 2000 });
  closers.push(() => fake.close());
  const group = fake.addChat({ id: feedChatId, type: "supergroup", title: "Ops", is_forum: forum });
  if (forum) fake.addTopic(feedChatId, alertsTopic, "Agent alerts");
  if (o.topicRights === false) fake.denyTopicRights(feedChatId);
  const gw = await healthServer();
  closers.push(gw.close);
  const workspace = tempDir(`${o.prefix}app-`);
  const { configPath } = e2eWorld(o.prefix, gw.url, { runner: { workspaces: { app: workspace }, ...o.runner } });
  const log = new Capture();
  const rt = openRuntime({
    configPath,
    env: {
      HOME: tempDir(`${o.prefix}home-`),
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_FEED_CHAT_ID: String(feedChatId),
      ...(forum ? { TELEGRAM_FEED_TOPIC_ID: String(alertsTopic) } : {}),
      ...(o.allowed?.length ? { TELEGRAM_ALLOWED_USER_IDS: o.allowed.map((u) => u.id).join(",") } : {}),
      TELEGRAM_ADMIN_IDS: String(o.admin.id),
    },
    logStream: log,
  });
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
  const topicOf = (id: string): number | undefined => {
    for (const [topic, name] of fake.topics.get(feedChatId) ?? []) if (name.startsWith(`${id} app: `)) return topic;
    return undefined;
  };
  const inThread = (thread: number | undefined) => fake.messagesIn(feedChatId).filter((m) => m.message_thread_id === thread);
  return { fake, group, rt, service, workers: service.manager.workers, log, workspace, topicOf, inThread };
}
