import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { claudeDriver } from "../../../src/agents/claude/driver.ts";
import { codexDriver } from "../../../src/agents/codex/driver.ts";
import type { Driver } from "../../../src/agents/driver.ts";
import type { Platform } from "../../../src/agents/session.ts";
import { checkFallbackRate } from "../../../src/checks/fallback-rate.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { createLogger } from "../../../src/lib/log.ts";
import { appendDecision } from "../../../src/runner/fallback/decision-log.ts";
import { Runner } from "../../../src/runner/runner.ts";
import { openStore } from "../../../src/store/db.ts";
import { FallbackStore } from "../../../src/store/fallback.ts";
import { WorkerRequestStore, WorkerStore } from "../../../src/store/workers.ts";
import { observations } from "../../helpers/checks.ts";
import { tempDir } from "../../helpers/tmp.ts";

const fake = fileURLToPath(new URL("../../fakes/agent-cli.mjs", import.meta.url));
const streams = fileURLToPath(new URL("../../fixtures/streams/", import.meta.url));
const codexRun = (scenario: string, exit: number) => ({
  FAKE_STDOUT: join(streams, "codex", `${scenario}.jsonl`),
  FAKE_STDERR_FILE: join(streams, "codex", `${scenario}.stderr`),
  FAKE_EXIT: String(exit),
});
const claudeRun = (scenario: string) => ({ FAKE_EXCHANGE: join(streams, "claude", `${scenario}.exchange.jsonl`), FAKE_FAST: "1" });

const models = {
  "openai-codex/gpt-5.2": { driver: "codex", model: "gpt-5.2", contextWindow: 400_000 },
  "anthropic/claude-sonnet-4-5": { driver: "claude", model: "claude-sonnet-4-5", contextWindow: 200_000 },
  "anthropic/claude-haiku-4-5": { driver: "claude", model: "claude-haiku-4-5", contextWindow: 200_000 },
};
const order = Object.keys(models);

const runners: Runner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});

