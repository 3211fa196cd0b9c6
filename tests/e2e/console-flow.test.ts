import { cpSync } from "node:fs";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startService } from "../../src/monitor/service.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import { runScan } from "../../src/sources/scan.ts";
import { Capture, healthServer, rig, runs } from "../core/setup.ts";

const fixtures = fileURLToPath(new URL("../fixtures/claude/projects", import.meta.url));
const jsonEra = fileURLToPath(new URL("../fixtures/openclaw/json-era/.openclaw", import.meta.url));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** Waits until the console has printed `pattern` (after `from` characters). */
async function until(out: Capture, pattern: RegExp, from = 0, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const text = out.text.slice(from);
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`console never printed ${pattern}; it printed:\n${out.text.slice(from)}`);
}

describe("the console, end to end (issue 6: Done when)", () => {
  it("lists sessions, opens one, requests a gateway restart, approves it and sees the verified outcome", async () => {
    const gw = await healthServer();
    closers.push(gw.close);
    const t = rig({}, gw.url);
    cpSync(fixtures, t.rt.config.sources.claude.root, { recursive: true });
    const report = await runScan(t.rt, [new ClaudeCodeSource(t.rt.config)]);
    expect(report.results[0]!.sessionsUpdated).toBeGreaterThan(0);

    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = new Capture();
    const service = await startService(t.rt, { consoleIn: input, consoleOut: out, manager: { probeIntervalMs: 50 } });
    closers.push(async () => {
      await service.stop();
      t.rt.close();
    });
    const type = async (line: string, expect: RegExp) => {
      const from = out.text.length;
      input.write(`${line}\n`);
      return until(out, expect, from);
    };

    const list = await type("/sessions all", /Details: \/session/);
    expect(list).toContain("claude");
    expect(list).toContain("7d3f2a10");

    const one = await type("/session 7d3f2a10", /Resume/);
    expect(one).toContain("claude --resume 7d3f2a10-1111-4c2e-9a55-0123456789ab");
    expect(one).toContain("Recent turns");

    const request = await type("/restart_gateway not answering", /\[m\d+\.2\] Deny/);
    expect(request).toMatch(/── m\d+ .*\n.*Approval needed: a1 Restart the gateway/);
    // The request is posted once (the console is the feed), its buttons named by its message number.
    expect(request).toMatch(/Requested a1: the approval request is posted in this chat/);
    expect(request).not.toContain("Only an admin");
    const m = /── m(\d+) .*\n.*Approval needed/.exec(request)![1];
    expect(request).toContain("reason: not answering");
    expect(runs(t.marker)).toBe(0);

    const outcome = await type(`m${m}.1`, /succeeded/);
    expect(outcome).toMatch(new RegExp(`» Approve on m${m}: Approved a1`));
    expect(outcome).toMatch(/\(updated\)/);
    await until(out, /verification: gateway healthy/);
    expect(runs(t.marker)).toBe(1);

    const audit = await type("/actions", /a1 /);
    expect(audit).toMatch(/a1 .* restart_gateway — succeeded \(by console:console, decided by console:console\)/);

    // Pressing Approve again runs nothing: the decided message has no buttons left to press.
    const again = await type(`m${m}.1`, /no button/);
    expect(again).toMatch(new RegExp(`no button m${m}\\.1`));
    await service.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
  });

  it("a fast action's result stays on its approval message (the late 'running…' answer does not overwrite it)", async () => {
    const t = rig();
    cpSync(jsonEra, t.rt.config.sources.openclaw.root, { recursive: true });
    await runScan(t.rt);
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = new Capture();
    const service = await startService(t.rt, { consoleIn: input, consoleOut: out, monitorAtStart: false });
    closers.push(async () => {
      await service.stop();
      t.rt.close();
    });
    const from = out.text.length;
    input.write("/cleanup\n");
    await until(out, /\[m\d+\.2\] Deny/, from);
    const m = /\[m(\d+)\.2\] Deny/.exec(out.text.slice(from))![1];
    input.write(`m${m}.1\n`);
    await until(out, /Approved a1/, from);
    await service.manager.actions.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(service.manager.actionStore.get(1)).toMatchObject({ status: "succeeded" });
    // The approval message is #n; whatever was printed for it last is what the person now sees.
    const blocks = out.text
      .slice(from)
      .split(/(?=── m)/)
      .filter((b) => b.startsWith("── m"));
    const approvalId = /── m(\d+)/.exec(blocks[0]!)![1];
    const last = blocks.filter((b) => b.startsWith(`── m${approvalId} `)).at(-1)!;
    expect(last).toMatch(/Clean up session store: succeeded/);
  });
});
