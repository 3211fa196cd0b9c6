import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runAsm, runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const home = () => {
  const dir = tempDir();
  return { HOME: dir, ASM_DB: join(dir, "asm.db") };
};

describe("asm CLI", () => {
  it("prints help and version", async () => {
    const help = await runAsm(["--help"], home());
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: asm <command>/);
    const version = await runAsm(["--version"], home());
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    [["bogus"], /unknown command "bogus"/],
    // Our words, not Node's parseArgs text ("To specify a positional argument starting with a '-'…").
    [["sessions", "--frobnicate"], /^asm: unknown flag --frobnicate; this command takes --config <value>, --help, --version, .*--json/m],
    [["sessions", "--platform"], /--platform needs a value/],
    [["scan"], /scan needs --once/],
    [["check"], /check needs --once/],
    [["sessions", "--sort", "bogus"], /--sort must be/],
    [["sessions", "--platform", "bogus"], /unknown platform "bogus"/],
    [["config"], /config needs a subcommand/],
    [["config", "check", "extra", "more"], /unexpected argument/],
  ])("%j is a usage error with one clear line and exit 2", async (args, message) => {
    const r = await runAsmInProcess(args, home());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an invalid config file stops with every problem by path, exit 2", async () => {
    const env = home();
    const file = join(env.HOME, "asm.json");
    writeFileSync(file, JSON.stringify({ sources: { codex: { root: 7 } }, checks: { context: { percentWarning: 500 } } }));
    const r = await runAsm(["run"], { ...env, ASM_CONFIG: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sources\.codex\.root: .*expected string/);
    expect(r.stderr).toMatch(/checks\.context\.percentWarning: .*100/);
  });

  it("creates no database from a command that only reads: a missing one is named, exit 3", async () => {
    const env = home();
    const typo = { ...env, ASM_DB: join(env.HOME, "asm-typo.db") };
    for (const args of [["sessions"], ["health"], ["workers"], ["usage"], ["fallback"], ["memory", "abc"]]) {
      const r = await runAsmInProcess(args, typo);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`no database at ${typo.ASM_DB}: this command only reads one and creates nothing`);
      expect(r.stderr).toContain("Check ASM_DB");
    }
    const config = await runAsmInProcess(["config", "check"], typo);
    expect(config.code).toBe(0);
    expect(existsSync(typo.ASM_DB)).toBe(false);
    expect(readdirSync(env.HOME)).toEqual([]);
  });

  it("puts the database in the per-user data folder by default, whatever the working folder", async () => {
    const dir = tempDir();
    const r = await runAsm(["scan", "--once"], { HOME: dir, ASM_DB: undefined, XDG_DATA_HOME: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, ".local", "share", "asm", "asm.db"))).toBe(true);
    const health = await runAsm(["health", "--json"], { HOME: dir, ASM_DB: undefined, XDG_DATA_HOME: undefined });
    expect(JSON.parse(health.stdout).items.find((i: { name: string }) => i.name === "store")?.detail).toContain(join(dir, ".local", "share", "asm", "asm.db"));
  });

  it("works on an empty store", async () => {
    const env = home();
    expect((await runAsmInProcess(["scan", "--once"], env)).code).toBe(0);
    const sessions = await runAsmInProcess(["sessions", "--json"], env);
    expect(sessions.code).toBe(0);
    expect(JSON.parse(sessions.stdout)).toEqual([]);
    const table = await runAsmInProcess(["sessions"], env);
    expect(table.stdout).toMatch(/No sessions in the store yet/);
    const scan = await runAsmInProcess(["scan", "--once", "--json"], env);
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.stdout)).toEqual([]);
    const health = await runAsmInProcess(["health", "--json"], env);
    expect([0, 1]).toContain(health.code);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: expect.stringMatching(/ok|degraded/) });
  });
});
