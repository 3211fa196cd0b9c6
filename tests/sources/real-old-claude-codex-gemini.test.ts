import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sessionUid } from "../../src/agents/session.ts";
import { ClaudeCodeSource } from "../../src/sources/claude.ts";
import { CodexSource } from "../../src/sources/codex.ts";
import { GeminiSource } from "../../src/sources/gemini.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Files written by OLDER releases of the real CLIs (tests/fixtures/real-old/README-claude-codex-gemini.md,
 * made by generate/generate-old-claude-codex-gemini.sh). Every expected figure is computed here from the files
 * with plain JSON.parse and the agents' own counting rules (FORMATS.md), never with our readers, so a
 * regenerated tree is checked the same way.
 */

const base = join(import.meta.dirname, "../fixtures/real-old");
// biome-ignore lint/suspicious/noExplicitAny: the agents' files are arbitrary JSON, read field by field as a person would
type Json = Record<string, any>;
const jsonl = (path: string): Json[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Json);
const ms = (iso: string) => Date.parse(iso);
const files = (dir: string, re: RegExp): string[] => {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && re.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
};

const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
});

/** A temp HOME holding a copy of one fixture tree's `.<agent>` folder, and a store over it. */
function home(tree: string, dotDir: string) {
  const dir = tempDir("asm-real-old-");
  cpSync(join(base, tree, dotDir), join(dir, dotDir), { recursive: true });
  const root = join(dir, dotDir);
  const h = sourceHarness(dir, {
    sources: { claude: { root: join(root, "projects"), extraRoots: [] }, codex: { root }, gemini: { root } },
  });
  harnesses.push(h);
  return { root, h };
}

describe("Claude Code 2.0.76 (the JS package)", () => {
  const projects = join(base, "claude-2.0.76/.claude/projects");
  const uid = (id: string) => sessionUid("claude", null, id);

  it("reads sessions, warmup sidechains and the empty files a resume leaves as the CLI counts them", async () => {
    const { h } = home("claude-2.0.76", ".claude");
    const all = files(projects, /\.jsonl$/);
    const mains = all.filter((p) => !basename(p).startsWith("agent-") && statSync(p).size > 0);
    const empties = all.filter((p) => statSync(p).size === 0);
    const agents = all.filter((p) => basename(p).startsWith("agent-"));
    // What this release wrote: every process also runs warmup sidechains, and every --resume leaves an empty file.
    expect(mains).toHaveLength(2);
    expect(empties.length).toBeGreaterThanOrEqual(3);
    expect(agents.length).toBe(2 * (mains.length + empties.length));

    const now = Date.parse("2030-01-01T00:00:00Z");
    const r = await new ClaudeCodeSource(h.config, {}).scan(h.ctx(now));
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(0);

    // An empty file is no conversation: no row.
    for (const p of empties) expect(h.sessions.get(uid(basename(p, ".jsonl")))).toBeUndefined();
    expect(h.sessions.list({ platform: "claude" })).toHaveLength(mains.length + agents.length);

    for (const p of [...mains, ...agents]) {
      const lines = jsonl(p);
      const chain = lines.filter((l) => ["user", "assistant", "system"].includes(l.type));
      const real = chain.filter((l) => l.type === "assistant" && l.message.model !== "<synthetic>" && !(l.isSidechain && !basename(p).startsWith("agent-")));
      const boundary = chain.findLastIndex((l) => l.subtype === "compact_boundary");
      const lastUsage = chain.slice(boundary + 1).findLast((l) => real.includes(l))?.message.usage;
      const byId = new Map(real.map((l) => [l.message.id, l.message.usage]));
      const sum = (k: string) => [...byId.values()].reduce((n, u) => n + u[k], 0);
      const prompts = chain.filter(
        (l) =>
          l.type === "user" &&
          !l.isMeta &&
          !l.isCompactSummary &&
          (typeof l.message.content === "string" || l.message.content.some((b: Json) => b.type === "text")),
      );
      const errors = chain.filter((l) => l.isApiErrorMessage === true);
      const last = chain.at(-1)!;
      const id = basename(p, ".jsonl");
      const s = h.sessions.get(uid(id))!;
      expect(s, id).toBeDefined();
      expect(s).toMatchObject({
        kind: id.startsWith("agent-") ? "sidechain" : "session",
        parentUid: id.startsWith("agent-") ? uid(lines[0]!.sessionId) : null,
        project: lines.find((l) => l.cwd)!.cwd,
        model: real.at(-1)?.message.model ?? null,
        contextTokens: lastUsage ? lastUsage.input_tokens + lastUsage.cache_creation_input_tokens + lastUsage.cache_read_input_tokens : null,
        contextWindow: 200_000,
        inputTokens: sum("input_tokens"),
        outputTokens: sum("output_tokens"),
        cacheReadTokens: sum("cache_read_input_tokens"),
        cacheWriteTokens: sum("cache_creation_input_tokens"),
        messageCount: prompts.length + byId.size,
        firstActivity: ms(chain[0]!.timestamp),
        lastActivity: ms(last.timestamp),
        parseErrors: 0,
        state: id.startsWith("agent-") ? "ended" : errors.length && last.isApiErrorMessage ? "errored" : "idle",
      });
      expect(s.extra).toMatchObject({
        apiErrors: errors.length,
        compactions: chain.filter((l) => l.subtype === "compact_boundary").length,
      });
    }
  });

  it("a `<synthetic>` line marked isApiErrorMessage:false (the reply to /compact) is not an API error", async () => {
    const { h } = home("claude-2.0.76", ".claude");
    await new ClaudeCodeSource(h.config, {}).scan(h.ctx());
    const [compacted] = files(projects, /^[0-9a-f-]{36}\.jsonl$/).filter((p) => jsonl(p).some((l) => l.subtype === "compact_boundary"));
    const lines = jsonl(compacted!);
    expect(lines.some((l) => l.message?.model === "<synthetic>" && l.isApiErrorMessage === false)).toBe(true);
    const s = h.sessions.get(uid(basename(compacted!, ".jsonl")))!;
    expect(s.extra).toMatchObject({ apiErrors: 0, lastApiError: null, compactions: 1 });
  });
});

