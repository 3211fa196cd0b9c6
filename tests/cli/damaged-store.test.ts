import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { blankRecord } from "../../src/agents/session.ts";
import { openStore } from "../../src/store/db.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { exitOf, runAsm, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

// Issue 19 item 10, as a user meets it: `asm run` started on an asm.db with damaged pages (header intact).

const hash = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function damagedStore(dir: string): string {
  const path = join(dir, "asm.db");
  const db = openStore(path);
  const sessions = new SessionStore(db);
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) sessions.upsert({ ...blankRecord("claude", null, `s${i}`, 1000), title: `session ${i} ${"t".repeat(80)}` });
  })();
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const pages = (db.prepare("SELECT pageno FROM dbstat WHERE name = 'sessions' ORDER BY pageno").all() as Array<{ pageno: number }>).map((r) => r.pageno);
  db.close();
  const fd = openSync(path, "r+");
  for (const p of [pages[0]!, pages[Math.floor(pages.length / 2)]!]) {
    writeSync(
      fd,
      Buffer.alloc(pageSize, 0).map((_, i) => (i * 7919 + p) & 0xff),
      0,
      pageSize,
      (p - 1) * pageSize,
    );
  }
  closeSync(fd);
  const ro = new Database(path, { readonly: true });
  expect(ro.pragma("quick_check", { simple: true })).not.toBe("ok");
  ro.close();
  return path;
}

describe("asm run on a damaged database", () => {
  it("says so naming the file, writes nothing into it, asm health exits 1, and it stops cleanly", async () => {
    const dir = tempDir();
    const db = damagedStore(dir);
    const before = hash(db);
    const env = { HOME: dir, ASM_DB: db };
    const child = spawnAsm(["run"], env);
    const done = exitOf(child);
    const out = await waitForOutput(child.stdout!, `database damaged: ${db}`);
    expect(out).toMatch(/CRITICAL/);
    // quick_check's first finding, not its whole report: the message stays readable on a phone.
    expect(out).toMatch(/Current value: (Tree|Page|On tree page|\*\*\*)[^\n]*\(\+\d+ more\), found/);

    const health = await runAsm(["health"], env);
    expect(health.code).toBe(1);
    expect(health.stdout).toContain(`store: DAMAGED ${db}`);

    child.kill("SIGTERM");
    expect((await done).code).toBe(0);
    expect(hash(db)).toBe(before);
  });
});
