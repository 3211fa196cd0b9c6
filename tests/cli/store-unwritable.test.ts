import { spawn } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asmBin, type CliResult } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * A database asm cannot write exits 3 with what to fix, never 70 with a stack trace, for every command
 * (`health` too). Root writes through any file mode, so as root the CLI runs as `nobody` (uid 65534):
 * the same refusal a normal user meets.
 */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

function asm(args: string[], env: Record<string, string>): Promise<CliResult> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(base)) if (/^(ASM_|TELEGRAM_|DISCORD_)/.test(key)) delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [asmBin, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"], ...asUser });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temp HOME the CLI's user can write. */
function home(): string {
  const dir = tempDir("asm-unwritable-");
  chmodSync(dir, 0o777);
  return dir;
}

const noStack = /\n\s+at /;

describe("an unwritable database", () => {
  it("asm.db with mode 444: every command exits 3 naming the file and the fix", { timeout: 60_000 }, async () => {
    const h = home();
    const db = join(h, "asm.db");
    const env = { HOME: h, ASM_DB: db, ASM_LOG_LEVEL: "error" };
    expect((await asm(["scan", "--once"], env)).code).toBe(0);
    chmodSync(db, 0o444);
    for (const args of [["scan", "--once"], ["health"], ["run"]]) {
      const r = await asm(args, env);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`the database ${db} is not writable`);
      expect(r.stderr).toMatch(/chmod u\+rw .*ASM_DB/);
      expect(r.stderr).not.toMatch(noStack);
    }
  });

  it("ASM_DB under a missing folder inside a read-only one: exit 3, the folder named", { timeout: 60_000 }, async () => {
    const h = home();
    const ro = join(h, "ro");
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const db = join(ro, "missing", "asm.db");
    const scan = await asm(["scan", "--once"], { HOME: h, ASM_DB: db, ASM_LOG_LEVEL: "error" });
    expect(scan.code, scan.stderr).toBe(3);
    expect(scan.stderr).toContain(`cannot create the folder ${join(ro, "missing")}`);
    expect(scan.stderr).not.toMatch(noStack);
    // health only reads: it names the missing database and creates nothing.
    const health = await asm(["health"], { HOME: h, ASM_DB: db, ASM_LOG_LEVEL: "error" });
    expect(health.code, health.stderr).toBe(3);
    expect(health.stderr).toContain(`no database at ${db}`);
    expect(health.stderr).not.toMatch(noStack);
  });
});
