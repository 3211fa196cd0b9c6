import { afterEach, describe, expect, it } from "vitest";
import { parseUsageArgs } from "../../../src/chat/commands/usage.ts";
import { runCommand } from "../../../src/chat/commands.ts";
import { Manager } from "../../../src/core/manager.ts";
import type { Caller } from "../../../src/messages/transport.ts";
import { viewToText } from "../../../src/messages/view.ts";
import { TurnStore } from "../../../src/store/turns.ts";
import { rig } from "../../core/setup.ts";
import { session } from "../../helpers/checks.ts";

const member: Caller = { transport: "telegram", userId: "7", allowed: true, admin: false };
const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

function setup() {
  const { rt } = rig({ usage: { subscriptions: ["codex"] } });
  const manager = new Manager(rt);
  open.push({ manager, rt });
  const now = Date.now();
  const turns = new TurnStore(rt.db);
  const models = {
    claude: "claude-opus-4-6",
    codex: "gpt-5.2-codex",
    gemini: "gemini-2.5-pro",
    opencode: "openrouter/qwen/qwen3-coder-plus-unknown",
    openclaw: "anthropic/claude-sonnet-4-5",
  } as const;
  for (const [platform, model] of Object.entries(models) as [keyof typeof models, string][]) {
    const s = session({ platform, sessionId: `${platform}-0001-aaaa`, model, project: `/home/dev/${platform}-project` });
    rt.sessions.upsert(s);
    for (let i = 0; i < 3; i++)
      turns.add({
        sessionUid: s.uid,
        ts: now - (i + 1) * 3_600_000 * 9,
        model,
        input: 5000,
        output: 800,
        cacheRead: 60_000,
        cacheWrite: 1000,
        contextTokens: 66_000,
      });
  }
  const run = async (line: string) => {
    const [name, ...args] = line.slice(1).split(" ").filter(Boolean);
    return viewToText(await runCommand({ rt, manager, caller: member, now: Date.now() }, name!, args));
  };
  return { run };
}

describe("/usage", () => {
  it("parses a window and a grouping in any order", () => {
    expect(parseUsageArgs([])).toEqual({ window: "24h", by: "agent" });
    expect(parseUsageArgs(["by", "model", "7d"])).toEqual({ window: "7d", by: "model" });
    expect(parseUsageArgs(["session"])).toEqual({ window: "24h", by: "session" });
    expect(() => parseUsageArgs(["weekly"])).toThrow(/not a window/);
  });

  it("answers for all five agents within 40 columns, in every window and grouping", async () => {
    const { run } = setup();
    const day = await run("/usage");
    for (const agent of ["claude", "codex", "gemini", "opencode", "openclaw"]) expect(day).toContain(agent);
    expect(day.replace(/\n/g, " ")).toMatch(/no price for openrouter\/qwen\/qwen3-coder-plus-unknown/);
    expect(day).toMatch(/~ equivalent API cost: codex/);
    for (const w of ["24h", "7d", "30d", "all"]) {
      for (const by of ["agent", "model", "project", "session"]) {
        const text = await run(`/usage ${w} by ${by}`);
        expect(text).toMatch(/^Usage, /);
        for (const line of text.split("\n")) expect(line.length, `/usage ${w} by ${by}: "${line}"`).toBeLessThanOrEqual(40);
      }
    }
    expect(await run("/usage 30d by model")).toContain("claude-opus-4-6");
    expect(await run("/usage fortnight")).toMatch(/not a window.*Usage: \/usage/);
  });

  it("/session shows the session's cost", async () => {
    const { run } = setup();
    expect(await run("/session claude-0001")).toMatch(/\ncost: \$\d+\.\d+\n/);
    expect(await run("/session codex-0001")).toMatch(/\ncost: ~\$\d+\.\d+ \(equivalent API cost\)\n/);
    expect(await run("/session opencode-0001")).toMatch(/\ncost: - \(no price for openrouter\/qwen\/qwen3-coder-plus-unknown\)\n/);
  });
});
