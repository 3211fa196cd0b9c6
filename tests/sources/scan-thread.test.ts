import { type ChildProcess, spawn } from "node:child_process";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { startService } from "../../src/monitor/service.ts";
import { runScan, scanThreads, splitPlatforms } from "../../src/sources/scan.ts";
import { openStore } from "../../src/store/db.ts";
import { runtimeOver } from "../../src/store/runtime.ts";
import { Capture, rig } from "../core/setup.ts";
import { tempDir } from "../helpers/tmp.ts";

const real = join(import.meta.dirname, "../fixtures/real");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Every real fixture tree copied into one HOME, and the config whose sources read it. */
function realHome() {
  const home = tempDir("asm-thread-");
  for (const [from, to] of [
    ["claude/.claude", ".claude"],
    ["codex/.codex", ".codex"],
    ["gemini/.gemini", ".gemini"],
    ["openclaw/.openclaw", ".openclaw"],
    ["opencode/.local", ".local"],
    ["opencode/.config", ".config"],
  ] as const)
    cpSync(join(real, from), join(home, to), { recursive: true });
  const sources = {
    openclaw: { root: join(home, ".openclaw"), legacyRoots: [] },
    claude: { root: join(home, ".claude/projects"), extraRoots: [] },
    codex: { root: join(home, ".codex") },
    opencode: { root: join(home, ".local/share/opencode") },
    gemini: { root: join(home, ".gemini") },
  };
  return { home, sources };
}

/** A fresh asm store under `dir` reading `sources`. */
function store(dir: string, sources: object) {
  const path = join(dir, "asm.db");
  const config = configSchema.parse({ store: { path }, sources, log: { level: "silent" } });
  const rt = runtimeOver(openStore(path), config);
  cleanups.push(() => rt.close());
  return rt;
}

/** What a scan leaves in the store, without row ids. */
function stored(rt: ReturnType<typeof store>) {
  return {
    sessions: rt.db.prepare("SELECT * FROM sessions ORDER BY uid").all(),
    turns: rt.db.prepare("SELECT * FROM turns ORDER BY session_uid, ts, input, output").all(),
    files: rt.db.prepare("SELECT COUNT(*) FROM files").pluck().get(),
  };
}

describe("scan threads", () => {
  it("auto is one thread; platforms are dealt round-robin over N, never into an empty group", () => {
    expect(scanThreads("auto")).toBe(1);
    expect(scanThreads(0)).toBe(0);
    expect(scanThreads(3)).toBe(3);
    expect(splitPlatforms(["claude", "codex", "openclaw", "opencode", "gemini"], 2)).toEqual([
      ["claude", "openclaw", "gemini"],
      ["codex", "opencode"],
    ]);
    expect(splitPlatforms(["claude"], 2)).toEqual([["claude"]]);
  });

  it("store the same sessions and turns from the real fixtures as the in-process scan, twice over", async () => {
    const { home, sources } = realHome();
    const here = store(join(home, "a"), sources);
    const threaded = store(join(home, "b"), sources);
    const now = Date.parse("2026-12-05T04:00:00Z");
    const a = await runScan(here, undefined, now, { threads: 0 });
    const b = await runScan(threaded, undefined, now, { threads: 2 });
    expect(b.results.map((r) => r.platform)).toEqual(a.results.map((r) => r.platform));
    expect(b.results.flatMap((r) => r.errors)).toEqual([]);
    expect(b.results).toEqual(a.results);
    const rows = stored(threaded);
    expect(new Set((rows.sessions as { platform: string }[]).map((s) => s.platform))).toEqual(new Set(["claude", "codex", "gemini", "openclaw", "opencode"]));
    expect(rows).toEqual(stored(here));
    // The second cycle reads nothing new in either, from the offsets the threads wrote.
    const again = await runScan(threaded, undefined, now + 60_000, { threads: 2 });
    expect(again.results.reduce((n, r) => n + r.sessionsUpdated, 0)).toBe(0);
    expect(threaded.kv.get("scan.last")).toMatchObject({ errors: [], filesSeen: b.results.reduce((n, r) => n + r.filesSeen, 0) });
  });

  it("a thread that crashes is an error on its sources' results (a self finding), and the next scan works", async () => {
    const { home, sources } = realHome();
    const rt = store(home, sources);
    // A heap far too small for the scan: V8 ends the thread (ERR_WORKER_OUT_OF_MEMORY), as a real runaway would.
    const crashed = await runScan(rt, undefined, Date.now(), { threads: 2, resourceLimits: { maxOldGenerationSizeMb: 2, maxYoungGenerationSizeMb: 1 } });
    const errors = crashed.results.flatMap((r) => r.errors);
    expect(errors.length).toBe(5);
    expect(errors[0]).toMatch(/^scan thread for claude, openclaw, gemini crashed: .*; the next cycle starts a fresh one$/);
    expect(rt.kv.get<{ errors: string[] }>("scan.last")!.errors).toEqual(errors);
    const hung = await runScan(rt, undefined, Date.now(), { threads: 1, threadTimeoutMs: 1 });
    expect(hung.results[0]!.errors[0]).toMatch(/did not finish within 0 s and was stopped/);
    const next = await runScan(rt, undefined, Date.now(), { threads: 2 });
    expect(next.results.flatMap((r) => r.errors)).toEqual([]);
    expect(rt.sessions.count()).toBeGreaterThan(0);
  });
});

