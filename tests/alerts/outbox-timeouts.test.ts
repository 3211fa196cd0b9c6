import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { alertStores } from "../../src/alerts/lifecycle.ts";
import { OutboxSender, sendKey } from "../../src/alerts/outbox.ts";
import { DiscordTransport } from "../../src/chat/discord/transport.ts";
import type { Config } from "../../src/config/schema.ts";
import { configSchema } from "../../src/config/schema.ts";
import { discordSection } from "../../src/config/sections/chat.ts";
import { healthReport } from "../../src/core/health.ts";
import { createLogger } from "../../src/lib/log.ts";
import { DeliveryError, type Inbound, type MessageRef, type SendOptions, type Transport } from "../../src/messages/transport.ts";
import { textView, type View } from "../../src/messages/view.ts";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import type { OutboxStore } from "../../src/store/outbox.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { cleanups, feedChatId, setup } from "../chat/telegram/harness.ts";
import { FakeDiscord } from "../fakes/discord-api.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Issue 19 item 7: the platform takes a send but answers after the client's timeout. Real transports
 * against the loopback fakes (which post the message at once and hold the answer), a real store and
 * the real sender, with timeouts of a fraction of a second instead of 20 s.
 */

const outboxCfg = (more: Partial<Config["outbox"]> = {}): Pick<Config, "outbox"> => ({
  outbox: { maxAttempts: 20, baseDelaySeconds: 0.05, maxDelaySeconds: 0.1, unknownFateWaitSeconds: 0.5, maxBlindRetries: 1, ...more },
});

const settled = ["sent", "failed", "unconfirmed"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sender over `transport` on a fresh store, with `texts` queued as alert messages. */
function queue(transport: Transport, texts: string[], cfg = outboxCfg()) {
  const db = openStore(join(tempDir(), "asm.db"));
  cleanups.push(() => {
    db.close();
  });
  const stores = alertStores(db);
  const ids = texts.map((t) => stores.outbox.enqueue({ alertIds: [], transport: transport.name, kind: "fire", view: textView(t), now: Date.now() }));
  const sender = new OutboxSender({
    transports: [transport],
    outbox: stores.outbox,
    alerts: stores.alerts,
    config: cfg,
    log: createLogger({ level: "silent" }),
    idleMs: 50,
  });
  cleanups.push(() => sender.stop());
  return { db, outbox: stores.outbox, ids, sender };
}

async function until(outbox: OutboxStore, ids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ids.every((id) => settled.includes(outbox.get(id)!.status))) {
    if (Date.now() > deadline) throw new Error(`not settled: ${ids.map((id) => outbox.get(id)!.status).join(", ")}`);
    await sleep(50);
  }
}

describe("Telegram: a send answered after the client timeout", () => {
  it("endless slowness: each message is posted at most twice (one blind retry after a wait), then left unconfirmed, and says so", async () => {
    const { fake, transport } = await setup({ transport: { requestTimeoutSeconds: 0.3 } });
    fake.answerLate("sendMessage", 900, Number.POSITIVE_INFINITY);
    const texts = ["alert one", "alert two", "alert three"];
    const { db, outbox, ids, sender } = queue(transport, texts);
    sender.start();
    await until(outbox, ids, 20_000);
    await sleep(1000); // the late answers arrive; nothing more is posted
    const posted = fake.messagesIn(feedChatId).map((m) => m.text);
    for (const t of texts) {
      const copies = posted.filter((p) => p.includes(t)).length;
      expect(copies, t).toBeGreaterThanOrEqual(1);
      expect(copies, t).toBeLessThanOrEqual(2);
    }
    for (const id of ids) {
      const row = outbox.get(id)!;
      expect(row.status).toBe("unconfirmed");
      expect(row.lastError).toMatch(/^fate unknown: .*timed out.*not sent again/);
      const tries = outbox.attempts(id);
      expect(tries).toHaveLength(2);
      // The blind retry waited for the slow platform to catch up (0.5 s), not the 50 ms backoff.
      expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(500);
    }
    expect(outbox.backlog()).toMatchObject({ pending: 0, unknown: 0, unconfirmed: 3 });
    const health = healthReport({
      config: configSchema.parse({}),
      db,
      kv: new KvStore(db),
      sessions: new SessionStore(db),
      series: new SeriesStore(db),
      outboxBacklog: () => outbox.backlog(),
    });
    expect(health.items.find((i) => i.name === "outbox")).toMatchObject({ status: "info", detail: "0 unsent; 3 unconfirmed today (timed out, not re-sent)" });
  }, 30_000);

  it("slow once: the row shows its fate is unknown while the retry waits, then it is sent", async () => {
    const { fake, transport } = await setup({ transport: { requestTimeoutSeconds: 0.3 } });
    fake.answerLate("sendMessage", 900, 1);
    const { outbox, ids, sender } = queue(transport, ["disk almost full"], outboxCfg({ unknownFateWaitSeconds: 1.5 }));
    sender.start();
    const deadline = Date.now() + 5000;
    while (outbox.get(ids[0]!)!.status !== "unknown") {
      if (Date.now() > deadline) throw new Error(`never unknown: ${outbox.get(ids[0]!)!.status}`);
      await sleep(20);
    }
    expect(outbox.backlog()).toMatchObject({ pending: 1, unknown: 1 });
    expect(outbox.get(ids[0]!)!.lastError).toMatch(/^fate unknown:/);
    // The wait holds: nothing is re-posted while the first answer is still on its way.
    await sleep(900);
    expect(fake.messagesIn(feedChatId).filter((m) => m.text.includes("disk almost full"))).toHaveLength(1);
    await until(outbox, ids, 10_000);
    expect(outbox.get(ids[0]!)!.status).toBe("sent");
    expect(fake.messagesIn(feedChatId).filter((m) => m.text.includes("disk almost full")).length).toBeLessThanOrEqual(2);
  }, 20_000);
});

