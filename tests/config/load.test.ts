import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig, mergeLayers } from "../../src/config/load.ts";
import { tempDir } from "../helpers/tmp.ts";

const env = (extra: Record<string, string> = {}) => ({ HOME: "/home/op", ...extra });

describe("loadConfig layering", () => {
  it("gives every runbook default with no file and no environment", () => {
    const { config, secrets } = loadConfig({ env: env() });
    expect(config.store.path, "the per-user data folder, whatever the working folder").toBe("/home/op/.local/share/asm/asm.db");
    expect(config.checks.context.percentWarning).toBe(80);
    expect(config.checks.gateway.downAfterSeconds).toBe(180);
    expect(config.monitor.intervalSeconds).toBe(60);
    expect(config.checks.quota.minRemaining).toBe(100);
    expect(config.checks.context.tokensByKind.group).toEqual({ warning: 50_000, critical: 150_000 });
    expect(config.sources.codex.root).toBe("/home/op/.codex");
    expect(secrets).toEqual({ telegramBotToken: null, discordToken: null });
  });

  it("layers the user file over defaults and the environment over the file", () => {
    const dir = tempDir();
    const file = join(dir, "asm.json");
    writeFileSync(
      file,
      JSON.stringify({ monitor: { intervalSeconds: 30 }, checks: { context: { percentWarning: 70 } }, sources: { codex: { root: "~/alt-codex" } } }),
    );
    const viaFlag = loadConfig({ configPath: file, env: env({ ASM_CONTEXT_THRESHOLD: "85" }) }).config;
    expect(viaFlag.monitor.intervalSeconds).toBe(30);
    expect(viaFlag.checks.context.percentWarning).toBe(85);
    expect(viaFlag.checks.context.percentCritical).toBe(95);
    expect(viaFlag.sources.codex.root).toBe("/home/op/alt-codex");
    const viaEnv = loadConfig({ env: env({ ASM_CONFIG: file }) });
    expect(viaEnv.config.monitor.intervalSeconds).toBe(30);
    expect(viaEnv.files.at(-1)).toBe(file);
  });

  it("puts the database under XDG_DATA_HOME when it holds an absolute path; ASM_DB wins over both", () => {
    expect(loadConfig({ env: env({ XDG_DATA_HOME: "/srv/data" }) }).config.store.path).toBe("/srv/data/asm/asm.db");
    expect(loadConfig({ env: env({ XDG_DATA_HOME: "relative/data" }) }).config.store.path, "a relative XDG_DATA_HOME is ignored (XDG rule)").toBe(
      "/home/op/.local/share/asm/asm.db",
    );
    expect(loadConfig({ env: env({ XDG_DATA_HOME: "/srv/data", ASM_DB: "/var/lib/asm/asm.db" }) }).config.store.path).toBe("/var/lib/asm/asm.db");
  });

  it("maps the operators' variables and the chat settings", () => {
    const { config, secrets } = loadConfig({
      env: env({
        ASM_GATEWAY_TIMEOUT: "240",
        ASM_MONITOR_INTERVAL: "15",
        ASM_MINIMAX_QUOTA_THRESHOLD: "50",
        ASM_DB: "/var/lib/asm/asm.db",
        ASM_SOURCES__GEMINI__ENABLED: "false",
        ASM_ALERTS__REPEAT_INTERVAL_MINUTES: "60",
        TELEGRAM_BOT_TOKEN: "123456:ABCdefGhIJKlmnoPQRstuVWXyz0123456789",
        TELEGRAM_FEED_CHAT_ID: "-1001234567890",
        TELEGRAM_FEED_TOPIC_ID: "42",
        TELEGRAM_ALLOWED_USER_IDS: "11, 22",
        TELEGRAM_ADMIN_IDS: "11",
        DISCORD_ADMIN_ROLE_IDS: "123456789012345678901",
      }),
    });
    expect(config.checks.gateway.downAfterSeconds).toBe(240);
    expect(config.monitor.intervalSeconds).toBe(15);
    expect(config.checks.quota.minRemaining).toBe(50);
    expect(config.store.path).toBe("/var/lib/asm/asm.db");
    expect(config.sources.gemini.enabled).toBe(false);
    expect(config.alerts.repeatIntervalMinutes).toBe(60);
    expect(config.telegram).toMatchObject({ feedChatId: "-1001234567890", feedTopicId: 42, allowedUserIds: ["11", "22"], adminIds: ["11"] });
    expect(config.discord.adminRoleIds).toEqual(["123456789012345678901"]);
    expect(secrets.telegramBotToken).toMatch(/^123456:/);
    expect(JSON.stringify(config)).not.toContain("ABCdefGhIJK");
  });

  it("lists every problem by its path and says where the value came from", () => {
    const dir = tempDir();
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ sources: { codex: { root: 5 } }, monitor: { intervalSeconds: "soon" }, nope: true }));
    let error: unknown;
    try {
      loadConfig({ configPath: file, env: env({ ASM_CONTEXT_THRESHOLD: "lots" }) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/sources\.codex\.root: .*expected string.*\(from .*bad\.json\)/);
    expect(problems).toMatch(/monitor\.intervalSeconds: .*expected number/);
    expect(problems).toMatch(/checks\.context\.percentWarning: .*\(from ASM_CONTEXT_THRESHOLD\)/);
    expect(problems).toMatch(/nope/);
  });

  it("rejects warning/critical thresholds that are swapped, naming both", () => {
    const dir = tempDir();
    const file = join(dir, "swapped.json");
    writeFileSync(
      file,
      JSON.stringify({
        checks: {
          context: { percentWarning: 95, percentCritical: 80, tokensByKind: { dm: { warning: 150_000, critical: 100_000 } } },
          quota: { usedPercentWarning: 90, usedPercentCritical: 90 },
        },
      }),
    );
    let error: unknown;
    try {
      loadConfig({ configPath: file, env: env() });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/checks\.context\.percentCritical: must be above percentWarning \(80 is not above 95\)/);
    expect(problems).toMatch(/checks\.context\.tokensByKind\.dm\.critical: must be above warning \(100000 is not above 150000\)/);
    expect(problems).toMatch(/checks\.quota\.usedPercentCritical: must be above usedPercentWarning \(90 is not above 90\)/);
    // In order, and the defaults, load.
    expect(loadConfig({ env: env({ ASM_CONTEXT_THRESHOLD: "85" }) }).config.checks.context.percentWarning).toBe(85);
  });

  it("blames an unknown key on the variable or file that set it, not on config/default.json", () => {
    const dir = tempDir();
    const file = join(dir, "typo.json");
    writeFileSync(file, JSON.stringify({ sources: { claude: { rooot: "~/x" } } }));
    let error: unknown;
    try {
      loadConfig({ configPath: file, env: env({ ASM_SOURCES__CODEX__ENABLD: "false" }) });
    } catch (err) {
      error = err;
    }
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/sources\.codex: .*enabld.* \(from ASM_SOURCES__CODEX__ENABLD\)/);
    expect(problems).toMatch(/sources\.claude: .*rooot.* \(from .*typo\.json\)/);
    expect(problems).not.toContain("default.json");
  });

  it("refuses a file that is not JSON, naming the file", () => {
    const dir = tempDir();
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ monitor: ");
    expect(() => loadConfig({ configPath: file, env: env() })).toThrow(/broken\.json is not valid JSON/);
    expect(() => loadConfig({ configPath: join(dir, "missing.json"), env: env() })).toThrow(/cannot read config file .*ENOENT/);
  });

  it("does not accept tokens from a file", () => {
    const dir = tempDir();
    const file = join(dir, "secret.json");
    writeFileSync(file, JSON.stringify({ telegram: { botToken: "123:abc" } }));
    expect(() => loadConfig({ configPath: file, env: env() })).toThrow(/telegram.*botToken/);
  });
});

describe("mergeLayers", () => {
  it("merges objects deeply and replaces arrays", () => {
    expect(mergeLayers({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });
});
