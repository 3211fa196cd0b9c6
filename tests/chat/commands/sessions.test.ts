import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionRecord } from "../../../src/agents/session.ts";
import { sessionView } from "../../../src/chat/commands/sessions-views.ts";
import { commands } from "../../../src/chat/commands.ts";
import { CoreInbound } from "../../../src/chat/dispatch.ts";
import { checkContext } from "../../../src/checks/context.ts";
import { Manager } from "../../../src/core/manager.ts";
import type { Caller } from "../../../src/messages/transport.ts";
import { type View, viewToText } from "../../../src/messages/view.ts";
import { gatherObservations } from "../../../src/observe/gather.ts";
import { rig, session } from "../../core/setup.ts";
import { tooWide } from "../../helpers/phone.ts";

const member: Caller = { transport: "telegram", userId: "7", allowed: true, admin: false };
const HOUR = 3_600_000;
const now = Date.now();
const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

const claudeTranscript = fileURLToPath(
  new URL("../../fixtures/real/claude/.claude/projects/-tmp-asmfx-claude-home-work-demo-app/525da2bd-d82b-4fc2-8e03-a00c7c58a818.jsonl", import.meta.url),
);

function setup(rows: SessionRecord[]) {
  const r = rig();
  const manager = new Manager(r.rt, { probeIntervalMs: 50 });
  open.push({ manager, rt: r.rt });
  for (const s of rows) r.rt.sessions.upsert(s);
  const inbound = new CoreInbound(manager);
  const view = (line: string): Promise<View> => {
    const [name, ...args] = line.slice(1).split(" ").filter(Boolean);
    return inbound.command(member, name!, args);
  };
  const run = async (line: string) => viewToText(await view(line));
  return { ...r, manager, view, run };
}

/** Sessions a new user has on day one: a `codex exec` run that ended over its window, old ones, live ones. */
const day = () => [
  session(
    {
      platform: "codex",
      sessionId: "019a0000-ende-7000-8000-000000000001",
      state: "ended",
      contextPercent: 112,
      contextTokens: 289_000,
      contextWindow: 258_000,
    },
    now,
  ),
  session(
    { platform: "claude", sessionId: "c1a20000-0000-4000-8000-000000000002", title: "refactor the payment module", contextPercent: 85, contextTokens: 170_000 },
    now,
  ),
  session(
    { platform: "claude", sessionId: "c1a30000-0000-4000-8000-000000000003", contextPercent: 96, contextTokens: 192_000, lastActivity: now - 30 * HOUR },
    now,
  ),
  session(
    {
      platform: "openclaw",
      agentId: "main",
      sessionId: "0c000000-0000-4000-8000-000000000004",
      sessionKey: "agent:main:telegram:dm:4411",
      kind: "dm",
      contextPercent: 92,
      contextTokens: 184_000,
      lastActivity: now - 72 * HOUR,
    },
    now,
  ),
  session(
    {
      platform: "gemini",
      sessionId: "9e500000-0000-4000-8000-000000000005",
      contextPercent: 99,
      contextTokens: 990_000,
      contextWindow: 1_000_000,
      present: false,
    },
    now,
  ),
  session(
    {
      platform: "gemini",
      sessionId: "9e000000-0000-4000-8000-000000000006",
      title: "build fails",
      state: "errored",
      contextPercent: 12,
      project: "/srv/alpha",
    },
    now,
  ),
  session(
    { platform: "opencode", sessionId: "ses_0000000000000000000007", title: "release notes", state: "waiting", contextPercent: 30, project: "/srv/beta" },
    now,
  ),
];

