/**
 * How often a crash mid-drain posts a message twice (issue 19 item 8). A real `asm run` drains a
 * feed of alerts into a loopback fake (the Bot API, or Discord) that takes `latency` ms per post —
 * half before it posts the message (the request on its way), half before the answer is back — and
 * is killed with SIGKILL at a random moment mid-drain, `kills` times, restarted after each kill;
 * a last run drains the rest. Counted: kills that caught a post in flight (a row `sending`), posts
 * that arrived twice, and alerts never posted (must be 0).
 *
 *   node bin/build.mjs && node --import tsx bench/outbox-crash.mjs [kills=10] [latencyMs=200] [telegram|discord]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/store/db.ts";
import { FakeDiscord } from "../tests/fakes/discord-api.ts";
import { FakeTelegramApi } from "../tests/fakes/telegram-api.ts";
import { writeClaudeSessions } from "../tests/helpers/claude-sessions.ts";
import { exitOf, spawnAsm } from "../tests/helpers/cli.ts";

const kills = Number(process.argv[2] ?? 10);
const latencyMs = Number(process.argv[3] ?? 200);
const platform = process.argv[4] ?? "telegram";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const half = Math.round(latencyMs / 2);

/** The fake, the environment that points `asm` at it, and the alert messages it holds (one key each). */
async function sink() {
  if (platform === "discord") {
    const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB";
    const feed = "1300000000000000777";
    const fake = await FakeDiscord.start({ token });
    fake.delay(/^\/channels\/\d+\/messages$/, half);
    fake.answerLate("POST", /^\/channels\/\d+\/messages$/, latencyMs - half, Number.POSITIVE_INFINITY);
    return {
      close: () => fake.close(),
      env: { DISCORD_TOKEN: token, DISCORD_API_BASE: fake.apiBase, DISCORD_FEED_CHANNEL_ID: feed, DISCORD_GUILD_ID: "1200000000000000001" },
      posted: () => fake.channelMessages(feed).map((m) => JSON.stringify(m.embeds)),
    };
  }
  const fake = await FakeTelegramApi.start({ maxPollMs: 1000 });
  const chatId = -1001234567890;
  fake.addChat({ id: chatId, type: "supergroup", title: "Ops", is_forum: true });
  fake.addTopic(chatId, 42, "Agent alerts");
  fake.slow("sendMessage", half, 1_000_000);
  fake.answerLate("sendMessage", latencyMs - half, Number.POSITIVE_INFINITY);
  return {
    close: () => fake.close(),
    env: { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot, TELEGRAM_FEED_CHAT_ID: String(chatId), TELEGRAM_FEED_TOPIC_ID: "42" },
    posted: () => fake.messagesIn(chatId).map((m) => m.text),
  };
}

/** Rows in flight (`sending`) and still to go, read from the database the child left. */
function outbox(db) {
  const store = openStore(db);
  try {
    const rows = store.prepare("SELECT id, status FROM outbox").all();
    return {
      sending: rows.filter((r) => r.status === "sending").map((r) => r.id),
      left: rows.filter((r) => ["pending", "sending", "unknown"].includes(r.status)).length,
      sent: rows.filter((r) => r.status === "sent").length,
    };
  } finally {
    store.close();
  }
}

const s = await sink();
const home = mkdtempSync(join(tmpdir(), "asm-crash-bench-"));
const alerts = Math.max(40, kills * 6);
const ids = writeClaudeSessions(home, alerts, new Date(), "-work-crash").map((id) => id.slice(0, 8));
const db = join(home, "asm.db");
const config = join(home, "asm.json");
writeFileSync(
  config,
  JSON.stringify({
    console: { prompt: "never" },
    alerts: { groupAbove: 100_000 },
    monitor: { intervalSeconds: 3600, gatewayIntervalSeconds: 3600, logsIntervalSeconds: 3600 },
    checks: { transcript: { maxBytes: 1000, sizePlatforms: ["claude"] }, gateway: { enabled: false }, logs: { enabled: false } },
    telegram: { maxMessagesPerMinute: 100_000 },
  }),
);
const env = { HOME: home, ASM_DB: db, ASM_LOG_LEVEL: "warn", ...s.env };

let inFlightAtKill = 0;
const started = Date.now();
for (let k = 0; k < kills; k++) {
  const before = s.posted().length;
  const child = spawnAsm(["run", "--config", config], env);
  const done = exitOf(child);
  // Mid-drain: after one to three more posts, then at a random point of the next post's round trip.
  const target = before + 1 + Math.floor(Math.random() * 3);
  const deadline = Date.now() + 120_000;
  while (s.posted().length < target) {
    if (Date.now() > deadline) throw new Error(`run ${k + 1} posted nothing in 2 minutes`);
    await sleep(5);
  }
  await sleep(Math.random() * latencyMs);
  child.kill("SIGKILL");
  await done;
  const state = outbox(db);
  if (state.sending.length) inFlightAtKill++;
  if (state.left === 0) throw new Error(`the feed drained before kill ${k + 1}: raise the alert count`);
}

// The last run drains the rest and stops cleanly.
const last = spawnAsm(["run", "--config", config], env);
const lastDone = exitOf(last);
const deadline = Date.now() + 300_000;
while (outbox(db).left > 0 || outbox(db).sent < alerts) {
  if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(outbox(db))}`);
  await sleep(100);
}
last.kill("SIGTERM");
await lastDone;

// Each alert message names its session (the first 8 characters of its id); other posts are not counted.
const counts = new Map(ids.map((id) => [id, 0]));
for (const text of s.posted()) {
  const id = ids.find((i) => text.includes(i));
  if (id) counts.set(id, counts.get(id) + 1);
}
const twice = [...counts.values()].filter((n) => n > 1).length;
const extra = [...counts.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
const lost = [...counts.values()].filter((n) => n === 0).length;
const mostCopies = Math.max(...counts.values());
console.log(
  JSON.stringify(
    {
      platform,
      latencyMs,
      alerts,
      kills,
      killsWithAPostInFlight: inFlightAtKill,
      duplicatedMessages: twice,
      mostCopies,
      extraPosts: extra,
      duplicatesPerKill: Number((extra / kills).toFixed(2)),
      lost,
      seconds: Math.round((Date.now() - started) / 1000),
    },
    null,
    2,
  ),
);
await s.close();
rmSync(home, { recursive: true, force: true });