describe("Discord: a post answered after the client timeout", () => {
  const token = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB";
  const feed = "1300000000000000777";

  async function discord() {
    const fake = await FakeDiscord.start({ token, heartbeatIntervalMs: 100 });
    cleanups.push(() => fake.close());
    const kv = new KvStore(openStore(join(tempDir("asm-discord-"), "asm.db")));
    const log = createLogger({ stream: new PassThrough(), pretty: "never", level: "silent", secrets: [token] });
    const config = discordSection.parse({ apiBase: fake.apiBase, feedChannelId: feed, guildId: "1200000000000000001" });
    const transport = new DiscordTransport({ token, config, kv, log, commands: [], requestTimeoutMs: 300 });
    const inbound: Inbound = { command: async () => textView("-"), button: async () => ({}) };
    await transport.start(inbound);
    cleanups.push(() => transport.stop());
    return { fake, transport };
  }

  it("every retry of a row, the outbox's included, carries the row's nonce: one message however often it is tried", async () => {
    const { fake, transport } = await discord();
    // discord.js tries 4 times (3 retries) within one outbox attempt, all answered too late; the outbox retries after that.
    fake.answerLate("POST", /^\/channels\/\d+\/messages$/, 900, 4);
    const { outbox, ids, sender } = queue(transport, ["gateway down"]);
    sender.start();
    await until(outbox, ids, 20_000);
    const row = outbox.get(ids[0]!)!;
    expect(row.status).toBe("sent");
    const attempts = outbox.attempts(ids[0]!);
    expect(attempts[0]!.error).toMatch(/^fate unknown, same key:/);
    const posts = fake.requestsTo(/^\/channels\/\d+\/messages$/, "POST");
    expect(posts.length).toBeGreaterThanOrEqual(5);
    expect(new Set(posts.map((p) => (p.body as { nonce?: unknown }).nonce))).toEqual(new Set([sendKey(row)]));
    expect(posts.every((p) => (p.body as { enforce_nonce?: unknown }).enforce_nonce === true)).toBe(true);
    expect(fake.channelMessages(feed)).toHaveLength(1);
    expect(row.messageRef?.messageId).toBe(fake.channelMessages(feed)[0]!.id);
  }, 30_000);

  it("the key fits Discord's nonce (at most 25 characters) and differs between rows and databases", () => {
    const key = sendKey({ id: 4_294_967_295, createdAt: Date.UTC(2099, 0, 1) });
    expect(key.length).toBeLessThanOrEqual(25);
    expect(sendKey({ id: 1, createdAt: 1 })).not.toBe(sendKey({ id: 2, createdAt: 1 }));
    expect(sendKey({ id: 1, createdAt: 1 })).not.toBe(sendKey({ id: 1, createdAt: 2 }));
  });
});

describe("the sender's bound on tries of unknown fate (injected clock)", () => {
  /** A transport with an idempotency key honoured for `windowMs` whose every post times out. */
  class Hanging implements Transport {
    readonly name = "discord" as const;
    readonly keys: (string | undefined)[] = [];
    constructor(readonly sameKeyWithinMs: number) {}
    async start() {}
    async stop() {}
    async send(_view: View, _to?: unknown, how?: SendOptions): Promise<MessageRef> {
      this.keys.push(how?.key);
      throw new DeliveryError("post: no answer in time (it may be posted)", "discord", { uncertain: true });
    }
    async edit() {}
  }

  it("retries with the same key inside the key's window, then at most maxBlindRetries blind retries after a wait, then never again", async () => {
    const t = new Hanging(10_000);
    let now = Date.UTC(2026, 11, 5, 4);
    const db = openStore(join(tempDir(), "asm.db"));
    cleanups.push(() => {
      db.close();
    });
    const stores = alertStores(db);
    const id = stores.outbox.enqueue({ alertIds: [], transport: "discord", kind: "fire", view: textView("x"), now });
    const sender = new OutboxSender({
      transports: [t],
      outbox: stores.outbox,
      alerts: stores.alerts,
      config: outboxCfg({ baseDelaySeconds: 2, maxDelaySeconds: 2, unknownFateWaitSeconds: 60 }),
      log: createLogger({ level: "silent" }),
      now: () => now,
    });
    const statuses: string[] = [];
    for (let i = 0; i < 12; i++) {
      await sender.drainOnce();
      const row = stores.outbox.get(id)!;
      statuses.push(row.status);
      now = Math.max(now + 1, row.notBefore);
    }
    // 2 s backoff inside a 10 s window: tries at 0, 2, 4, 6 s are keyed; the one at 8 s would retry past 10 s,
    // so it waits 60 s for one blind retry; that one timing out too ends it.
    const tries = stores.outbox.attempts(id).map((a) => a.error!.split(" ").slice(0, 3).join(" "));
    expect(tries.filter((e) => e.startsWith("fate unknown, same"))).toHaveLength(4);
    expect(tries.filter((e) => e === "fate unknown: post:")).toHaveLength(2);
    expect(statuses.at(-1)).toBe("unconfirmed");
    expect(t.keys).toHaveLength(6);
    expect(new Set(t.keys).size).toBe(1);
  });
});