function world(env: { codex: Record<string, string>; claude: Record<string, string> }, extra: Record<string, unknown> = {}, dir = tempDir("asm-fallback-")) {
  const db = openStore(join(dir, "asm.db"));
  const log = join(dir, "logs", "fallback_decisions.jsonl");
  const config = configSchema.parse({
    runner: {
      workspaces: { app: dir },
      models,
      fallbackOrder: order,
      fallbackLog: log,
      fallback: { retryDelaySeconds: 0, timeoutSeconds: 5, ...((extra.fallback as object) ?? {}) },
      drivers: {
        codex: { command: [process.execPath, fake], env: env.codex },
        claude: { command: [process.execPath, fake], env: env.claude },
      },
    },
  });
  const store = new WorkerStore(db);
  const notices: string[] = [];
  const runner = new Runner({
    config,
    log: createLogger({ level: "silent" }),
    store,
    requests: new WorkerRequestStore(db),
    drivers: { claude: claudeDriver, codex: codexDriver } as unknown as Record<Platform, Driver>,
    listener: {
      changed: () => {},
      asks: () => {},
      turnEnded: () => {},
      finished: () => {},
      fellBack: (_w, n) => notices.push(`${n.action} ${n.from} → ${n.to ?? "nothing"}: ${n.reason}`),
    },
  });
  runners.push(runner);
  return { runner, store, db, log, notices, dir, decisions: new FallbackStore(db), config };
}

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe("model fallback chain for workers (the operators' runbook scenarios)", () => {
  it("single worker fallback: Codex answers 429 → the worker moves on to Claude with the original prompt and completes", async () => {
    const w = world({ codex: codexRun("fail429", 1), claude: { ...claudeRun("success"), FAKE_STDIN_LOG: join(tempDir(), "in.log") } });
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "fix the failing test", chain: order });
    expect(row.agent).toBe("codex");
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.agent).toBe("claude");
    expect(done.model).not.toBe("gpt-5.2");
    expect(done.chainIndex).toBe(1);
    expect(w.notices).toEqual(["fallback openai-codex/gpt-5.2 → anthropic/claude-sonnet-4-5: rate limited"]);
    const [line] = lines(w.log);
    expect(line).toMatchObject({
      worker: row.id,
      original_model: "openai-codex/gpt-5.2",
      error_type: "rate_limit",
      attempt: 1,
      next_model: "anthropic/claude-sonnet-4-5",
    });
    expect(typeof line.timestamp).toBe("string");
    expect(w.decisions.since(0)).toHaveLength(1);
    const prompt = JSON.parse(readFileSync(w.config.runner.drivers.claude.env.FAKE_STDIN_LOG!, "utf8").split("\n")[0]!).message.content as string;
    expect(prompt).toContain("fix the failing test");
    expect(prompt).toContain("openai-codex/gpt-5.2, which failed: rate limited");
  });

  it("parallel workers, partial substitution: only the worker that failed moves on; the other keeps its model", async () => {
    const w = world({ codex: codexRun("fail429", 1), claude: claudeRun("success") });
    const a = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "one", chain: ["anthropic/claude-haiku-4-5", ...order] });
    const b = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "two", chain: order });
    const [da, db] = await Promise.all([w.runner.waitFor(a.id), w.runner.waitFor(b.id)]);
    expect(da).toMatchObject({ status: "completed", chainIndex: 0, agent: "claude", chain: ["anthropic/claude-haiku-4-5", ...order] });
    expect(db).toMatchObject({ status: "completed", chainIndex: 1, agent: "claude" });
    expect(lines(w.log).map((l) => l.worker)).toEqual([b.id]);
  });

  it("custom order override: --chain decides where the worker starts and goes", async () => {
    const w = world({ codex: codexRun("fail429", 1), claude: claudeRun("success") });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "x", chain: ["anthropic/claude-haiku-4-5", "openai-codex/gpt-5.2"] });
    expect(row).toMatchObject({ agent: "claude", model: "claude-haiku-4-5" });
    expect((await w.runner.waitFor(row.id)).status).toBe("completed");
    expect(existsSync(w.log)).toBe(false); // nothing failed, nothing decided
  });

  it("an auth error is never retried: straight to the next model, and the breaker keeps the model out across a restart", async () => {
    const dir = tempDir("asm-fallback-");
    const w = world({ codex: codexRun("auth401", 1), claude: claudeRun("success") }, {}, dir);
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "x", chain: order });
    expect((await w.runner.waitFor(row.id)).status).toBe("completed");
    expect(lines(w.log).map((l) => [l.error_type, l.action])).toEqual([["auth", "fallback"]]);
    expect(w.runner.breaker("openai-codex/gpt-5.2").state).toBe("open");
    await w.runner.stop();
    w.db.close();
    const again = world({ codex: codexRun("success", 0), claude: claudeRun("success") }, {}, dir);
    expect(again.runner.breaker("openai-codex/gpt-5.2").state).toBe("open");
  });

  it("overloaded is retried on the same model up to maxRetries, then falls back", async () => {
    const w = world({ codex: codexRun("success", 0), claude: claudeRun("fail529") }, { fallback: { maxRetries: 2 } });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "x", chain: ["anthropic/claude-sonnet-4-5", "openai-codex/gpt-5.2"] });
    const done = await w.runner.waitFor(row.id);
    expect(done).toMatchObject({ status: "completed", agent: "codex" });
    expect(lines(w.log).map((l) => [l.error_type, l.action, l.attempt])).toEqual([
      ["overloaded", "retry", 1],
      ["overloaded", "fallback", 2],
    ]);
  });

  it("all models failing: the last decision has no next model, the worker fails, and the fallback-rate check pages critical", async () => {
    const w = world({ codex: codexRun("fail429", 1), claude: claudeRun("fail529") }, { fallback: { maxRetries: 1 } });
    const row = w.runner.spawn({ agent: "codex", workspace: "app", prompt: "x", chain: ["openai-codex/gpt-5.2", "anthropic/claude-sonnet-4-5"] });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    const log = lines(w.log);
    expect(log.at(-1)).toMatchObject({ next_model: null, action: "give_up", original_model: "anthropic/claude-sonnet-4-5" });
    const findings = checkFallbackRate(observations({ fallback: { decisions: w.decisions.since(0), modelTurns: [] } as never }), w.config, Date.now());
    expect(findings.find((f) => f.subject === `chain:${row.id}`)).toMatchObject({ severity: "critical" });
  });

  it("a worker with no sign of life (no init event) within the timeout counts as a timeout", async () => {
    const w = world(
      { codex: codexRun("success", 0), claude: { ...claudeRun("success"), FAKE_HANG_AT: "1" } },
      { fallback: { timeoutSeconds: 2, maxRetries: 1 } },
    );
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: "x", chain: ["anthropic/claude-sonnet-4-5", "openai-codex/gpt-5.2"] });
    expect((await w.runner.waitFor(row.id)).status).toBe("completed");
    expect(lines(w.log)[0]).toMatchObject({ error_type: "timeout", next_model: "openai-codex/gpt-5.2" });
  });
});

