import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runAsmInProcess } from "../helpers/cli.ts";
import { displayWidth, PHONE } from "../helpers/phone.ts";
import { tempDir } from "../helpers/tmp.ts";

const fake = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const exchange = (scenario: string) => fileURLToPath(new URL(`../fixtures/streams/claude/${scenario}.exchange.jsonl`, import.meta.url));

/**
 * `asm spawn` and `asm workers` as a script or cron job runs them: a config with one workspace and a Claude driver
 * that is the fake agent CLI replaying a recorded Claude Code exchange (it exits 97 on any stdin the recording did
 * not have, so a prompt that went astray cannot pass).
 */
function world(scenario: string) {
  const dir = tempDir("asm-cli-workers-");
  const app = tempDir("asm-cli-workers-app-");
  const stdinLog = join(dir, "stdin.log");
  const configPath = join(dir, "config.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      runner: {
        workspaces: { app },
        drivers: { claude: { command: [process.execPath, fake], env: { FAKE_EXCHANGE: exchange(scenario), FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog } } },
      },
    }),
  );
  const env = { HOME: dir, ASM_CONFIG: configPath, ASM_DB: join(dir, "asm.db") };
  return { env, stdinLog, asm: (...args: string[]) => runAsmInProcess(args, env) };
}

describe("asm spawn / asm workers (the CLI twin of /spawn and /workers)", () => {
  it("spawn --wait --json prints the final record (status, model, turns, tokens, cost, exit code, session id) and exits 0 when completed", async () => {
    const w = world("success");
    const r = await w.asm("spawn", "--wait", "--json", "claude", "app", "fix the test");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.stdout);
    expect(rec).toMatchObject({
      id: "w1",
      status: "completed",
      model: "claude-opus-5-5",
      turns: 1,
      tokens: { input: 15, output: 33, cacheRead: 27008, cacheWrite: 4389 },
      exitCode: 0,
      sessionId: "b3779657-0b7e-4001-b8c0-930e4157c7d2",
      stderrTail: expect.any(String),
    });
    expect(rec.costUsd).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(w.stdinLog, "utf8").split("\n")[0]!).message.content).toBe("fix the test");

    const list = await w.asm("workers", "--all", "--json");
    expect(JSON.parse(list.stdout).map((x: { id: string; status: string }) => `${x.id} ${x.status}`)).toEqual(["w1 completed"]);
    const text = await w.asm("workers", "--all");
    expect(text.stdout).toContain("w1 ✅ completed");
    for (const l of text.stdout.trimEnd().split("\n")) expect(displayWidth(l), l).toBeLessThanOrEqual(PHONE);
    const active = await w.asm("workers");
    expect(active.stdout).toContain("asm spawn <agent> <workspace> <prompt>");
  });

  it("spawn --wait without --json says the same in lines that fit a phone: status, model, tokens, cost, exit, session", async () => {
    const w = world("success");
    const r = await w.asm("spawn", "--wait", "claude", "app", "fix the test");
    expect(r.code).toBe(0);
    for (const want of [
      "✅ completed",
      "model claude-opus-5-5",
      "turns 1 · tokens 31k",
      "cost $0.03",
      "exit 0",
      "session b3779657-0b7e-4001-b8c0-930e4157c7d2",
    ])
      expect(r.stdout).toContain(want);
    // The answer is prose (it wraps); the status lines above it must fit as they are.
    const status = r.stdout.slice(0, r.stdout.indexOf("\nAnswer\n"));
    expect(status).toContain("exit 0");
    for (const l of status.split("\n")) expect(displayWidth(l), l).toBeLessThanOrEqual(PHONE);
  });

  it("a failed worker exits 1 and says its error class, exit code, stderr and what to do next", async () => {
    const w = world("auth401");
    const json = await w.asm("spawn", "--wait", "--json", "claude", "app", "fix the test");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "failed", errorClass: "auth", exitCode: 1 });
    const text = await w.asm("spawn", "--wait", "claude", "app", "fix the test");
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("❌ failed");
    expect(text.stdout).toContain("Error: auth");
    expect(text.stdout).toContain("fix its login on the host");
    expect(text.stdout).toContain("exit 1");
  });

  it("a workspace not in the config, an unknown agent and a missing prompt are clear usage errors (exit 2)", async () => {
    const w = world("success");
    const ws = await w.asm("spawn", "claude", "nope", "fix it");
    expect(ws.code).toBe(2);
    expect(ws.stderr).toContain('no workspace "nope"; configured: app');
    const agent = await w.asm("spawn", "claud", "app", "fix it");
    expect(agent.code).toBe(2);
    expect(agent.stderr).toContain('unknown agent or model "claud"');
    expect(agent.stderr).toContain("claude-code");
    const none = await w.asm("spawn", "claude", "app");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("spawn needs a prompt");
  });

  it("the same agent names as /spawn: claude-code is Claude", async () => {
    const w = world("success");
    const r = await w.asm("spawn", "--json", "Claude-Code", "app", "fix it");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ agent: "claude", status: "queued" });
  });

  it("a prompt that starts with a dash: the error says to put it after --, and after -- it is the prompt, not a flag", async () => {
    const w = world("success");
    const bad = await w.asm("spawn", "claude", "app", "--fix", "the", "test");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown flag --fix");
    expect(bad.stderr).toContain("asm spawn claude app -- --fix");
    const ok = await w.asm("spawn", "--json", "claude", "app", "--", "--fix", "the", "test");
    expect(ok.code).toBe(0);
    const rec = JSON.parse(ok.stdout);
    expect(rec.status).toBe("queued");
    const list = JSON.parse((await w.asm("workers", "--json")).stdout);
    expect(list.map((x: { id: string }) => x.id)).toEqual([rec.id]);
  });
});
