import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readable } from "../../src/alerts/readable.ts";
import { openStore } from "../../src/store/db.ts";
import { FakeTelegramApi } from "../fakes/telegram-api.ts";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { exitOf, spawnAsm } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * The crash test: a real `asm run` child drains many alerts, is killed with SIGKILL mid-drain,
 * and restarted. Every alert must be delivered, and delivered twice only if its row was the one
 * in flight at the kill (the documented duplicate window). Run against the console transport
 * (stdout) and against a fake Telegram Bot API on loopback (real HTTP, grammY in the child).
 *
 * The alerts come through the real pipeline: N real-format Claude Code transcripts over a small
 * size limit make the transcript check fire N times in the first cycle.
 */

/** Where the child delivers, and how to read back what it delivered (one key per alert message). */
interface Sink {
  env: Record<string, string>;
  config: Record<string, unknown>;
  /** Alert messages delivered so far, keyed "type component"; `stdout` is everything the children printed. */
  delivered(stdout: string): string[];
}

/** Alert messages in console output, keyed by type + component. */
function printedAlerts(out: string): string[] {
  const keys: string[] = [];
  for (const block of out.split(/^── m\d+ /m).slice(1)) {
    const key = alertKey(block);
    if (key && !block.includes("(updated)")) keys.push(key);
  }
  return keys;
}

function alertKey(text: string): string | undefined {
  const type = /^Type: (.+)$/m.exec(text)?.[1];
  const component = /^Component: (.+)$/m.exec(text)?.[1];
  return type && component ? `${type} ${component}` : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function outboxState(db: string) {
  const store = openStore(db);
  try {
    const statuses = Object.fromEntries(
      (store.prepare("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
    );
    const inFlight = (store.prepare("SELECT alert_ids FROM outbox WHERE status = 'sending'").all() as { alert_ids: string }[]).flatMap(
      (r) => JSON.parse(r.alert_ids) as number[],
    );
    const inFlightKeys = inFlight.map((id) => {
      const f = JSON.parse((store.prepare("SELECT report FROM alerts WHERE id = ?").get(id) as { report: string }).report) as {
        check: string;
        component: string;
      };
      // As the message shows it (short session ids), to compare with what was delivered.
      return `${f.check} ${readable(f.component)}`;
    });
    return { statuses, inFlightKeys };
  } finally {
    store.close();
  }
}

async function crashAndRestart(sink: Sink, sessions: number) {
  const home = tempDir("asm-crash-");
  const ids = writeClaudeSessions(home, sessions, new Date(), "-work-crash");
  const db = join(home, "asm.db");
  const config = join(home, "asm.json");
  writeFileSync(
    config,
    JSON.stringify({
      console: { prompt: "never" },
      alerts: { groupAbove: 100_000 },
      monitor: { intervalSeconds: 3600, gatewayIntervalSeconds: 3600, logsIntervalSeconds: 3600 },
      checks: { transcript: { maxBytes: 1000, sizePlatforms: ["claude"] }, gateway: { enabled: false }, logs: { enabled: false } },
      ...sink.config,
    }),
  );
  const env = { HOME: home, ASM_DB: db, ASM_LOG_LEVEL: "warn", ...sink.env };
  let stdout = "";

  // Run 1: killed as soon as part of the feed is out.
  const first = spawnAsm(["run", "--config", config], env);
  const firstDone = exitOf(first);
  first.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const deadline1 = Date.now() + 60_000;
  while (sink.delivered(stdout).length < 20) {
    if (Date.now() > deadline1) throw new Error("the first run delivered too little");
    await sleep(5);
  }
  first.kill("SIGKILL");
  expect((await firstDone).signal).toBe("SIGKILL");
  const atKill = outboxState(db);
  expect(atKill.statuses.pending ?? 0, "the kill landed mid-drain (rows still pending)").toBeGreaterThan(0);
  expect(atKill.inFlightKeys.length, "one sender, one row in flight at most").toBeLessThanOrEqual(1);

  // Run 2: drains the rest, then stops cleanly.
  const second = spawnAsm(["run", "--config", config], env);
  const secondDone = exitOf(second);
  second.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const deadline2 = Date.now() + 90_000;
  for (;;) {
    const { statuses } = outboxState(db);
    const left = (statuses.pending ?? 0) + (statuses.sending ?? 0);
    if (left === 0 && (statuses.sent ?? 0) >= sessions) break;
    if (Date.now() > deadline2) throw new Error(`outbox not drained: ${JSON.stringify(statuses)}`);
    await sleep(100);
  }
  second.kill("SIGTERM");
  expect((await secondDone).code).toBe(0);

  const counts = new Map<string, number>();
  for (const key of sink.delivered(stdout)) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const id of ids) expect(counts.get(`transcript session claude ${id.slice(0, 8)}`), `alert for ${id}`).toBeGreaterThanOrEqual(1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  for (const d of duplicates) expect(atKill.inFlightKeys, `${d} delivered twice but was not in flight at the kill`).toContain(d);
  expect([...counts.values()].every((n) => n <= 2)).toBe(true);
  return { atKill, duplicates };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe("crash safety", () => {
  it("console: SIGKILL mid-drain, restart: every alert printed, a duplicate only for the row in flight", async () => {
    await crashAndRestart({ env: {}, config: {}, delivered: printedAlerts }, 600);
  }, 180_000);

  it("Telegram: SIGKILL mid-drain to a loopback Bot API, restart: every alert posted, a duplicate only for the row in flight", async () => {
    const fake = await FakeTelegramApi.start({ maxPollMs: 1000 });
    closers.push(() => fake.close());
    const chatId = -1001234567890;
    const topicId = 42;
    fake.addChat({ id: chatId, type: "supergroup", title: "Ops", is_forum: true });
    fake.addTopic(chatId, topicId, "Agent alerts");
    const sessions = 150;
    // Each post takes a little while, as over a real network, so the kill lands mid-drain.
    fake.slow("sendMessage", 10, sessions * 2);
    const { duplicates } = await crashAndRestart(
      {
        env: {
          TELEGRAM_BOT_TOKEN: fake.token,
          TELEGRAM_API_ROOT: fake.apiRoot,
          TELEGRAM_FEED_CHAT_ID: String(chatId),
          TELEGRAM_FEED_TOPIC_ID: String(topicId),
        },
        config: { telegram: { maxMessagesPerMinute: 100_000 } },
        delivered: () =>
          fake
            .messagesIn(chatId)
            .filter((m) => m.message_thread_id === topicId)
            .map((m) => alertKey(m.text))
            .filter((k): k is string => k !== undefined),
      },
      sessions,
    );
    expect(duplicates.length).toBeLessThanOrEqual(1);
  }, 180_000);
});
