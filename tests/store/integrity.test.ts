import { closeSync, copyFileSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { blankRecord } from "../../src/agents/session.ts";
import { healthInputsOf, healthReport } from "../../src/core/health.ts";
import type { MessageRef } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { startMonitoring } from "../../src/monitor/monitor.ts";
import {
  backupStore,
  checkInThread,
  checkStore,
  damageMarkerOf,
  guardStoreOffThread,
  listBackups,
  readStoreDamage,
  stampTime,
} from "../../src/store/backup.ts";
import { openStore, schemaVersion } from "../../src/store/db.ts";
import { migrations } from "../../src/store/migrations.ts";
import { openRuntime, type Runtime } from "../../src/store/runtime.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { runAsmInProcess } from "../helpers/cli.ts";
import { ViewRecorder } from "../helpers/recorder.ts";
import { tempDir } from "../helpers/tmp.ts";

// Issue 19 item 10: page corruption in asm.db is found at start (quick_check), named in a critical self alert,
// nothing more is written into the file, health says so; backups (before migrations, daily) are the way back.

/** A transport still connecting at start: its first send fails. */
class LateTransport extends ViewRecorder {
  tries = 0;
  override async send(view: View): Promise<MessageRef> {
    if (++this.tries === 1) throw new Error("not connected yet");
    return super.send(view);
  }
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 20));
  }
};

function runtimeAt(home: string, extra: object = {}): Runtime {
  const config = join(home, "asm.json");
  writeFileSync(config, JSON.stringify({ checks: { gateway: { enabled: false } }, ...extra }));
  return openRuntime({ configPath: config, env: { HOME: home, ASM_DB: join(home, "asm.db"), ASM_LOG_LEVEL: "silent" }, logStream: new PassThrough() });
}

/** A real asm.db with 3000 session rows (many pages), closed (WAL checkpointed into the file). */
function populatedStore(home: string): string {
  const rt = runtimeAt(home);
  const sessions = new SessionStore(rt.db);
  rt.db.transaction(() => {
    for (let i = 0; i < 3000; i++) sessions.upsert({ ...blankRecord("claude", null, `s${i}`, 1000), title: `session ${i} ${"t".repeat(80)}` });
  })();
  rt.close();
  return join(home, "asm.db");
}

/** Random bytes over a few pages of the sessions table (its root and leaves), the file header left intact. */
function damagePages(path: string): number[] {
  const ro = new Database(path, { readonly: true });
  const pageSize = ro.pragma("page_size", { simple: true }) as number;
  const pages = (ro.prepare("SELECT pageno FROM dbstat WHERE name = 'sessions' ORDER BY pageno").all() as Array<{ pageno: number }>).map((r) => r.pageno);
  ro.close();
  expect(pages.length).toBeGreaterThan(10);
  const victims = [pages[0]!, pages[Math.floor(pages.length / 2)]!, pages.at(-1)!].filter((p) => p > 1);
  const fd = openSync(path, "r+");
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed & 0xff;
  };
  for (const p of victims) {
    const junk = Buffer.alloc(pageSize, 0).map(() => rand());
    writeSync(fd, junk, 0, pageSize, (p - 1) * pageSize);
  }
  closeSync(fd);
  return victims;
}