/** A child process holding `db` under an exclusive lock, writing, until killed; resolves once the lock is held. */
function holdExclusive(db: string): Promise<ChildProcess> {
  const code = `
    const db = new (require("better-sqlite3"))(process.argv[1]);
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS asm_lock_test (x)");
    db.prepare("INSERT INTO asm_lock_test VALUES (1)").run();
    process.stdout.write("locked\\n");
    setInterval(() => db.prepare("INSERT INTO asm_lock_test VALUES (1)").run(), 50);
  `;
  const child = spawn(process.execPath, ["-e", code, db], { cwd: join(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => child.kill("SIGKILL"));
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
}

describe("a locked agent database", () => {
  /**
   * Starts asm with the console while another process holds an OpenCode store under an exclusive lock (the
   * read busy-waits 2 s, then gives up), types /health a second in, and says in which order three things
   * happened: the answer, the end of the wait (the source's "unreadable" line), the end of the cycle.
   */
  async function healthDuringLockedScan(threads: number): Promise<string[]> {
    const t = rig({ sources: { threads, opencode: { enabled: true } }, log: { level: "info" } });
    cleanups.push(() => t.rt.close());
    cpSync(join(real, "opencode/.local"), join(t.home, ".local"), { recursive: true });
    await holdExclusive(join(t.home, ".local/share/opencode/opencode.db"));
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = new Capture();
    const events: string[] = [];
    const service = await startService(t.rt, { consoleIn: input, consoleOut: out });
    cleanups.push(() => service.stop());
    // A timer, not an await: in the main thread it fires only once the busy wait lets go.
    setTimeout(() => input.write("/health\n"), 1000);
    const seen = (name: string, yes: boolean) => yes && !events.includes(name) && events.push(name);
    const deadline = Date.now() + 20_000;
    while (events.length < 3 && Date.now() < deadline) {
      seen("answer", out.text.includes("asm health:"));
      seen("lock wait over", t.log.text.includes("OpenCode store unreadable"));
      seen("cycle done", t.log.text.includes('"check cycle"'));
      await new Promise((r) => setTimeout(r, 5));
    }
    // The scan met the lock: the store could not be read this cycle (a reported error, not a stall).
    expect(t.rt.kv.get<{ errors: string[] }>("scan.last")?.errors.join(" ")).toMatch(/opencode\.db: database is locked/);
    return events;
  }

  it("does not delay a command: /health answers while the scan thread still waits on the lock", async () => {
    expect(await healthDuringLockedScan(1)).toEqual(["answer", "lock wait over", "cycle done"]);
  }, 30_000);

  it("(control, today's path) a scan in the main thread holds the answer until the wait is over", async () => {
    const events = await healthDuringLockedScan(0);
    expect(events.indexOf("lock wait over")).toBeLessThan(events.indexOf("answer"));
  }, 30_000);
});