describe("Codex 0.77.0 (no ordinal, no turn events, a running total per process)", () => {
  const sessions = join(base, "codex-0.77.0/.codex/sessions");

  it("reads each rollout: cwd, model, context and window of the last token_count, totals summed over resumes", async () => {
    const { h } = home("codex-0.77.0", ".codex");
    const r = await new CodexSource(h.config, {}).scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(0);
    const rollouts = files(sessions, /^rollout-.*\.jsonl$/);
    expect(rollouts).toHaveLength(2);
    for (const p of rollouts) {
      const lines = jsonl(p);
      expect(lines.every((l) => !("ordinal" in l))).toBe(true);
      const meta = lines[0]!.payload;
      const contexts = lines.filter((l) => l.type === "turn_context").map((l) => l.payload);
      const counts = lines.filter((l) => l.payload.type === "token_count" && l.payload.info).map((l) => l.payload.info);
      // One request per token_count, except the repeat Codex writes before a tool call's follow-up (same figures).
      const requests = counts.filter((c, i) => i === 0 || JSON.stringify(c) !== JSON.stringify(counts[i - 1]));
      const sum = (k: string) => requests.reduce((n, c) => n + c.last_token_usage[k], 0);
      const events = lines.filter((l) => l.type === "event_msg").map((l) => l.payload.type);
      const s = h.sessions.get(sessionUid("codex", null, meta.id))!;
      expect(basename(p)).toContain(meta.id);
      expect(s).toMatchObject({
        kind: "session",
        project: contexts.at(-1)!.cwd,
        model: contexts.at(-1)!.model,
        contextTokens: counts.at(-1)?.last_token_usage.input_tokens ?? null,
        inputTokens: sum("input_tokens") - sum("cached_input_tokens"),
        cacheReadTokens: sum("cached_input_tokens"),
        outputTokens: sum("output_tokens"),
        messageCount: events.filter((t) => t === "user_message" || t === "agent_message").length,
        firstActivity: ms(lines[0]!.timestamp),
        lastActivity: ms(lines.at(-1)!.timestamp),
        parseErrors: 0,
        // This release persists no task_started/task_complete: the rollout cannot say whether a turn runs.
        state: "unknown",
      });
      if (counts.length) expect(s.contextWindow).toBe(counts.at(-1)!.model_context_window);
      expect(h.turns(s.uid).map((t) => t.context_tokens)).toEqual(requests.map((c) => c.last_token_usage.input_tokens));
    }
  });

  it("the running total restarts with every resumed process (so summing the last total would undercount)", () => {
    const [resumed] = files(sessions, /^rollout-.*\.jsonl$/).filter((p) => jsonl(p).filter((l) => l.payload.type === "user_message").length > 1);
    const infos = jsonl(resumed!)
      .filter((l) => l.payload.type === "token_count" && l.payload.info)
      .map((l) => l.payload.info);
    const restarts = infos.filter((c, i) => i > 0 && c.total_token_usage.total_tokens === c.last_token_usage.total_tokens);
    expect(restarts.length).toBeGreaterThan(0);
  });
});

