import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentCapabilities } from "../../src/agents/agent.ts";
import { agentOf, agents, platformsWith } from "../../src/agents/registry.ts";
import { platforms } from "../../src/agents/session.ts";

const repo = join(import.meta.dirname, "../..");
const names = platforms.join("|");

/**
 * The ways code branches on an agent's name rather than asking its capabilities: comparing with a name,
 * a `case` on one, a store query narrowed to one (`list({ platform: "openclaw" })`), a list of names.
 */
const branches: RegExp[] = [
  new RegExp(`[!=]==?\\s*"(${names})"`),
  new RegExp(`"(${names})"\\s*[!=]==?`),
  new RegExp(`case\\s+"(${names})"\\s*:`),
  new RegExp(`\\.(list|count|scoped)\\(\\s*\\{[^}]*platform:\\s*"(${names})"`),
  new RegExp(`\\[\\s*"(${names})"\\s*,[^\\]]*\\]\\.includes\\(`),
];

/** Known branches outside src/agents/, each with why it is still there: none now. */
const known: Record<string, number> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(repo, join(e.parentPath, e.name)));
}

/** The lines of `text` that branch on an agent's name, with their numbers. */
function branchesIn(text: string): string[] {
  return text
    .split("\n")
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => !/^\s*(\*|\/\/)/.test(line) && branches.some((re) => re.test(line)))
    .map(([line, n]) => `${n}: ${line.trim()}`);
}

describe("the agent registry", () => {
  it("has every platform, each under its own name", () => {
    expect(Object.keys(agents).sort()).toEqual([...platforms].sort());
    for (const p of platforms) expect(agentOf(p).platform).toBe(p);
  });

  it.each<keyof AgentCapabilities>(["resetSessions", "chatPeers", "gateway", "ownFailover"])("platformsWith(%s) is exactly the agents that say so", (cap) => {
    expect(platformsWith(cap)).toEqual(platforms.filter((p) => agentOf(p).capabilities[cap]));
    expect(platformsWith(cap).length).toBeGreaterThan(0);
  });
});

describe("outside src/agents/, no code branches on an agent's platform name", () => {
  it("the patterns catch the branches they are meant to", () => {
    expect(branchesIn('if (s.platform === "openclaw") x();')).toHaveLength(1);
    expect(branchesIn('for (const s of rt.sessions.list({ platform: "openclaw", sort: "activity" })) f(s);')).toHaveLength(1);
    expect(branchesIn('    case "codex":')).toHaveLength(1);
    expect(branchesIn('if (["claude", "codex"].includes(s.platform)) x();')).toHaveLength(1);
    // Data is not a branch: a record literal, a registry key, a comment.
    expect(branchesIn('const r = { platform: "codex", id };\n// if (platform === "codex")\nconst uid = sessionUid("claude", null, id);')).toEqual([]);
  });

  it("every other layer asks the registry (agentOf(p).capabilities, platformsWith)", () => {
    const found: Record<string, string[]> = {};
    for (const file of sourceFiles(join(repo, "src"))) {
      if (file.startsWith("src/agents/")) continue;
      const hits = branchesIn(readFileSync(join(repo, file), "utf8"));
      if (hits.length !== (known[file] ?? 0)) found[file] = hits;
    }
    expect(found).toEqual({});
  });
});
