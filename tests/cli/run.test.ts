import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { exitOf, runAsm, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("asm run", () => {
  it("starts with no token on the console, prints the banner and stops cleanly on SIGTERM", async () => {
    const dir = tempDir();
    const db = join(dir, "data", "asm.db");
    const child = spawnAsm(["run"], { HOME: dir, ASM_DB: db });
    const done = exitOf(child);
    const banner = await waitForOutput(child.stdout!, "watching:");
    expect(banner).toMatch(/asm \d+\.\d+\.\d+ running/);
    expect(banner).toContain(db);
    expect(banner).toMatch(/transports: console/);
    expect(banner).toContain(join(dir, ".codex"));
    expect(banner).toMatch(/not present/);
    child.kill("SIGTERM");
    const { code } = await done;
    expect(code).toBe(0);
    expect(existsSync(db)).toBe(true);
    expect(existsSync(`${db}-wal`), "a clean close checkpoints and removes the WAL").toBe(false);
    const store = openStore(db);
    expect(store.pragma("integrity_check", { simple: true })).toBe("ok");
    store.close();
  });

  it("a second asm run on the same database is refused, naming the first", async () => {
    const dir = tempDir();
    const env = { HOME: dir, ASM_DB: join(dir, "asm.db") };
    const first = spawnAsm(["run"], env);
    const firstDone = exitOf(first);
    await waitForOutput(first.stdout!, "watching:");
    const second = await runAsm(["run"], env);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`another asm run \\(pid ${first.pid} `));
    first.kill("SIGTERM");
    expect((await firstDone).code).toBe(0);
  });

  it("a second signal exits at once", async () => {
    const dir = tempDir();
    const child = spawnAsm(["run"], { HOME: dir, ASM_DB: join(dir, "asm.db") });
    const done = exitOf(child);
    await waitForOutput(child.stdout!, "watching:");
    child.kill("SIGINT");
    child.kill("SIGINT");
    const { code, signal } = await done;
    expect(code === 0 || code === 130 || signal !== null).toBe(true);
  });
});