describe("Gemini CLI 0.28.2 (whole-JSON chats in a sha256 project folder)", () => {
  const tmp = join(base, "gemini-0.28.2/.gemini/tmp");

  it("reads each chat document: model, context against the 1M window, counts, times; the project hash checks out", async () => {
    const { h } = home("gemini-0.28.2", ".gemini");
    const r = await new GeminiSource(h.config.sources.gemini.root).scan(h.ctx());
    expect(r.errors).toEqual([]);
    expect(r.parseErrors).toBe(0);
    const chats = files(tmp, /^session-.*\.json$/);
    expect(chats).toHaveLength(2);
    expect(files(tmp, /\.jsonl$/)).toEqual([]);
    for (const p of chats) {
      const doc = JSON.parse(readFileSync(p, "utf8")) as Json;
      const projectDir = basename(dirname(dirname(p)));
      const msgs = doc.messages as Json[];
      const replies = msgs.filter((m) => m.type === "gemini");
      const s = h.sessions.get(sessionUid("gemini", null, doc.sessionId))!;
      expect(s).toMatchObject({
        kind: "session",
        // No projects.json or .project_root before 0.29: the folder is sha256(project root), which cannot be undone.
        project: null,
        model: replies.at(-1)!.model,
        contextTokens: replies.at(-1)!.tokens.input,
        contextWindow: 1_048_576,
        messageCount: msgs.filter((m) => m.type === "user" || m.type === "gemini").length,
        cacheReadTokens: replies.reduce((n, m) => n + m.tokens.cached, 0),
        inputTokens: replies.reduce((n, m) => n + m.tokens.input - m.tokens.cached, 0),
        outputTokens: replies.reduce((n, m) => n + m.tokens.output, 0),
        firstActivity: ms(doc.startTime),
        lastActivity: ms(doc.lastUpdated),
        parseErrors: 0,
        // A request that failed (HTTP 429) leaves the prompt last in the document, as one in flight would.
        state: msgs.at(-1)!.type === "gemini" ? "idle" : "unknown",
      });
      expect(s.extra).toMatchObject({ projectDir, projectHash: doc.projectHash });
      expect(projectDir).toBe(doc.projectHash);
      expect(h.turns(s.uid).map((t) => t.context_tokens)).toEqual(replies.map((m) => m.tokens.input));
    }
  });

  it("the project hash is sha256 of the cwd the chat's own tool call names", () => {
    const docs = files(tmp, /^session-.*\.json$/).map((p) => JSON.parse(readFileSync(p, "utf8")) as Json);
    const call = docs.flatMap((d) => d.messages as Json[]).find((m) => m.toolCalls?.length)!.toolCalls[0];
    const cwd = dirname(call.args.file_path as string);
    expect(createHash("sha256").update(cwd).digest("hex")).toBe(docs[0]!.projectHash);
  });
});
