/**
 * How fast `/sessions` answers with many sessions in the store (issue 6: under 50 ms with 10,000),
 * measured through the same path a chat message takes: CoreInbound → runCommand → Manager →
 * SQLite → the view, paginated for Telegram.
 *
 *   node --import tsx bench/sessions-query.ts [sessions] [runs]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Platform, platforms, sessionUid } from "../src/agents/session.ts";
import { CoreInbound } from "../src/chat/dispatch.ts";
import { Manager } from "../src/core/manager.ts";
import type { Caller } from "../src/messages/transport.ts";
import { openRuntime } from "../src/store/runtime.ts";

const budgetMs = 50;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** Fills a temp store with `count` sessions and times the chat commands that read it. */
export async function benchSessionsQuery(count = 10_000, runs = 50): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "asm-bench-sessions-"));
  try {
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, JSON.stringify({ store: { path: join(dir, "asm.db") }, log: { level: "silent" } }));
    const rt = openRuntime({ configPath, env: {} });
    const now = Date.now();
    const insert = rt.db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const platform = platforms[i % platforms.length] as Platform;
        const sessionId = `${i.toString(16).padStart(8, "0")}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, "0")}`;
        const agentId = platform === "openclaw" ? "main" : null;
        rt.sessions.upsert({
          uid: sessionUid(platform, agentId, sessionId),
          platform,
          agentId,
          sessionId,
          sessionKey: platform === "openclaw" ? `agent:main:telegram:dm:${i}` : null,
          kind: "session",
          parentUid: null,
          project: `/home/dev/project-${i % 40}`,
          title: `task ${i}`,
          model: "claude-sonnet-4-6",
          firstActivity: now - 86_400_000,
          lastActivity: now - (i % 2000) * 60_000,
          messageCount: 20,
          path: `/home/dev/.agent/${sessionId}.jsonl`,
          sizeBytes: 100_000,
          contextTokens: (i * 37) % 200_000,
          contextWindow: 200_000,
          contextPercent: (((i * 37) % 200_000) / 200_000) * 100,
          inputTokens: 1000,
          outputTokens: 2000,
          cacheReadTokens: 50_000,
          cacheWriteTokens: 3000,
          parseErrors: 0,
          lastParseError: null,
          state: "idle",
          present: i % 10 !== 0,
          extra: {},
          scannedAt: now,
        });
      }
    });
    insert();
    const manager = new Manager(rt);
    const inbound = new CoreInbound(manager);
    const caller: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
    const cases: [string, string, string[]][] = [
      ["/sessions", "sessions", []],
      ["/sessions all", "sessions", ["all"]],
      ["/sessions claude context", "sessions", ["claude", "context"]],
      ["/session <prefix>", "session", ["00001a2b"]],
    ];
    console.log(`sessions query: ${count} sessions in the store, ${runs} runs each (Telegram pagination included)`);
    for (const [label, name, args] of cases) {
      await inbound.command(caller, name, args); // warm the statement cache, as a running bot has
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t = performance.now();
        await inbound.command(caller, name, args);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      const p95 = percentile(times, 95);
      const verdict = label.startsWith("/sessions") ? (p95 < budgetMs ? `ok (< ${budgetMs} ms)` : `OVER the ${budgetMs} ms budget`) : "";
      console.log(`  ${label.padEnd(26)} p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms  max ${times.at(-1)!.toFixed(1)} ms  ${verdict}`);
    }
    await manager.stop();
    rt.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchSessionsQuery(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 50));
}
