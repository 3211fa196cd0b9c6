import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { spawnAsm } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * The crash test: a real `asm run` child drains many alerts to its console transport (stdout),
 * is killed with SIGKILL mid-drain, and restarted. Every alert must be printed, and printed twice
 * only if its row was the one in flight at the kill (the documented duplicate window).
 *
 * The alerts come through the real pipeline: N real-format Claude Code transcripts over a small
 * size limit make the transcript check fire N times in the first cycle.
 */

const sessions = 600;

/** Alert messages in console output, keyed by type + component (one per alert). */
function printedAlerts(out: string): string[] {
  const keys: string[] = [];
  for (const block of out.split(/^── #\d+ /m).slice(1)) {
    const type = /^Type: (.+)$/m.exec(block)?.[1];
    const component = /^Component: (.+)$/m.exec(block)?.[1];
    if (type && component && !block.includes("(updated)")) keys.push(`${type} ${component}`);
  }
  return keys;
}

const exited = (child: ReturnType<typeof spawnAsm>) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

describe("crash safety", () => {
  it("SIGKILL mid-drain, restart: every alert delivered, a duplicate only for the row in flight", async () => {
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
      }),
    );
    const env = { HOME: home, ASM_DB: db, ASM_LOG_LEVEL: "warn" };

    // Run 1: killed as soon as part of the feed is out.
    const first = spawnAsm(["run", "--config", config], env);
    const firstDone = exited(first);
    let out1 = "";
    await new Promise<void>((resolve) => {
      first.stdout!.on("data", (d: Buffer) => {
        out1 += d.toString();
        if (printedAlerts(out1).length >= 20) {
          first.kill("SIGKILL");
          resolve();
        }
      });
    });
    expect((await firstDone).signal).toBe("SIGKILL");
    const store = openStore(db);
    const statuses = Object.fromEntries(
      (store.prepare("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
    );
    const inFlight = (store.prepare("SELECT alert_ids FROM outbox WHERE status = 'sending'").all() as { alert_ids: string }[]).flatMap(
      (r) => JSON.parse(r.alert_ids) as number[],
    );
    const inFlightKeys = inFlight.map((id) => {
      const a = store.prepare("SELECT report FROM alerts WHERE id = ?").get(id) as { report: string };
      const f = JSON.parse(a.report) as { check: string; component: string };
      return `${f.check} ${f.component}`;
    });
    store.close();
    expect(statuses.pending ?? 0, "the kill landed mid-drain (rows still pending)").toBeGreaterThan(0);
    expect(inFlight.length, "one sender, one row in flight at most").toBeLessThanOrEqual(1);

    // Run 2: drains the rest, then stops cleanly.
    const second = spawnAsm(["run", "--config", config], env);
    const secondDone = exited(second);
    let out2 = "";
    second.stdout!.on("data", (d: Buffer) => (out2 += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = openStore(db);
      const left = (s.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')").get() as { n: number }).n;
      const total = (s.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number }).n;
      s.close();
      if (left === 0 && total >= sessions) break;
      if (Date.now() > deadline) throw new Error(`outbox not drained: ${left} left`);
      await new Promise((r) => setTimeout(r, 100));
    }
    second.kill("SIGTERM");
    expect((await secondDone).code).toBe(0);

    const counts = new Map<string, number>();
    for (const key of [...printedAlerts(out1), ...printedAlerts(out2)]) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const id of ids) {
      expect(counts.get(`transcript session claude::${id}`), `alert for ${id}`).toBeGreaterThanOrEqual(1);
    }
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    for (const d of duplicates) expect(inFlightKeys, `${d} printed twice but was not in flight at the kill`).toContain(d);
    expect([...counts.values()].every((n) => n <= 2)).toBe(true);
  }, 120_000);
});