describe("a damaged asm.db", () => {
  it("is found at start: a critical self alert names the file, nothing more is written into it, health says so", async () => {
    const home = tempDir();
    const path = populatedStore(home);
    const header = readFileSync(path).subarray(0, 100);
    damagePages(path);
    expect(readFileSync(path).subarray(0, 100)).toEqual(header); // header intact: SQLite opens it without complaint

    const rt = runtimeAt(home);
    try {
      const before = readFileSync(path);
      const transport = new ViewRecorder();
      const late = new LateTransport();
      const m = startMonitoring(rt, { transports: [transport, late] });
      await until(() => transport.sent.some((v) => v.title?.includes("database damaged")));
      // Not through the outbox (the store takes no writes): the send itself is retried until the transport is up.
      await until(() => late.sent.some((v) => v.title?.includes("database damaged")));
      const alert = transport.sent.find((v) => v.title?.includes("database damaged"))!;
      expect(alert.title).toBe(`CRITICAL · database damaged: ${path}`);
      expect(alert.tone).toBe("critical");
      expect(alert.silent).toBe(false);
      expect(alert.sections[0]!.lines.join("\n")).toMatch(/If the database is damaged/);
      await m.stop();
      // Let a cycle try anyway: every job is stopped and the connection refuses writes.
      expect(await m.scheduler.runNow("cycle")).toBe("skipped");
      expect(() => rt.db.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('x', '1', 1)").run()).toThrow(/readonly/);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);

      expect(readStoreDamage(path)).toMatchObject({ path });
      const report = healthReport(healthInputsOf(rt));
      expect(report.status).toBe("degraded");
      const store = report.items.find((i) => i.name === "store")!;
      expect(store.status).toBe("degraded");
      expect(store.detail).toContain(`DAMAGED ${path}`);
      // No daily backup of a damaged store: good backups are not rotated out by bad ones.
      expect(listBackups(join(home, "backups"))).toEqual([]);
    } finally {
      rt.close();
    }
  });

  it("another process's health (asm health) reports the damage, and a restored file clears it", async () => {
    const home = tempDir();
    const path = populatedStore(home);
    const rt0 = runtimeAt(home);
    const good = await backupStore(rt0.db, { dir: join(home, "backups"), keep: 3 }, Date.UTC(2026, 0, 1));
    rt0.close();
    damagePages(path);
    const rt = runtimeAt(home);
    const m = startMonitoring(rt, { transports: [] });
    await until(() => existsSync(damageMarkerOf(path)));
    await m.stop();
    rt.close();

    const other = runtimeAt(home);
    try {
      // Another process opening it (asm scan --once, a restarted asm run) checks again and writes nothing either.
      expect(() => other.db.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('x', '1', 1)").run()).toThrow(/readonly/);
      const report = healthReport(healthInputsOf(other));
      expect(report.status).toBe("degraded");
      expect(report.items.find((i) => i.name === "store")!.detail).toContain(good);
    } finally {
      other.close();
    }
    const cli = await runAsmInProcess(["health"], { HOME: home, ASM_DB: path, ASM_CONFIG: join(home, "asm.json") });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`degraded +store: DAMAGED ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

    // The README's way back: the backup copied over the damaged file; the next start's check clears the mark.
    copyFileSync(good, path);
    expect(existsSync(damageMarkerOf(path))).toBe(true);
    const restored = runtimeAt(home);
    try {
      expect(existsSync(damageMarkerOf(path))).toBe(false);
      expect(checkStore(restored.db)).toEqual([]);
      const m2 = startMonitoring(restored, { transports: [], runAtStart: false });
      expect(await m2.scheduler.runNow("integrity")).toBe("ran");
      expect(await m2.scheduler.runNow("cycle")).toBe("ran");
      await m2.stop();
      expect(m2.scheduler.currentFailures()).toEqual([]);
      expect(new SessionStore(restored.db).count()).toBe(3000);
      expect(healthReport(healthInputsOf(restored)).items.find((i) => i.name === "store")!.status).toBe("ok");
    } finally {
      restored.close();
    }
  });
});

describe("the daily check off the event loop", () => {
  it("reads every page in a thread of its own: a sound store is [] there, a damaged one is named, and the damage is settled here", async () => {
    const home = tempDir();
    const path = populatedStore(home);
    expect(await checkInThread(path)).toEqual([]);
    damagePages(path);
    const inThread = await checkInThread(path);
    expect(inThread.length).toBeGreaterThan(0);
    // The same findings as the check on this thread: the thread is not a weaker check.
    const here = new Database(path, { readonly: true });
    expect(inThread).toEqual(checkStore(here));
    here.close();

    const db = new Database(path);
    try {
      const damage = await guardStoreOffThread(db, path, Date.now());
      expect(damage).toMatchObject({ path, problems: inThread });
      expect(existsSync(damageMarkerOf(path))).toBe(true);
      expect(() => db.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('x', '1', 1)").run()).toThrow(/readonly/);
    } finally {
      db.close();
    }
  });

  it("a thread that cannot answer (no such file for its read-only connection) is an error, not a sound store", async () => {
    await expect(checkInThread(join(tempDir(), "missing.db"))).rejects.toThrow(/store check thread .* crashed/);
  });
});

describe("backups", () => {
  it("a backup's name says when it was taken", () => {
    expect(stampTime("20261205T043402Z")).toBe(Date.UTC(2026, 11, 5, 4, 34, 2));
    expect(Number.isNaN(stampTime("not-a-stamp"))).toBe(true);
  });

  it("one is taken before a migration, and restores to a readable store", () => {
    const dir = tempDir();
    const path = join(dir, "asm.db");
    const older = migrations.slice(0, -1);
    const prev = older.at(-1)!.version;
    const db0 = openStore(path, { migrations: older });
    db0.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('k', '\"v\"', 1)").run();
    db0.close();

    const policy = { dir: join(dir, "backups"), keep: 2 };
    const db = openStore(path, { backup: policy, now: Date.UTC(2026, 11, 5, 3, 0, 0) });
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    db.close();
    const made = listBackups(policy.dir);
    expect(made).toHaveLength(1);
    expect(made[0]!.path).toBe(join(policy.dir, `asm-20261205T030000Z-pre-migration-v${prev}-v${prev + 1}.db`));

    // Restore: the backup copied into place opens, is sound, holds the data, and migrates again.
    const restoredPath = join(dir, "restored.db");
    copyFileSync(made[0]!.path, restoredPath);
    const restored = openStore(restoredPath);
    try {
      expect(checkStore(restored)).toEqual([]);
      expect(restored.prepare("SELECT value FROM kv WHERE key = 'k'").pluck().get()).toBe('"v"');
      expect(schemaVersion(restored)).toBe(migrations.at(-1)!.version);
    } finally {
      restored.close();
    }

    // A fresh database and one already current take none.
    openStore(path, { backup: policy }).close();
    openStore(join(dir, "fresh.db"), { backup: policy }).close();
    expect(listBackups(policy.dir)).toHaveLength(1);
  });

  it("the daily one is an online backup after a passing check, rotated to store.backupKeep", async () => {
    const home = tempDir();
    const rt = runtimeAt(home, { store: { backupKeep: 2 } });
    try {
      const m = startMonitoring(rt, { transports: [], runAtStart: false });
      expect(await m.scheduler.runNow("integrity")).toBe("ran");
      await m.stop();
      expect(listBackups(join(home, "backups"))).toHaveLength(1);
      const policy = { dir: join(home, "backups"), keep: 2 };
      for (const day of [2, 3, 4]) await backupStore(rt.db, policy, Date.UTC(2030, 0, day));
      const kept = listBackups(policy.dir);
      expect(kept.map((b) => b.stamp)).toEqual(["20300104T000000Z", "20300103T000000Z"]);
      const copy = new Database(kept[0]!.path, { readonly: true });
      expect(copy.pragma("quick_check", { simple: true })).toBe("ok");
      expect(copy.pragma("user_version", { simple: true })).toBe(migrations.at(-1)!.version);
      copy.close();
    } finally {
      rt.close();
    }
  });
});
