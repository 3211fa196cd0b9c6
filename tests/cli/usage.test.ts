import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openRuntime } from "../../src/store/runtime.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { session } from "../helpers/checks.ts";
import { runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function seeded() {
  const dir = tempDir();
  const env = { HOME: dir, ASM_DB: join(dir, "asm.db") };
  const rt = openRuntime({ env });
  const now = Date.now();
  const s = session({ platform: "claude", sessionId: "c0ffee00-1111", model: "claude-sonnet-4-5" });
  rt.sessions.upsert(s);
  const turns = new TurnStore(rt.db);
  turns.add({
    sessionUid: s.uid,
    ts: now - 3_600_000,
    model: "claude-sonnet-4-5",
    input: 1000,
    output: 1_000_000,
    cacheRead: 0,
    cacheWrite: 0,
    contextTokens: null,
  });
  turns.add({
    sessionUid: s.uid,
    ts: now - 10 * 86_400_000,
    model: "claude-sonnet-4-5",
    input: 1000,
    output: 1_000_000,
    cacheRead: 0,
    cacheWrite: 0,
    contextTokens: null,
  });
  rt.close();
  return env;
}

describe("asm usage", () => {
  it("prints the table, and JSON with exact figures", async () => {
    const env = seeded();
    const text = await runAsmInProcess(["usage"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Usage, last 24h/);
    expect(text.stdout).toMatch(/claude .* \$15\.0/);
    const json = await runAsmInProcess(["usage", "--since", "30d", "--by", "model", "--json"], env);
    const report = JSON.parse(json.stdout);
    expect(report.by).toBe("model");
    expect(report.total.turns).toBe(2);
    expect(report.rows[0]).toMatchObject({ key: "claude-sonnet-4-5", output: 2_000_000 });
    expect(report.rows[0].cost).toBeCloseTo(30.006, 6);
    expect(report.currency).toBe("USD");
    const dated = await runAsmInProcess(["usage", "--since", new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10)], env);
    expect(dated.stdout).toMatch(/^Usage, since \d{4}-\d{2}-\d{2} 00:00 UTC/);
  });

  it("refuses a bad --since or --by with exit 2", async () => {
    const env = seeded();
    expect(await runAsmInProcess(["usage", "--since", "fortnight"], env)).toMatchObject({ code: 2 });
    const by = await runAsmInProcess(["usage", "--by", "colour"], env);
    expect(by.code).toBe(2);
    expect(by.stderr).toMatch(/--by must be one of agent, model, project, session/);
  });
});
