import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Platform } from "../../src/agents/session.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import { CodexSource } from "../../src/sources/codex.ts";
import { GeminiSource } from "../../src/sources/gemini.ts";
import { OpenClawSource } from "../../src/sources/openclaw.ts";
import { OpencodeSource } from "../../src/sources/opencode.ts";
import type { Source, SourceScanResult } from "../../src/sources/source.ts";
import { type SourceHarness, sourceHarness } from "./source-harness.ts";
import { tempDir } from "./tmp.ts";

/** A temp HOME holding a copy of one real-CLI fixture tree, a store over it, and all five sources reading it. */
export interface RealHome {
  home: string;
  h: SourceHarness;
  sources: Record<Platform, Source>;
  /** Each agent's own folder under `home`, as the agent writes it (`~/.claude`, `~/.local/share/opencode`, …). */
  agentRoot: Record<Platform, string>;
  /** One cycle of every source; the results in platform order. */
  scanAll(now?: number): Promise<SourceScanResult[]>;
}

const fixtures = join(import.meta.dirname, "../fixtures");

/**
 * Every tree the real CLIs wrote (tests/fixtures/real/<platform>/ and tests/fixtures/real-old/<tool-version>/),
 * as paths relative to tests/fixtures.
 */
export function realFixtureTrees(): string[] {
  const list = (dir: string) =>
    readdirSync(join(fixtures, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${dir}/${e.name}`);
  return [...list("real"), ...list("real-old")].sort();
}

/**
 * Copies the agent folders of `tree` (a path under tests/fixtures, e.g. "real/codex") into a fresh HOME and
 * points every source at that HOME only: the process environment is never read, so a developer's own
 * `~/.claude` or `CODEX_HOME` cannot leak in. `_stdout/` (the CLIs' event streams) is not copied.
 */
export function realHome(tree: string, harnesses: SourceHarness[]): RealHome {
  const home = tempDir("asm-real-home-");
  for (const e of readdirSync(join(fixtures, tree), { withFileTypes: true })) {
    if (e.isDirectory() && e.name.startsWith(".")) cpSync(join(fixtures, tree, e.name), join(home, e.name), { recursive: true });
  }
  const agentRoot: Record<Platform, string> = {
    claude: join(home, ".claude"),
    codex: join(home, ".codex"),
    gemini: join(home, ".gemini"),
    opencode: join(home, ".local/share/opencode"),
    openclaw: join(home, ".openclaw"),
  };
  const h = sourceHarness(home, {
    sources: {
      claude: { root: join(agentRoot.claude, "projects"), extraRoots: [] },
      codex: { root: agentRoot.codex },
      gemini: { root: agentRoot.gemini },
      opencode: { root: agentRoot.opencode },
      openclaw: { root: agentRoot.openclaw, legacyRoots: [] },
    },
  });
  harnesses.push(h);
  const env = { HOME: home };
  const sources: Record<Platform, Source> = {
    claude: new ClaudeCodeSource(h.config, env),
    codex: new CodexSource(h.config, env),
    gemini: GeminiSource.fromConfig(h.config),
    opencode: OpencodeSource.fromConfig(h.config, env),
    openclaw: OpenClawSource.fromConfig(h.config, env),
  };
  return {
    home,
    h,
    sources,
    agentRoot,
    scanAll: async (now = Date.now()) => {
      const out: SourceScanResult[] = [];
      for (const s of Object.values(sources)) out.push(await s.scan(h.ctx(now)));
      return out;
    },
  };
}
