import { appendFileSync, chmodSync, cpSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type SessionRecord, sessionUid } from "../../src/agents/session.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import { CodexSource } from "../../src/sources/codex.ts";
import { GeminiSource } from "../../src/sources/gemini.ts";
import { OpenClawSource } from "../../src/sources/openclaw.ts";
import type { Source } from "../../src/sources/source.ts";
import { listSourceProblems } from "../../src/store/problems.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Unreadable is not gone: a folder or file that cannot be read (EACCES, EIO) is reported by path and
 * leaves what we knew as it was; only a path that is gone (ENOENT) ends its sessions.
 *
 * `chmod 000` refuses nobody when the tests run as root, so as root the same kind of error is made
 * another way: the path is swapped for a symlink to itself, which every stat and readdir answers with
 * ELOOP, an error that, like EACCES, says "cannot look", not "not there".
 */
const root = process.getuid?.() === 0;
const fixtures = join(import.meta.dirname, "../fixtures");

function makeUnreadable(path: string): () => void {
  if (!root) {
    chmodSync(path, 0o000);
    return () => chmodSync(path, 0o755);
  }
  const aside = `${path}.aside`;
  renameSync(path, aside);
  symlinkSync(path, path);
  return () => {
    rmSync(path);
    renameSync(aside, path);
  };
}
const refused = root ? "ELOOP" : "EACCES";

const harnesses: SourceHarness[] = [];
const restores: (() => void)[] = [];
afterEach(() => {
  for (const r of restores.splice(0).reverse()) r();
  for (const h of harnesses.splice(0)) h.close();
});

/** What a session row says that an unreadable scan must not change. */
const figures = (r: SessionRecord | undefined) =>
  r && { present: r.present, contextTokens: r.contextTokens, contextPercent: r.contextPercent, messageCount: r.messageCount, outputTokens: r.outputTokens };

/** Scans, makes `target` unreadable, scans again: every session keeps its figures and the path is named. */
async function keepsWhatItKnew(h: SourceHarness, source: Source, target: string, verb: "list" | "read", change?: () => void) {
  const first = await source.scan(h.ctx());
  expect(first.errors).toEqual([]);
  const before = h.sessions.list({ platform: source.platform });
  expect(before.length).toBeGreaterThan(0);
  expect(before.every((s) => s.present)).toBe(true);
  change?.();
  restores.push(makeUnreadable(target));
  const r = await source.scan(h.ctx());
  expect(r.errors).toContainEqual(expect.stringContaining(`cannot ${verb} ${target}: ${refused}`));
  for (const s of before) expect(figures(h.sessions.get(s.uid)), s.uid).toEqual(figures(s));
  restores.pop()!();
  const again = await source.scan(h.ctx());
  expect(again.errors).toEqual([]);
  expect(h.sessions.list({ platform: source.platform }).every((s) => s.present)).toBe(true);
  return r;
}