describe("the decision log", () => {
  it("keeps the runbook's jq one-liners working", () => {
    const dir = tempDir("asm-jq-");
    const path = join(dir, "fallback_decisions.jsonl");
    const base = { worker: "w1", attempt: 1, action: "fallback" as const, reason: "r", source: "asm-runner" as const };
    appendDecision(
      path,
      { ...base, timestamp: "2026-12-05T00:00:00Z", original_model: "openai-codex/gpt-5.2", error_type: "rate_limit", next_model: "b", dedup_key: "runner:1" },
      { maxBytes: 1e6, maxFiles: 2 },
    );
    appendDecision(
      path,
      { ...base, timestamp: "2026-12-05T00:01:00Z", original_model: "openai-codex/gpt-5.2", error_type: "timeout", next_model: "b", dedup_key: "runner:2" },
      { maxBytes: 1e6, maxFiles: 2 },
    );
    appendDecision(
      path,
      { ...base, timestamp: "2026-12-05T00:02:00Z", original_model: "b", error_type: "rate_limit", next_model: null, dedup_key: "runner:3" },
      { maxBytes: 1e6, maxFiles: 2 },
    );
    const docs = lines(path);
    const byType = docs.map((d) => d.error_type).sort();
    expect(byType).toEqual(["rate_limit", "rate_limit", "timeout"]);
    expect(docs.filter((d) => d.original_model === "openai-codex/gpt-5.2")).toHaveLength(2);
    let jq: string | null = null;
    try {
      jq = execFileSync("sh", ["-c", "command -v jq"], { encoding: "utf8" }).trim() || null;
    } catch {
      jq = null;
    }
    if (jq) {
      // The operators' exact commands, when jq is on this machine.
      const counts = execFileSync("sh", ["-c", `jq -r '.error_type' "${path}" | sort | uniq -c`], { encoding: "utf8" });
      expect(
        counts
          .split("\n")
          .map((l) => l.trim().replace(/ +/g, " "))
          .filter(Boolean),
      ).toEqual(["2 rate_limit", "1 timeout"]);
      const sel = execFileSync(jq, ["-c", 'select(.original_model == "openai-codex/gpt-5.2")', path], { encoding: "utf8" }).trim().split("\n");
      expect(sel).toHaveLength(2);
    }
  });

  it("rotates by size and keeps maxFiles old files", () => {
    const dir = tempDir("asm-rotate-");
    const path = join(dir, "d.jsonl");
    const line = (i: number) => ({
      timestamp: new Date(i).toISOString(),
      worker: "w1",
      original_model: "m",
      error_type: "rate_limit",
      attempt: 1,
      next_model: null,
      action: "give_up" as const,
      reason: "x".repeat(100),
      dedup_key: `runner:${i}`,
      source: "asm-runner" as const,
    });
    for (let i = 0; i < 20; i++) appendDecision(path, line(i), { maxBytes: 600, maxFiles: 2 });
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(readFileSync(path, "utf8").length).toBeLessThanOrEqual(600);
    expect(lines(path).at(-1)!.dedup_key).toBe("runner:19");
    writeFileSync(join(dir, "keep"), "");
  });
});