describe("/sessions and the context check agree (issue 18 item 7)", () => {
  it("lists exactly the sessions the check looks at, most urgent first, and says what it leaves out and why", async () => {
    const t = setup(day());
    const obs = await gatherObservations(t.rt, now, {});
    const alerted = new Set(checkContext(obs, t.rt.config, now).map((f) => String(f.details?.uid)));
    const listed = (await t.manager.sessions({ scope: "active", sort: "urgency", limit: 300 }, now)).rows.map((r) => r.session);
    // Every listed session at or over the warning threshold has a finding, and every finding is listed.
    const warn = t.rt.config.checks.context.percentWarning;
    expect(new Set(listed.filter((s) => (s.contextPercent ?? 0) >= warn).map((s) => s.uid))).toEqual(alerted);
    expect(alerted.size).toBe(2); // the live Claude session and the OpenClaw chat session (a peer's message resumes it)

    const text = await t.run("/sessions");
    expect(text).not.toContain("019a0000"); // ended at 112%: not checked, so not ranked as urgent
    expect(text.split("\n")[2]).toBe("0c000000 openclaw/main · agent:main:tel…");
    expect(text).toContain("Not checked (see /sessions all):\n1 ended, 1 idle over 24h, 1 gone");

    const all = await t.run("/sessions all");
    const [checked, unchecked] = all.split("Not checked (ended, idle or gone)");
    expect(checked).not.toContain("019a0000");
    expect(unchecked).toContain("019a0000 codex · untitled\n   112% of 258k · ended · ");
    expect(unchecked).not.toContain("🔴"); // no alarm colour on a session no check looks at
  });

  it("asm check's wording and the README say the same thing", async () => {
    const { skippedText } = await import("../../../src/checks/context-scope.ts");
    const t = setup(day());
    expect(skippedText(t.manager.sessions({ scope: "active", sort: "urgency", limit: 300 }, now).skipped, t.rt.config)).toBe(
      "not checked: 1 ended, 1 idle over 24h, 1 gone",
    );
  });
});

describe("/sessions on a phone (issue 18 item 10)", () => {
  it("two short lines per session within 40 columns; errored and waiting sessions are marked", async () => {
    const long = session(
      {
        platform: "openclaw",
        agentId: "customer-support-frontline",
        sessionId: "0c111111-2222-4333-8444-555555555555",
        title: "a very long title that goes on and on about what this session is doing today",
        contextPercent: 100,
        contextTokens: 1_048_576,
        contextWindow: 1_048_576,
        state: "waiting",
      },
      now,
    );
    const t = setup([...day(), long]);
    for (const line of ["/sessions", "/sessions all", "/sessions all activity", "/sessions errored", "/sessions openclaw", "/session 0c", "/tail 0c"]) {
      const v = await t.view(line);
      expect(tooWide(v), line).toEqual([]);
    }
    const text = await t.run("/sessions");
    expect(text).toMatch(/9e000000 gemini · build fails\n {3}12% of 200k · ❌ errored · /);
    expect(text).toMatch(/ses_0000 opencode · release notes\n {3}30% of 200k · 💬 waiting · /);
  });

  it("filters: errored, waiting, project <name>; a filter that matches nothing says so", async () => {
    const t = setup(day());
    const errored = await t.run("/sessions errored");
    expect(errored).toContain("Sessions: 1 (errored)");
    expect(errored).toContain("build fails");
    expect(errored).not.toContain("release notes");
    expect(await t.run("/sessions waiting")).toContain("release notes");
    const alpha = await t.run("/sessions project ALPHA");
    expect(alpha).toContain("Sessions: 1 (project ALPHA)");
    expect(alpha).toContain("9e000000");
    expect(await t.run("/sessions project nothing-here")).toContain("No sessions (project nothing-here).");
    expect(await t.run("/sessions project")).toMatch(/give a project name after project/);
    expect(await t.run("/sessions errored waiting")).toMatch(/give errored or waiting, not both/);
  });
});

