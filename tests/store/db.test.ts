import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { latestVersion, MigrationError, openStore, StoreOpenError, StoreVersionError, schemaVersion } from "../../src/store/db.ts";
import { migrations } from "../../src/store/migrations.ts";
import { runAsm } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe("openStore", () => {
  it("creates the folder and a fresh database at the latest version with WAL and foreign keys", () => {
    const path = join(tempDir(), "nested", "deeper", "asm.db");
    const db = openStore(path);
    expect(schemaVersion(db)).toBe(latestVersion);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBeGreaterThan(0);
    expect(tables(db)).toEqual(expect.arrayContaining(["sessions", "files", "turns", "kv", "alerts", "outbox", "actions"]));
    db.close();
  });

  it("upgrades a database written by an older version, keeping its rows", () => {
    const path = join(tempDir(), "asm.db");
    const old = openStore(path, { migrations: migrations.slice(0, 1) });
    old.prepare("INSERT INTO kv(key, value, updated_at) VALUES ('k', '\"v\"', 1)").run();
    expect(schemaVersion(old)).toBe(1);
    old.close();
    const db = openStore(path);
    expect(schemaVersion(db)).toBe(latestVersion);
    expect(db.prepare("SELECT value FROM kv WHERE key = 'k'").get()).toEqual({ value: '"v"' });
    expect(tables(db)).toContain("actions");
    db.close();
  });

  it("refuses a database written by a newer version and leaves it untouched", () => {
    const path = join(tempDir(), "asm.db");
    const raw = new Database(path);
    raw.exec("CREATE TABLE future(x); INSERT INTO future VALUES (1);");
    raw.pragma("user_version = 999");
    raw.close();
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    expect(() => openStore(path)).toThrow(StoreVersionError);
    expect(() => openStore(path)).toThrow(/schema version 999.*newer asm/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  it("rolls back a migration that fails and keeps the previous version", () => {
    const path = join(tempDir(), "asm.db");
    const broken = [...migrations.slice(0, 1), { version: 2, name: "broken", sql: "CREATE TABLE ok_part(x); CREATE TABLE kv(x);" }];
    expect(() => openStore(path, { migrations: broken })).toThrow(MigrationError);
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).toBe(1);
    expect(tables(db)).not.toContain("ok_part");
    db.close();
  });

  it("the CLI exits 3 with a clear message on a newer database", async () => {
    const dir = tempDir();
    const path = join(dir, "asm.db");
    const raw = new Database(path);
    raw.pragma("user_version = 999");
    raw.close();
    const r = await runAsm(["sessions"], { HOME: dir, ASM_DB: path });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/schema version 999.*Upgrade asm/);
  });

  it("refuses a file that is not a database with a clear error", () => {
    const path = join(tempDir(), "asm.db");
    writeFileSync(path, "this is not sqlite, just text that is long enough to look like a header......");
    expect(() => openStore(path)).toThrow(StoreOpenError);
    expect(() => openStore(path)).toThrow(/cannot open database .*not a database/);
  });
});
