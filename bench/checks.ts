/**
 * Check pipeline figures: how fast the log tail reads (first pass and incremental), and what one
 * cycle of gatherObservations + runChecks costs with many sessions and turns in SQLite.
 *
 *   node --import tsx bench/checks.ts [sessions] [logMB]
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sessionUid } from "../src/agents/session.ts";
import { runChecks } from "../src/checks/index.ts";
import { configSchema } from "../src/config/schema.ts";
import { gatherObservations } from "../src/observe/gather.ts";
import { type LogRules, tailLog } from "../src/observe/log-tail.ts";
import { openStore } from "../src/store/db.ts";
import { runtimeOver } from "../src/store/runtime.ts";
import { TurnStore } from "../src/store/turns.ts";

const sessions = Number(process.argv[2] ?? 5_000);
const logMb = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), "asm-bench-checks-"));
const ms = (t: number) => `${(performance.now() - t).toFixed(1)} ms`;

// --- log tail ---
const rules: LogRules = {
  errorPatterns: [/\bERROR\b/i, /\bFATAL\b/i],
  durationPattern: /(?:duration|took|elapsed)["=: ]+(\d+(?:\.\d+)?)\s*(ms|s)\b/i,
  slowMs: 2000,
};
const lines = [
  '{"level":30,"time":1790000000000,"msg":"request handled","durationMs":120,"route":"/v1/chat"}',
  '{"level":50,"time":1790000000000,"msg":"provider failed","err":{"type":"RateLimit"}}',
  "2026-11-23T12:00:00.000Z INFO gateway: delivered message to telegram:dm:4411 took 2.4s",
  "2026-11-23T12:00:00.000Z DEBUG session store flushed",
];
const block = `${Array.from({ length: 1000 }, (_, i) => lines[i % lines.length]).join("\n")}\n`;
const logPath = join(dir, "gateway.log");
writeFileSync(logPath, "");
const target = logMb * 1024 * 1024;
for (let size = 0; size < target; size += block.length) appendFileSync(logPath, block);
const db = openStore(join(dir, "asm.db"));
let t = performance.now();
const first = tailLog(db, logPath, rules, Date.now(), { initialTailBytes: Number.POSITIVE_INFINITY, maxBytesPerPass: Number.POSITIVE_INFINITY })!;
const firstMs = performance.now() - t;
console.log(
  `log tail, first pass: ${(first.bytesRead / 1048576).toFixed(0)} MB, ${first.lines} lines in ${firstMs.toFixed(0)} ms ` +
    `= ${(first.bytesRead / 1048576 / (firstMs / 1000)).toFixed(0)} MB/s (${first.errorLines} errors, ${first.slowLines} slow)`,
);
appendFileSync(logPath, block);
t = performance.now();
const inc = tailLog(db, logPath, rules, Date.now())!;
console.log(`log tail, incremental: ${(inc.bytesRead / 1024).toFixed(0)} KB appended, ${inc.lines} lines in ${ms(t)}`);
t = performance.now();
tailLog(db, logPath, rules, Date.now());
console.log(`log tail, nothing new: ${ms(t)}`);

// --- one check cycle over many sessions ---
const config = configSchema.parse({ store: { path: join(dir, "asm.db") }, checks: { logs: { files: [] }, gateway: { enabled: false } } });
const rt = runtimeOver(db, config);
const now = Date.now();
const turns = new TurnStore(db);
db.transaction(() => {
  for (let i = 0; i < sessions; i++) {
    const platform = (["openclaw", "claude", "codex"] as const)[i % 3]!;
    const agentId = platform === "openclaw" ? `a${i % 4}` : null;
    const uid = sessionUid(platform, agentId, `s${i}`);
    const tokens = 1_000 + ((i * 7919) % 200_000);
    rt.sessions.upsert({
      uid,
      platform,
      agentId,
      sessionId: `s${i}`,
      sessionKey: null,
      kind: ["main", "dm", "group"][i % 3]!,
      parentUid: null,
      project: null,
      title: null,
      model: "claude-sonnet-4-6",
      firstActivity: now - 86_400_000,
      lastActivity: now - (i % 120) * 60_000,
      messageCount: 20,
      path: `/x/s${i}.jsonl`,
      sizeBytes: (i * 104_729) % 900_000,
      contextTokens: tokens,
      contextWindow: 200_000,
      contextPercent: tokens / 2000,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      parseErrors: i % 97 === 0 ? 1 : 0,
      lastParseError: null,
      state: "idle",
      present: true,
      extra: platform === "openclaw" ? { peer: `telegram:dm:${i % 500}`, lastAssistantModel: "gpt-5.5" } : {},
      scannedAt: now,
    });
    for (let k = 0; k < 10; k++) {
      turns.add({
        sessionUid: uid,
        ts: now - (10 - k) * 5 * 60_000,
        model: "claude-sonnet-4-6",
        input: 10,
        output: 300,
        cacheRead: 20_000,
        cacheWrite: 500,
        contextTokens: tokens - (10 - k) * 500,
      });
    }
  }
})();
t = performance.now();
const obs = await gatherObservations(rt, now, {});
const gatherMs = performance.now() - t;
t = performance.now();
const findings = runChecks(obs, config, now);
const checkMs = performance.now() - t;
console.log(
  `cycle: ${sessions} sessions, ${sessions * 10} turns: gatherObservations ${gatherMs.toFixed(0)} ms, runChecks ${checkMs.toFixed(0)} ms, ${findings.length} findings`,
);
rt.close();
rmSync(dir, { recursive: true, force: true });
