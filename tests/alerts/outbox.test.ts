import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alertStores, processFindings } from "../../src/alerts/lifecycle.ts";
import { backoffMs, OutboxSender } from "../../src/alerts/outbox.ts";
import { createLogger } from "../../src/lib/log.ts";
import type { Finding } from "../../src/messages/finding.ts";
import { DeliveryError, type Inbound, type MessageRef, type Transport, type TransportName } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

/** A transport that records what it was asked to do and fails on cue. */
class FakeTransport implements Transport {
  readonly sent: { view: View; ref: MessageRef }[] = [];
  readonly edits: { ref: MessageRef; view: View }[] = [];
  /** Errors thrown by the next sends/edits, in order (undefined = succeed). */
  readonly failNext: (DeliveryError | Error | undefined)[] = [];
  budget: number | undefined = undefined;
  private next = 1;

  constructor(readonly name: TransportName = "telegram") {}
  async start(_inbound: Inbound) {}
  async stop() {}
  async send(view: View): Promise<MessageRef> {
    const err = this.failNext.shift();
    if (err) throw err;
    const ref = { transport: this.name, chatId: "-100", messageId: String(this.next++) };
    this.sent.push({ view, ref });
    return ref;
  }
  async edit(ref: MessageRef, view: View): Promise<void> {
    const err = this.failNext.shift();
    if (err) throw err;
    this.edits.push({ ref, view });
  }
  sendBudget?(): number;
}

class BudgetedTransport extends FakeTransport {
  override sendBudget(): number {
    return this.budget ?? 20;
  }
}

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const cfg = { outbox: { maxAttempts: 4, baseDelaySeconds: 2, maxDelaySeconds: 600, unknownFateWaitSeconds: 120, maxBlindRetries: 1 } };
const alertsCfg = { alerts: { repeatIntervalMinutes: 240, minFiringSeconds: 0, groupAbove: 100, resolveAfterMissedScans: 1 } };
const finding = (subject: string): Finding => ({
  check: "context",
  subject,
  severity: "warning",
  summary: `${subject} is large`,
  component: subject,
  action: "reset it",
});

let db: Db | undefined;
afterEach(() => db?.close());

function setup(transport: FakeTransport) {
  db = openStore(join(tempDir(), "asm.db"));
  const stores = alertStores(db);
  let now = t0;
  const sender = new OutboxSender({
    transports: [transport],
    outbox: stores.outbox,
    alerts: stores.alerts,
    config: cfg,
    log: createLogger({ level: "silent" }),
    now: () => now,
  });
  const cycle = (subjects: string[]) => processFindings(stores, subjects.map(finding), { now, config: alertsCfg, transports: [transport.name] });
  return { stores, sender, cycle, at: (t: number) => (now = t) };
}