describe("/session and /tail (issue 18 items 12 and 13)", () => {
  it("/session: the state, context with enough precision, words instead of keys, the last prompt and reply, within 40 columns", async () => {
    const home = "/home/ada";
    const s = session(
      {
        platform: "gemini",
        sessionId: "cfa17fa0-5c2e-4d1a-9f00-123456789abc",
        title: "port the parser",
        project: `${home}/code/parser`,
        path: `${home}/.gemini/tmp/abc/chats/session-2026-12-05T01-00-cfa17fa0.json`,
        contextTokens: 1_040_000,
        contextWindow: 1_048_576,
        contextPercent: 99.2,
        state: "errored",
        extra: { compactionCount: 3, apiErrors: 2, lastAssistantModel: "gemini-3-pro", lastErrorReason: "rate_limit" },
      },
      now,
    );
    const v = sessionView(
      s,
      [],
      [],
      now,
      {
        prompt: { text: "please port the parser\nto the new API", ts: now - 120_000 },
        reply: { text: "Done: the parser now uses the new API.", ts: now - 60_000 },
      },
      home,
    );
    const text = viewToText(v);
    expect(text).toContain("context: 99.2% full (1.04M of 1.05M)");
    expect(text).toContain("❌ errored · last active");
    expect(text).toContain("compacted 3 times");
    expect(text).toContain("API errors: 2");
    expect(text).toContain("last answer by: gemini-3-pro");
    expect(text).toContain("last error: rate limit");
    expect(text).not.toMatch(/compactionCount|apiErrors|lastAssistantModel/);
    expect(text).toContain("Last prompt (2m ago)\nplease port the parser to the new API");
    expect(text).toContain("Last reply (1m ago)\nDone: the parser now uses the new API.");
    expect(text).toContain("project: ~/code/parser");
    expect(text).toContain("file: ~/.gemini/tmp/abc/chats/");
    expect(tooWide(v, { wrap: true, allow: (l) => l.includes("gemini --resume ") || l.startsWith("file: ~/") })).toEqual([]);
  });

  it("/session of a database-backed session says where it is kept instead of a file size", () => {
    const s = session({ platform: "opencode", sessionId: "ses_1", path: "/var/lib/opencode/opencode.db", sizeBytes: 123_456 }, now);
    const text = viewToText(sessionView(s, [], [], now));
    expect(text).toContain("stored in: /var/lib/opencode/opencode.db (a database shared with other sessions)");
    expect(text).not.toContain("121 KB");
  });

  it("/session and /tail read the transcript's last messages; /tail takes a count", async () => {
    const r = rig();
    const dir = join(r.home, ".claude", "projects", "-work-demo");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "525da2bd-d82b-4fc2-8e03-a00c7c58a818.jsonl");
    copyFileSync(claudeTranscript, path);
    r.rt.close();
    const t = setup([session({ platform: "claude", sessionId: "525da2bd-d82b-4fc2-8e03-a00c7c58a818", path, project: "/work/demo" }, now)]);
    const detail = await t.run("/session 525da2bd");
    expect(detail).toContain("Last prompt");
    expect(detail).toContain("BIGCONTEXT pretend this is a long conversation");
    expect(detail).toContain("Last reply");
    expect(detail).toContain("More: /tail 525da2bd 20");
    const tail = await t.view("/tail 525da2bd 3");
    const text = viewToText(tail);
    expect(text).toMatch(/^claude 525da2bd: last 3 of \d+ messages/);
    expect(tail.sections.map((s) => s.heading!.split(" · ")[0])).toEqual(expect.arrayContaining(["User", "Claude Code"]));
    expect(tail.sections.at(-1)!.heading).toMatch(/^(User|Claude Code) · \d\d-\d\d \d\d:\d\d$/);
    expect(tooWide(tail, { wrap: true })).toEqual([]);
    expect(await t.run("/tail 525da2bd zero")).toMatch(/"zero" is not a count of messages\. Usage: \/tail/);
    expect(await t.run("/tail nope")).toContain('No session matches "nope"');
    expect(commands.map((c) => c.name)).toContain("tail");
  });
});

describe("/tail and /session on a huge transcript", () => {
  it("do not read it in chat (the bot would stall) and say what to use instead", async () => {
    const t = setup([
      session({ platform: "claude", sessionId: "b1600000-0000-4000-8000-000000000001", path: "/nonexistent/huge.jsonl", sizeBytes: 64 * 1024 * 1024 }, now),
    ]);
    expect(await t.run("/tail b1600000")).toBe("Its transcript is 64 MB, too large to read in chat; /memory b1600000 sums it up.");
    expect(await t.run("/session b1600000")).not.toContain("Last prompt");
  });
});