describe("an unreadable agent folder or file is a reported problem, not the end of its sessions", () => {
  it("Gemini: ~/.gemini/tmp/<project>/chats", async () => {
    const home = tempDir("asm-unreadable-");
    const geminiRoot = join(home, ".gemini");
    const chats = join(geminiRoot, "tmp", "demo-app", "chats");
    mkdirSync(chats, { recursive: true });
    writeFileSync(join(geminiRoot, "tmp", "demo-app", ".project_root"), "/home/dev/demo-app");
    cpSync(join(fixtures, "gemini/cli-0.61.0"), chats, { recursive: true });
    const h = sourceHarness(home, { sources: { gemini: { root: geminiRoot } } });
    harnesses.push(h);
    await keepsWhatItKnew(h, new GeminiSource(geminiRoot), chats, "list");
  });

  it("OpenClaw: ~/.openclaw/agents/main/agent (the SQLite store's folder) is a source problem naming the store", async () => {
    const home = tempDir("asm-unreadable-");
    const ocRoot = join(home, ".openclaw");
    cpSync(join(fixtures, "real/openclaw/.openclaw"), ocRoot, { recursive: true });
    const h = sourceHarness(home, { sources: { openclaw: { root: ocRoot, legacyRoots: [] } } });
    harnesses.push(h);
    const agentDir = join(ocRoot, "agents/main/agent");
    const store = join(agentDir, "openclaw-agent.sqlite");
    const source = OpenClawSource.fromConfig(h.config);
    await source.scan(h.ctx());
    restores.push(makeUnreadable(agentDir));
    const r = await source.scan(h.ctx());
    expect(r.errors).toContainEqual(expect.stringContaining(`cannot read ${store}: ${refused}`));
    expect(listSourceProblems(h.kv)).toMatchObject([{ platform: "openclaw", path: store }]);
    restores.pop()!();
    // keepsWhatItKnew's checks, after the store was read again.
    restores.push(makeUnreadable(agentDir));
    const before = h.sessions.list({ platform: "openclaw" });
    await source.scan(h.ctx());
    for (const s of before) expect(figures(h.sessions.get(s.uid))).toEqual(figures(s));
    expect(before.every((s) => s.present)).toBe(true);
  });

  it("OpenClaw: ~/.openclaw/agents/main/sessions (the JSON era)", async () => {
    const home = tempDir("asm-unreadable-");
    const ocRoot = join(home, ".openclaw");
    cpSync(join(fixtures, "openclaw/json-era/.openclaw"), ocRoot, { recursive: true });
    const h = sourceHarness(home, { sources: { openclaw: { root: ocRoot, legacyRoots: [] } } });
    harnesses.push(h);
    await keepsWhatItKnew(h, OpenClawSource.fromConfig(h.config), join(ocRoot, "agents/main/sessions"), "list");
  });

  it("Codex: ~/.codex/sessions", async () => {
    const home = tempDir("asm-unreadable-");
    const codexRoot = join(home, ".codex");
    mkdirSync(codexRoot, { recursive: true });
    cpSync(join(fixtures, "codex/sessions"), join(codexRoot, "sessions"), { recursive: true });
    const h = sourceHarness(home, { sources: { codex: { root: codexRoot } } });
    harnesses.push(h);
    await keepsWhatItKnew(h, new CodexSource(h.config, {}), join(codexRoot, "sessions"), "list");
  });

  it("Claude Code: a transcript that cannot be opened keeps its session (ELOOP as root)", async () => {
    const home = tempDir("asm-unreadable-");
    const projects = join(home, ".claude/projects");
    cpSync(join(fixtures, "claude/projects"), projects, { recursive: true });
    const h = sourceHarness(home, { sources: { claude: { root: projects, extraRoots: [] } } });
    harnesses.push(h);
    const file = join(projects, "-home-dev-caf--app", "7d3f2a10-1111-4c2e-9a55-0123456789ab.jsonl");
    // It grew, so this cycle must open it: an unchanged file is not read at all.
    await keepsWhatItKnew(h, new ClaudeCodeSource(h.config, {}), file, "read", () => appendFileSync(file, "\n"));
    expect(h.sessions.get(sessionUid("claude", null, "7d3f2a10-1111-4c2e-9a55-0123456789ab"))!.present).toBe(true);
  });

  it.skipIf(root)("Claude Code: a project folder under chmod 000 (needs a non-root user: root reads it anyway)", async () => {
    const home = tempDir("asm-unreadable-");
    const projects = join(home, ".claude/projects");
    cpSync(join(fixtures, "claude/projects"), projects, { recursive: true });
    const h = sourceHarness(home, { sources: { claude: { root: projects, extraRoots: [] } } });
    harnesses.push(h);
    await keepsWhatItKnew(h, new ClaudeCodeSource(h.config, {}), join(projects, "-home-dev-caf--app"), "list");
  });
});
