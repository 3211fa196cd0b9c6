import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Feed } from "../../src/core/feed.ts";
import { createLogger } from "../../src/lib/log.ts";
import type { Inbound, MessageRef, Transport, TransportName } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { OutboxStore } from "../../src/store/outbox.ts";
import { tempDir } from "../helpers/tmp.ts";

class Posting implements Transport {
  readonly sent: { view: View; to: unknown }[] = [];
  constructor(readonly name: TransportName) {}
  async start(_inbound: Inbound) {}
  async stop() {}
  async send(view: View, to?: unknown): Promise<MessageRef> {
    this.sent.push({ view, to });
    return { transport: this.name, chatId: "1", messageId: String(this.sent.length) };
  }
  async edit() {}
}

const view: View = { sections: [{ lines: ["w3 completed"] }] };

let db: Db | undefined;
afterEach(() => db?.close());

describe("Feed.postDurably", () => {
  it("queues one note per transport, in its place or the feed, and wakes the sender; nothing is posted by the caller", async () => {
    db = openStore(join(tempDir(), "asm.db"));
    const outbox = new OutboxStore(db);
    const telegram = new Posting("telegram");
    const discord = new Posting("discord");
    const feed = new Feed(createLogger({ level: "silent" }));
    feed.attach([telegram, discord]);
    let kicks = 0;
    feed.attachOutbox(outbox, () => kicks++);
    await feed.postDurably(view, [{ transport: "telegram", chatId: "-100g", threadId: "77" }], "worker:w3");
    expect(telegram.sent).toEqual([]);
    expect(kicks).toBe(1);
    expect(outbox.all().map((r) => ({ transport: r.transport, kind: r.kind, place: r.place, subject: r.subject, status: r.status, view: r.view }))).toEqual([
      { transport: "telegram", kind: "note", place: { chatId: "-100g", threadId: "77" }, subject: "worker:w3", status: "pending", view },
      { transport: "discord", kind: "note", place: null, subject: "worker:w3", status: "pending", view },
    ]);
  });

  it("posts at once when this process has no outbox, or when the store takes no writes (found damaged)", async () => {
    const telegram = new Posting("telegram");
    const feed = new Feed(createLogger({ level: "silent" }));
    feed.attach([telegram]);
    await feed.postDurably(view, [], "worker:w1");
    expect(telegram.sent).toHaveLength(1);

    db = openStore(join(tempDir(), "asm.db"));
    db.pragma("query_only = ON");
    feed.attachOutbox(new OutboxStore(db), () => {
      throw new Error("no sender should be woken");
    });
    await feed.postDurably(view, [{ transport: "telegram", chatId: "-100g", threadId: "9" }], "worker:w2");
    expect(telegram.sent).toHaveLength(2);
    expect(telegram.sent[1]!.to).toEqual({ chatId: "-100g", threadId: "9" });
  });
});
