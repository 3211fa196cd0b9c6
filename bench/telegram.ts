/**
 * Telegram transport figures: rendering a large view into ≤ 4096-character HTML messages, and the
 * command round trip through the real grammY runner against the fake Bot API on loopback — from
 * the moment an update is queued at the server to the moment the reply reaches it. A burst shows
 * the pacing the throttler imposes (Telegram's ~30 messages a second overall).
 *
 *   node --import tsx bench/telegram.ts [commands]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderView } from "../src/chat/telegram/render.ts";
import { TelegramTransport } from "../src/chat/telegram/transport.ts";
import { configSchema } from "../src/config/schema.ts";
import { createLogger } from "../src/lib/log.ts";
import { textView, type View } from "../src/messages/view.ts";
import { openStore } from "../src/store/db.ts";
import { KvStore } from "../src/store/kv.ts";
import { FakeTelegramApi } from "../tests/fakes/telegram-api.ts";

const commands = Number(process.argv[2] ?? 50);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

// 1. Rendering: 10,000 lines full of characters HTML must escape, plain and preformatted.
const lines = Array.from({ length: 10_000 }, (_, i) => `session ${i} <ctx> & "x" ${"·".repeat(i % 40)}`);
const big: View = {
  title: "Sessions",
  tone: "warning",
  sections: [
    { heading: "All", lines },
    { pre: true, lines },
  ],
};
let t = performance.now();
const parts = renderView(big);
const renderMs = performance.now() - t;
console.log(`render: 20,000 lines → ${parts.length} messages (max ${Math.max(...parts.map((p) => p.html.length))} chars) in ${ms(renderMs)}`);

// 2. Command round trip through grammY + runner + the fake Bot API.
const fake = await FakeTelegramApi.start({ maxPollMs: 5000 });
const dir = mkdtempSync(join(tmpdir(), "asm-bench-telegram-"));
const db = openStore(join(dir, "asm.db"));
const users = Array.from({ length: commands * 3 }, (_, i) => ({ id: 10_000 + i, first_name: `u${i}` }));
const config = configSchema.parse({ telegram: { apiRoot: fake.apiRoot, allowedUserIds: users.map((u) => String(u.id)) } });
const transport = new TelegramTransport({
  token: fake.token,
  config: config.telegram,
  kv: new KvStore(db),
  log: createLogger({ level: "warn", pretty: "never" }),
  commands: [{ name: "sessions", description: "List sessions" }],
});
await transport.start({
  command: async (_caller, name) => textView(`/${name}: 3 sessions`),
  button: async () => ({}),
});

const replyFor = (userId: number) => fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(userId), 30_000);

// One at a time, each from its own chat (so per-chat pacing does not count).
const latencies: number[] = [];
for (let i = 0; i < commands; i++) {
  const user = users[i]!;
  const reply = replyFor(user.id);
  const sent = performance.now();
  fake.userMessage(user, "/sessions");
  await reply;
  latencies.push(performance.now() - sent);
}
console.log(`round trip (${commands} sequential): p50 ${ms(pct(latencies, 50))}  p95 ${ms(pct(latencies, 95))}  max ${ms(Math.max(...latencies))}`);

// A burst from many chats at once: the throttler paces replies to Telegram's global rate.
const burst = users.slice(commands, commands * 3);
const replies = burst.map((u) => replyFor(u.id));
t = performance.now();
for (const u of burst) fake.userMessage(u, "/sessions");
await Promise.all(replies);
const burstMs = performance.now() - t;
console.log(
  `burst: ${burst.length} commands from ${burst.length} chats answered in ${ms(burstMs)} (${((burst.length / burstMs) * 1000).toFixed(1)} replies/s)`,
);

await transport.stop();
await fake.close();
db.close();
rmSync(dir, { recursive: true, force: true });
