import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alertStores } from "../../src/alerts/lifecycle.ts";
import { OutboxSender } from "../../src/alerts/outbox.ts";
import { createLogger } from "../../src/lib/log.ts";
import { DeliveryError, type Inbound, type MessageRef, type Transport } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

// Notes: messages about no alert (a worker's result, its notices) go through the durable outbox into their place
// (a forum topic, a thread), keep their order per subject, and reach the feed when the place is gone for good.

type Where = { chatId: string; threadId?: string | undefined } | undefined;

/** Records where each message went; fails the next sends on cue. */
class PlaceTransport implements Transport {
  readonly name = "telegram" as const;
  readonly sent: { text: string; to: Where }[] = [];
  readonly failNext: (Error | undefined)[] = [];
  private next = 1;
  async start(_inbound: Inbound) {}
  async stop() {}
  async send(view: View, to?: Where): Promise<MessageRef> {
    const err = this.failNext.shift();
    if (err) throw err;
    this.sent.push({ text: view.sections[0]!.lines[0]!, to });
    return { transport: "telegram", chatId: to?.chatId ?? "-100feed", messageId: String(this.next++) };
  }
  async edit() {}
}

const t0 = Date.UTC(2026, 11, 5, 9, 0, 0);
const cfg = { outbox: { maxAttempts: 4, baseDelaySeconds: 2, maxDelaySeconds: 600, unknownFateWaitSeconds: 120, maxBlindRetries: 1 } };
const note = (text: string): View => ({ sections: [{ lines: [text] }] });
const topic = { chatId: "-100group", threadId: "77" };

let db: Db | undefined;
afterEach(() => db?.close());

function setup() {
  db = openStore(join(tempDir(), "asm.db"));
  const stores = alertStores(db);
  const t = new PlaceTransport();
  let now = t0;
  const sender = new OutboxSender({
    transports: [t],
    outbox: stores.outbox,
    alerts: stores.alerts,
    config: cfg,
    log: createLogger({ level: "silent" }),
    now: () => now,
  });
  const enqueue = (text: string, subject: string, place: typeof topic | null = topic) =>
    stores.outbox.enqueue({ alertIds: [], transport: "telegram", kind: "note", view: note(text), now, place, subject });
  return { t, stores, sender, enqueue, at: (ms: number) => (now = ms) };
}

describe("outbox notes", () => {
  it("are posted into their place, and are kept through a failed try to go out later", async () => {
    const { t, stores, sender, enqueue, at } = setup();
    const id = enqueue("w3 completed", "worker:w3");
    t.failNext.push(new DeliveryError("telegram sendMessage: 502 Bad Gateway", "telegram"));
    expect(await sender.drainOnce()).toMatchObject({ sent: 0, retried: 1 });
    expect(stores.outbox.get(id)).toMatchObject({ status: "pending", attempts: 1, place: topic, subject: "worker:w3" });
    at(t0 + 2_000);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(t.sent).toEqual([{ text: "w3 completed", to: topic }]);
    expect(stores.outbox.get(id)!.status).toBe("sent");
  });

  it("keep their order per subject: a later note waits for an earlier one that failed; another subject does not", async () => {
    const { t, sender, enqueue, at } = setup();
    enqueue("w3 waits for permission", "worker:w3");
    enqueue("w3 completed", "worker:w3");
    enqueue("w4 completed", "worker:w4");
    t.failNext.push(new DeliveryError("timeout", "telegram"));
    await sender.drainOnce();
    expect(t.sent.map((s) => s.text)).toEqual(["w4 completed"]);
    at(t0 + 2_000);
    await sender.drainOnce();
    expect(t.sent.map((s) => s.text)).toEqual(["w4 completed", "w3 waits for permission", "w3 completed"]);
  });

  it("go to the feed when their place refuses them for good (a deleted topic), and without a place straight there", async () => {
    const { t, stores, sender, enqueue } = setup();
    const id = enqueue("w5 failed", "worker:w5");
    enqueue("w6 completed", "worker:w6", null);
    t.failNext.push(new DeliveryError("telegram sendMessage: 400 Bad Request: message thread not found", "telegram", { permanent: true }));
    expect(await sender.drainOnce()).toMatchObject({ sent: 2, failed: 0 });
    expect(t.sent).toEqual([
      { text: "w5 failed", to: undefined },
      { text: "w6 completed", to: undefined },
    ]);
    expect(stores.outbox.get(id)).toMatchObject({ status: "sent", messageRef: { chatId: "-100feed" } });
  });
});
