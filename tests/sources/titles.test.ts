import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { promptTitle } from "../../src/agents/session.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import { CodexSource } from "../../src/sources/codex.ts";
import { GeminiSource } from "../../src/sources/gemini.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";

const real = join(import.meta.dirname, "../fixtures/real");
const open: { h: SourceHarness; dir: string }[] = [];
afterEach(() => {
  for (const { h, dir } of open.splice(0)) {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The real CLI's files under a fresh HOME, and a store to scan them into. */
function home(platform: string, folder: string, input: (dir: string) => Parameters<typeof sourceHarness>[1] = () => ({})) {
  const dir = mkdtempSync(join(tmpdir(), `asm-titles-${platform}-`));
  cpSync(join(real, platform, folder), join(dir, folder), { recursive: true });
  const h = sourceHarness(dir, input(dir));
  open.push({ h, dir });
  return { dir, h };
}

const titles = (h: SourceHarness, platform: "claude" | "codex" | "gemini") =>
  Object.fromEntries(h.sessions.list({ platform, includeGone: true }).map((s) => [s.sessionId.slice(0, 13), s.title]));

describe("session titles from what the agents record (issue 18 item 11)", () => {
  it("Claude Code: the last prompt when it recorded no title or summary", async () => {
    const { h } = home("claude", ".claude", (dir) => ({ sources: { claude: { root: join(dir, ".claude/projects") } } }));
    await new ClaudeCodeSource(h.config, {}).scan(h.ctx());
    const t = titles(h, "claude");
    expect(t["525da2bd-d82b"]).toBe("BIGCONTEXT pretend this is a long conversation");
    for (const [id, title] of Object.entries(t)) expect(title, id).not.toBeNull();
  });

  it("Codex: the person's first prompt when the thread has no name", async () => {
    const { dir, h } = home("codex", ".codex");
    await new CodexSource(h.config, { CODEX_HOME: join(dir, ".codex") }).scan(h.ctx());
    const t = titles(h, "codex");
    expect(t["01a209f7-4642"]).toBe("Hello, summarize this project");
    expect(t["01a209f7-4b47"]).toBe("FAIL429 this request is rate limited");
  });

  it("Gemini CLI: the first prompt until it writes a summary, never its injected session context", async () => {
    const { dir, h } = home("gemini", ".gemini");
    await new GeminiSource(join(dir, ".gemini")).scan(h.ctx());
    const rows = h.sessions.list({ platform: "gemini", includeGone: true });
    expect(rows.map((s) => s.title)).toContain("Hello again, what is in this folder?");
    for (const s of rows) expect(s.title ?? "").not.toContain("session_context");
  });

  it("promptTitle: one line, cut, injected context refused", () => {
    expect(promptTitle("  fix\n the   build ")).toBe("fix the build");
    expect(promptTitle("<environment_context>cwd</environment_context>")).toBeNull();
    expect(promptTitle("x".repeat(500))).toHaveLength(200);
    expect(promptTitle(42)).toBeNull();
  });
});