describe("outbox sender", () => {
  it("backs off exponentially on transient errors and records every attempt", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a"]);
    t.failNext.push(new DeliveryError("socket hang up", "telegram"), new Error("ECONNRESET"));
    expect(await sender.drainOnce()).toMatchObject({ sent: 0, retried: 1 });
    const row = () => stores.outbox.all()[0]!;
    expect(row()).toMatchObject({ status: "pending", attempts: 1, notBefore: t0 + 2000, lastError: "socket hang up" });
    expect(await sender.drainOnce(), "not before its time").toMatchObject({ sent: 0, retried: 0 });
    at(t0 + 2000);
    expect(await sender.drainOnce()).toMatchObject({ retried: 1 });
    expect(row()).toMatchObject({ attempts: 2, notBefore: t0 + 2000 + 4000 });
    at(t0 + 6000);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(row()).toMatchObject({ status: "sent", attempts: 3, sentAt: t0 + 6000 });
    expect(stores.outbox.attempts(row().id).map((a) => a.ok)).toEqual([false, false, true]);
    expect(t.sent).toHaveLength(1);
    expect(backoffMs(20, cfg.outbox)).toBe(600_000);
  });

  it("a transport that cannot send (token refused) holds its rows back without spending their attempts", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a"]);
    for (let i = 0; i < 6; i++) t.failNext.push(new DeliveryError("token refused", "telegram", { retryAfterMs: 60_000, transportDown: true }));
    for (let i = 0; i < 6; i++) {
      at(t0 + i * 60_000);
      expect(await sender.drainOnce()).toMatchObject({ sent: 0, failed: 0 });
    }
    expect(stores.outbox.all()[0]).toMatchObject({ status: "pending", attempts: 0, lastError: "token refused", notBefore: t0 + 6 * 60_000 });
    at(t0 + 6 * 60_000);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
  });

  it("honours retry_after as a not-before time for the whole transport", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a", "b", "c"]);
    t.failNext.push(new DeliveryError("Too Many Requests: retry after 30", "telegram", { retryAfterMs: 30_000 }));
    expect(await sender.drainOnce()).toMatchObject({ sent: 0, retried: 1 });
    expect(stores.outbox.all()[0]).toMatchObject({ notBefore: t0 + 30_000 });
    expect(stores.outbox.attempts(stores.outbox.all()[0]!.id)[0]!.retryAfterMs).toBe(30_000);
    at(t0 + 29_999);
    expect(await sender.drainOnce(), "the other rows wait out the 429 too").toMatchObject({ sent: 0 });
    at(t0 + 30_000);
    expect(await sender.drainOnce()).toMatchObject({ sent: 3 });
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · a is large", "WARNING · b is large", "WARNING · c is large"]);
  });

  it("keeps order per alert: a resolve never overtakes its fire, other alerts go ahead", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a"]);
    t.failNext.push(new DeliveryError("Bad Gateway", "telegram"));
    await sender.drainOnce();
    // a is still waiting; b fires and a's fire is retried later. Meanwhile nothing resolves a.
    at(t0 + 1000);
    cycle(["a", "b"]);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · b is large"]);
    at(t0 + 2000);
    await sender.drainOnce();
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · b is large", "WARNING · a is large"]);
    // Now a resolves: its message is edited in place.
    at(t0 + 3000);
    cycle(["b"]);
    await sender.drainOnce();
    expect(t.edits).toHaveLength(1);
    expect(t.edits[0]!.ref).toEqual(t.sent[1]!.ref);
    expect(t.edits[0]!.view.title).toBe("RESOLVED · a is large");
    expect(stores.outbox.all().every((r) => r.status === "sent")).toBe(true);
  });

  it("a resolve waits behind a fire that is backing off, in the same order", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a"]);
    const fire = stores.outbox.all()[0]!;
    // The fire is in flight elsewhere (claimed) when the alert resolves: it counts as reached.
    stores.outbox.markSending(fire.id);
    at(t0 + 500);
    cycle([]);
    expect(stores.outbox.all().map((r) => `${r.kind}:${r.status}`)).toEqual(["fire:sending", "resolve:pending"]);
    expect(await sender.drainOnce(), "the resolve is blocked while its fire is unsent").toMatchObject({ sent: 0 });
    stores.outbox.recoverInFlight();
    t.failNext.push(new DeliveryError("timeout", "telegram"));
    await sender.drainOnce();
    expect(t.sent).toHaveLength(0);
    at(t0 + 10_000);
    await sender.drainOnce();
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · a is large"]);
    expect(t.edits.map((e) => e.view.title)).toEqual(["RESOLVED · a is large"]);
  });

  it("marks permanent failures at once and gives up after maxAttempts", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a", "b"]);
    t.failNext.push(new DeliveryError("Bad Request: chat not found", "telegram", { permanent: true }));
    for (let i = 0; i < 4; i++) t.failNext.push(new DeliveryError("502", "telegram"));
    await sender.drainOnce();
    expect(stores.outbox.all()[0]).toMatchObject({ status: "failed", attempts: 1, lastError: "Bad Request: chat not found" });
    for (let i = 1; i <= 4; i++) {
      at(t0 + i * 700_000);
      await sender.drainOnce();
    }
    expect(stores.outbox.all()[1]).toMatchObject({ status: "failed", attempts: 4 });
    expect(t.sent).toEqual([]);
    expect(stores.outbox.backlog().pending).toBe(0);
  });

  it("falls back to a new message when the alert message cannot be edited", async () => {
    const t = new FakeTransport();
    const { sender, cycle, at } = setup(t);
    cycle(["a"]);
    await sender.drainOnce();
    at(t0 + 60_000);
    cycle([]);
    t.failNext.push(new DeliveryError("Bad Request: message to edit not found", "telegram", { permanent: true }));
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(t.edits).toEqual([]);
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · a is large", "RESOLVED · a is large"]);
  });

  it("on resolve, edits every message posted about the alert (fire, reminder, escalation), skipping deleted ones", async () => {
    const t = new FakeTransport();
    const { stores, sender, at } = setup(t);
    const run = (f: Finding[], now: number) => processFindings(stores, f, { now, config: alertsCfg, transports: ["telegram"] });
    run([finding("a")], t0);
    await sender.drainOnce();
    at(t0 + 4 * 3_600_000);
    run([finding("a")], t0 + 4 * 3_600_000);
    await sender.drainOnce();
    at(t0 + 5 * 3_600_000);
    run([{ ...finding("a"), severity: "critical" }], t0 + 5 * 3_600_000);
    await sender.drainOnce();
    expect(t.sent.map((m) => m.view.title)).toEqual(["WARNING · a is large", "WARNING · a is large", "CRITICAL · a is large"]);
    at(t0 + 6 * 3_600_000);
    run([], t0 + 6 * 3_600_000);
    // The newest is edited first; the reminder was deleted by someone in the chat.
    t.failNext.push(undefined, new DeliveryError("Bad Request: message to edit not found", "telegram", { permanent: true }));
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(t.edits.map((e) => e.ref.messageId)).toEqual(["3", "1"]);
    expect(t.edits.every((e) => e.view.title === "RESOLVED · a is large")).toBe(true);
    expect(t.sent).toHaveLength(3);
  });

  it("merges pending alerts into one message when the send budget is short, and edits it as members resolve", async () => {
    const t = new BudgetedTransport();
    t.budget = 2;
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a", "b", "c", "d", "e"]);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1, merged: 5 });
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.view.title).toBe("5 context alerts");
    const statuses = stores.outbox.all().map((r) => `${r.kind}:${r.status}`);
    expect(statuses).toEqual([...Array(5).fill("fire:merged"), "group:sent"]);
    const ids = stores.alerts.open().map((a) => a.id);
    for (const id of ids) expect(stores.outbox.alertMessage(id, "telegram")).toMatchObject({ grouped: true, ref: t.sent[0]!.ref });
    // Two resolve in the same cycle: one edit of the group message.
    at(t0 + 60_000);
    cycle(["c", "d", "e"]);
    expect(await sender.drainOnce()).toMatchObject({ sent: 1 });
    expect(t.edits).toHaveLength(1);
    expect(t.edits[0]!.ref).toEqual(t.sent[0]!.ref);
    expect(t.edits[0]!.view.sections[1]!.lines).toContain("Status: 3 firing, 2 resolved");
    expect(
      stores.outbox
        .all()
        .filter((r) => r.kind === "resolve")
        .map((r) => r.status),
    ).toEqual(["sent", "sent"]);
    // Budget zero: nothing goes out until the platform allows it.
    t.budget = 0;
    at(t0 + 120_000);
    cycle([]);
    expect(await sender.drainOnce()).toMatchObject({ sent: 0 });
    t.budget = 20;
    await sender.drainOnce();
    expect(t.edits.at(-1)!.view.sections[1]!.lines).toContain("Status: all resolved");
  });

  it("never merges a row that has a later sibling, so order per alert holds under budget pressure", async () => {
    const t = new BudgetedTransport();
    t.budget = 1;
    const { stores, sender, cycle, at } = setup(t);
    cycle(["a"]);
    t.failNext.push(new DeliveryError("502", "telegram"));
    await sender.drainOnce();
    const a = stores.alerts.open()[0]!;
    stores.outbox.enqueue({ alertIds: [a.id], transport: "telegram", kind: "escalate", view: { title: "escalated a", sections: [] }, now: t0 });
    cycle(["a", "b", "c"]);
    at(t0 + 5_000);
    expect(await sender.drainOnce()).toMatchObject({ merged: 2 });
    expect(t.sent.map((m) => m.view.title)).toEqual(["WARNING · a is large", "2 context alerts", "escalated a"]);
  });

  it("stop() waits for the delivery in flight and leaves no row half-done", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = new FakeTransport();
    const send = t.send.bind(t);
    t.send = async (view) => {
      await gate;
      return send(view);
    };
    const { stores, sender, cycle } = setup(t);
    cycle(["a", "b"]);
    sender.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(stores.outbox.all().map((r) => r.status)).toEqual(["sending", "pending"]);
    let stopped = false;
    const stopping = sender.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped, "still waiting for the send").toBe(false);
    release();
    await stopping;
    expect(
      stores.outbox.all().map((r) => r.status),
      "the one in flight finished; the next waits for the next start",
    ).toEqual(["sent", "pending"]);
  });

  it("after a crash, rows left in flight are sent on start and nothing is lost", async () => {
    const t = new FakeTransport();
    const { stores, sender, cycle } = setup(t);
    cycle(["a", "b"]);
    const [a] = stores.outbox.all();
    stores.outbox.markSending(a!.id); // the previous process died inside send()
    const stray = stores.outbox.enqueue({ alertIds: [a!.alertId!], transport: "discord", kind: "fire", view: a!.view, now: t0 });
    sender.start();
    await sender.whenIdle();
    await sender.stop();
    expect(stores.outbox.all().map((r) => r.status)).toEqual(["sent", "sent", "failed"]);
    expect(stores.outbox.get(stray)!.lastError).toBe("transport discord is not running");
    expect(t.sent.map((s) => s.view.title)).toEqual(["WARNING · a is large", "WARNING · b is large"]);
    const stats = sender.stats();
    expect(stats.delivered).toBe(2);
    expect(stats.commitMs.max).toBeGreaterThanOrEqual(0);
  });
});
