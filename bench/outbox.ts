/**
 * Alert pipeline figures: lifecycle cost per cycle, and the outbox's duplicate window measured
 * end to end against a loopback HTTP sink — from the moment the sink has accepted a message (its
 * response is written) to the moment our `sent` commit returns. A crash inside that window is the
 * only way a message is sent twice.
 *
 *   node --import tsx bench/outbox.ts [messages]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alertStores, processFindings } from "../src/alerts/lifecycle.ts";
import { OutboxSender } from "../src/alerts/outbox.ts";
import { createLogger } from "../src/lib/log.ts";
import type { Finding } from "../src/messages/finding.ts";
import type { MessageRef, Transport } from "../src/messages/transport.ts";
import type { View } from "../src/messages/view.ts";
import { openStore } from "../src/store/db.ts";

const messages = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(join(tmpdir(), "asm-bench-outbox-"));
const db = openStore(join(dir, "asm.db"));
const stores = alertStores(db);
const config = { alerts: { repeatIntervalMinutes: 240, minFiringSeconds: 0, groupAbove: 1_000_000, resolveAfterMissedScans: 1 } };

const finding = (i: number): Finding => ({
  check: "context",
  subject: `session:claude::${i}`,
  severity: "warning",
  summary: `session ${i} context at 82%`,
  component: `session ${i}`,
  value: "164k tokens (82%)",
  threshold: "80%",
  action: "Compact the session",
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

// 1. Lifecycle: one cycle that creates `messages` alerts, then one where all are unchanged.
const findings = Array.from({ length: messages }, (_, i) => finding(i));
let t = performance.now();
processFindings(stores, findings, { now: Date.now(), config, transports: ["telegram"] });
const createMs = performance.now() - t;
t = performance.now();
processFindings(stores, findings, { now: Date.now() + 1000, config, transports: ["telegram"] });
const steadyMs = performance.now() - t;

// 2. The duplicate window against a loopback sink.
const acceptedAt = new Map<string, number>();
let nextId = 1;
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const id = String(nextId++);
    res.end(JSON.stringify({ ok: true, result: { message_id: id } }), () => acceptedAt.set(id, performance.now()));
  });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sendMessage`;

const sink: Transport = {
  name: "telegram",
  start: async () => {},
  stop: async () => {},
  async send(view: View): Promise<MessageRef> {
    const r = await fetch(url, { method: "POST", body: JSON.stringify(view) });
    const body = (await r.json()) as { result: { message_id: string } };
    return { transport: "telegram", chatId: "-100", messageId: body.result.message_id };
  },
  edit: async () => {},
};

const committedAt = new Map<string, number>();
const markSent = stores.outbox.markSent.bind(stores.outbox);
stores.outbox.markSent = (ids, ref, now, headline) => {
  markSent(ids, ref, now, headline);
  if (ref) committedAt.set(ref.messageId, performance.now());
};

const sender = new OutboxSender({
  transports: [sink],
  outbox: stores.outbox,
  alerts: stores.alerts,
  config: { outbox: { maxAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 10, unknownFateWaitSeconds: 120, maxBlindRetries: 1 } },
  log: createLogger({ level: "silent" }),
});
t = performance.now();
const report = await sender.drainOnce();
const drainMs = performance.now() - t;
server.close();

const windows = [...committedAt].map(([id, at]) => at - acceptedAt.get(id)!);
const commits = sender.stats().commitMs;
console.log(`alerts: ${messages}`);
console.log(`lifecycle: ${createMs.toFixed(1)} ms to create ${messages} alerts + outbox rows; ${steadyMs.toFixed(1)} ms for a cycle where nothing changed`);
console.log(`drain: ${report.sent} sent in ${drainMs.toFixed(0)} ms (${((report.sent / drainMs) * 1000).toFixed(0)} msg/s to a loopback HTTP sink)`);
console.log(`commit only (transport returned → sent committed): mean ${ms(commits.total / sender.stats().delivered)}, max ${ms(commits.max ?? 0)}`);
console.log(`duplicate window (sink accepted → sent committed): p50 ${ms(pct(windows, 50))}, p99 ${ms(pct(windows, 99))}, max ${ms(Math.max(...windows))}`);
db.close();
rmSync(dir, { recursive: true, force: true });
