/**
 * Discord transport figures: rendering a large view into embed pages, the slash-command round trip
 * through the real discord.js client against the fake Discord on loopback (from the moment the
 * gateway pushes INTERACTION_CREATE to the moment the interaction callback reaches the REST fake),
 * and sequential feed posts through discord.js's REST queue.
 *
 *   node --import tsx bench/discord.ts [commands]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paginate, renderPage } from "../src/chat/discord/render.ts";
import { DiscordTransport } from "../src/chat/discord/transport.ts";
import { discordSection } from "../src/config/sections/chat.ts";
import { createLogger } from "../src/lib/log.ts";
import { textView, type View } from "../src/messages/view.ts";
import { openStore } from "../src/store/db.ts";
import { KvStore } from "../src/store/kv.ts";
import { FakeDiscord } from "../tests/fakes/discord-api.ts";

const commands = Number(process.argv[2] ?? 100);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

// 1. Rendering: 10,000 lines full of markdown that must be escaped, plain and preformatted.
const lines = Array.from({ length: 10_000 }, (_, i) => `session_${i} *ctx* ~x~ \`y\` ${"·".repeat(i % 40)}`);
const big: View = {
  title: "Sessions",
  tone: "warning",
  sections: [
    { heading: "All", lines },
    { pre: true, lines },
  ],
};
let t = performance.now();
const pages = paginate(big);
for (let i = 0; i < pages.length; i++) renderPage(big, pages, { token: "bench", page: i, pages: pages.length });
console.log(`render: 20,000 lines → ${pages.length} embed pages (max ${Math.max(...pages.map((p) => p.length))} chars) in ${ms(performance.now() - t)}`);

// 2. Slash-command round trip through discord.js and the fake gateway + REST.
const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GBench.benchbenchbenchbenchbenchbenchbench12";
const feed = "1300000000000000111";
const user = { id: "2000000000000000002", username: "bench" };
const fake = await FakeDiscord.start({ token });
const dir = mkdtempSync(join(tmpdir(), "asm-bench-discord-"));
const db = openStore(join(dir, "asm.db"));
t = performance.now();
const transport = new DiscordTransport({
  token,
  config: discordSection.parse({ apiBase: fake.apiBase, feedChannelId: feed, guildId: "1200000000000000001", allowedUserIds: [user.id] }),
  kv: new KvStore(db),
  log: createLogger({ level: "warn", pretty: "never" }),
  commands: [{ name: "sessions", description: "List sessions", usage: "/sessions", options: [] }],
});
await transport.start({ command: async (_caller, name) => textView(`/${name}: 3 sessions`), button: async () => ({}) });
console.log(`login: GET /gateway/bot → READY → commands registered in ${ms(performance.now() - t)}`);

const latencies: number[] = [];
for (let i = 0; i < commands; i++) {
  const sent = performance.now();
  const id = fake.slashCommand({ name: "sessions", user, channelId: feed });
  await fake.waitFor(() => fake.callbacks.has(id), "reply");
  latencies.push(performance.now() - sent);
}
console.log(`round trip (${commands} sequential): p50 ${ms(pct(latencies, 50))}  p95 ${ms(pct(latencies, 95))}  max ${ms(Math.max(...latencies))}`);

// 3. Feed posts one after another (the outbox's pattern), through discord.js's REST queue.
t = performance.now();
for (let i = 0; i < commands; i++) await transport.send(textView(`alert ${i}`, { tone: "warning" }));
const postMs = performance.now() - t;
console.log(`feed: ${commands} posts in ${ms(postMs)} (${((commands / postMs) * 1000).toFixed(1)} posts/s against a fake without rate-limit headers)`);

await transport.stop();
await fake.close();
db.close();
rmSync(dir, { recursive: true, force: true });
