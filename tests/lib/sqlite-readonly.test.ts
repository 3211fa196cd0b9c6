import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { AgentDbError, openAgentDb } from "../../src/lib/sqlite-readonly.ts";
import { tempDir } from "../helpers/tmp.ts";

const reader = fileURLToPath(new URL("./read-agent-db.ts", import.meta.url));
/** Root reads and writes through any file mode: as root the reader runs as `nobody`, the refusal a user meets. */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A WAL-mode store like OpenCode's and OpenClaw's, with `names` in its session table, closed cleanly (no -wal, no -shm). */
function walStore(dir: string, names: string[]): string {
  const path = join(dir, "opencode.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE session (name TEXT)");
  for (const name of names) db.prepare("INSERT INTO session VALUES (?)").run(name);
  db.close();
  return path;
}

/** The store's folder as a read-only mount shows it: nothing in it can be created or changed. */
function readOnly(dir: string): void {
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o444);
  chmodSync(dir, 0o555);
}

interface ReaderOutput {
  writable: boolean;
  reads: (string[] | { error: string })[];
}

/** Runs the reader as the unprivileged user; `between` runs (as the test, root or not) between reads. */
function readAs(path: string, reads: number, between: () => void = () => {}): Promise<ReaderOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", reader, path, String(reads)], { stdio: ["pipe", "pipe", "pipe"], ...asUser });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.endsWith("read\n")) {
        out = "";
        between();
        child.stdin.write("next\n");
      }
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1)!) as ReaderOutput);
      } catch {
        reject(new Error(`reader printed ${JSON.stringify(out)}; stderr: ${err}`));
      }
    });
  });
}

/** A folder the unprivileged reader can reach, with the store's folder inside it. */
function mountDir(): { root: string; store: string } {
  const root = tempDir("asm-ro-mount-");
  chmodSync(root, 0o755);
  const store = join(root, "opencode");
  mkdirSync(store);
  return { root, store };
}

describe("openAgentDb on a read-only mount", () => {
  it("reads a stopped agent's WAL store (no -shm) from a folder it cannot write, and creates nothing there", { timeout: 60_000 }, async (ctx) => {
    const { store } = mountDir();
    const path = walStore(store, ["alpha", "beta"]);
    expect(readdirSync(store)).toEqual(["opencode.db"]);
    readOnly(store);
    const r = await readAs(path, 1);
    if (r.writable) ctx.skip("the store's folder is writable for this user despite mode 555 (root without a user to drop to): nothing to prove");
    expect(r.reads).toEqual([["alpha", "beta"]]);
    expect(readdirSync(store)).toEqual(["opencode.db"]);
  });

  it("sees what a crashed agent left in its -wal, and a change to the store on the next read", { timeout: 60_000 }, async (ctx) => {
    const { root, store } = mountDir();
    // The agent's live folder: a writer holds the store open, so its last rows are only in the -wal.
    const live = join(root, "live");
    mkdirSync(live);
    const livePath = walStore(live, ["alpha"]);
    const writer = new Database(livePath);
    writer.pragma("wal_autocheckpoint = 0");
    writer.prepare("INSERT INTO session VALUES (?)").run("in-wal");
    // The mount as the agent left it when it was killed: the store and its -wal, no -shm.
    const path = join(store, "opencode.db");
    copyFileSync(livePath, path);
    copyFileSync(`${livePath}-wal`, `${path}-wal`);
    readOnly(store);
    let changed = false;
    const r = await readAs(path, 2, () => {
      // The agent ran again and wrote one more session (the test's user may write; the reader may not).
      writer.prepare("INSERT INTO session VALUES (?)").run("later");
      chmodSync(store, 0o755);
      for (const suffix of ["", "-wal"]) {
        chmodSync(`${path}${suffix}`, 0o644);
        copyFileSync(`${livePath}${suffix}`, `${path}${suffix}`);
      }
      readOnly(store);
      changed = true;
    });
    writer.close();
    if (r.writable) ctx.skip("the store's folder is writable for this user despite mode 555 (root without a user to drop to): nothing to prove");
    expect(changed).toBe(true);
    expect(r.reads).toEqual([
      ["alpha", "in-wal"],
      ["alpha", "in-wal", "later"],
    ]);
    expect(readdirSync(store).sort()).toEqual(["opencode.db", "opencode.db-wal"]);
  });

  it("still names the store when it is not a database at all", () => {
    const dir = tempDir("asm-ro-bad-");
    const path = join(dir, "opencode.db");
    copyFileSync(fileURLToPath(import.meta.url), path);
    expect(() => openAgentDb(path)).toThrow(AgentDbError);
    expect(() => openAgentDb(path)).toThrow(path);
    expect(existsSync(`${path}-shm`)).toBe(false);
  });
});
