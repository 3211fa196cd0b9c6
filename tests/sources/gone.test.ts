import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../src/agents/session.ts";
import { realHome } from "../helpers/real-home.ts";
import type { SourceHarness } from "../helpers/source-harness.ts";

/**
 * Every source treats a deleted agent folder the same way: the sessions it read from there are no longer
 * present (they stay in the store, marked gone), and the folder is reported missing.
 */

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

describe("when an agent's folder is deleted, its sessions are gone", () => {
  it.each<Platform>(["claude", "codex", "gemini", "opencode", "openclaw"])("%s", async (platform) => {
    const { h, sources, agentRoot } = realHome(`real/${platform}`, harnesses);
    const source = sources[platform];
    const first = await source.scan(h.ctx());
    expect(first.errors).toEqual([]);
    const before = h.sessions.list({ platform, includeGone: true });
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((s) => s.present)).toBe(true);

    rmSync(agentRoot[platform], { recursive: true, force: true });
    const second = await source.scan(h.ctx());
    expect(second.errors).toEqual([]);
    expect(second.missingRoots.length).toBeGreaterThan(0);

    const after = h.sessions.list({ platform, includeGone: true });
    expect(after.map((s) => s.uid).sort()).toEqual(before.map((s) => s.uid).sort());
    expect(after.filter((s) => s.present).map((s) => s.uid)).toEqual([]);
    // A third cycle over the still-missing folder changes nothing.
    await source.scan(h.ctx());
    expect(h.sessions.count({ platform })).toBe(0);
  });
});
