import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSessionMessages } from "../../src/agents/messages-reader.ts";
import type { Platform } from "../../src/agents/session.ts";
import { buildMemory, estimateTokens, memoryJson, renderMemory } from "../../src/handover/memory.ts";

// Every session the real CLIs wrote into tests/fixtures/real and tests/fixtures/real-old (all five agents, old
// and new layouts). The expected user messages are the prompts tests/fixtures/generate/*.sh sent, as the
// files hold them (OpenCode's run wrapped them in quotes); the files are those the fake model's USE_TOOL read.
const fx = join(import.meta.dirname, "../fixtures");
const hello = ["Hello, summarize this project", "USE_TOOL: read the README and tell me what it says"];
const four = [...hello, "BIGCONTEXT pretend this is a long conversation", "Thanks, anything else?"];
const quoted = (l: string[]) => l.map((s) => `"${s}"`);

interface Case {
  name: string;
  platform: Platform;
  path: string;
  sessionId: string;
  users: string[];
  files: string[];
  commands?: string[];
  error?: RegExp;
  model: string | null;
  cwd: string | null;
}

const claudeNew = "real/claude/.claude/projects/-tmp-asmfx-claude-home-work-demo-app";
const claudeOld = "real-old/claude-2.0.76/.claude/projects/-tmp-asmfx-old-ccg-claude-home-work-demo-app";
const codexNew = "real/codex/.codex/sessions/2026/11/23";
const codexOld = "real-old/codex-0.77.0/.codex/sessions/2026/11/23";
const geminiNew = "real/gemini/.gemini/tmp/demo-app/chats";
const geminiOld = "real-old/gemini-0.28.2/.gemini/tmp/463b92afb0eeb90395570a3a0947d4c14c2e2eb9f6129b3d18cb6b60c8b3bb27/chats";
const ocDb = "real/opencode/.local/share/opencode/opencode.db";
const oc1 = "real-old/opencode-1.1.65/.local/share/opencode/storage/session/global";
const oc0 = "real-old/opencode-0.5.29/.local/share/opencode/project/global/storage/session/info";
const clawDb = "real/openclaw/.openclaw/agents/main/agent/openclaw-agent.sqlite";
const clawOld = "real-old/openclaw-2026.7.1/.openclaw/agents/main/sessions";

const cases: Case[] = [
  {
    name: "Claude 2.1 session A (tool, /compact)",
    platform: "claude",
    path: `${claudeNew}/163916ff-775e-4222-8a81-8acc7c4cfe27.jsonl`,
    sessionId: "163916ff-775e-4222-8a81-8acc7c4cfe27",
    users: [...hello, "/compact", "Thanks, anything else?"],
    files: ["/tmp/asmfx/claude/home/work/demo-app/README.md"],
    model: "claude-opus-5-5",
    cwd: "/tmp/asmfx/claude/home/work/demo-app",
  },
  {
    name: "Claude 2.1 session B (529, then BIGCONTEXT)",
    platform: "claude",
    path: `${claudeNew}/525da2bd-d82b-4fc2-8e03-a00c7c58a818.jsonl`,
    sessionId: "525da2bd-d82b-4fc2-8e03-a00c7c58a818",
    users: ["FAIL529 this request is overloaded", "BIGCONTEXT pretend this is a long conversation"],
    files: [],
    error: /529 Overloaded/,
    model: "claude-sonnet-4-5",
    cwd: "/tmp/asmfx/claude/home/work/demo-app",
  },
  {
    name: "Claude 2.0.76 session A",
    platform: "claude",
    path: `${claudeOld}/10ddd1b7-cb43-4724-8d96-ee99a46bf590.jsonl`,
    sessionId: "10ddd1b7-cb43-4724-8d96-ee99a46bf590",
    users: [...hello, "/compact", "Thanks, anything else?"],
    files: ["/tmp/asmfx-old-ccg/claude/home/work/demo-app/README.md"],
    model: expect.any(String) as unknown as string,
    cwd: "/tmp/asmfx-old-ccg/claude/home/work/demo-app",
  },
  {
    name: "Claude 2.0.76 session B (529)",
    platform: "claude",
    path: `${claudeOld}/438c1a1e-c369-4105-94e4-abf0264dcde0.jsonl`,
    sessionId: "438c1a1e-c369-4105-94e4-abf0264dcde0",
    users: ["FAIL529 this request is overloaded"],
    files: [],
    error: /529/,
    model: null,
    cwd: "/tmp/asmfx-old-ccg/claude/home/work/demo-app",
  },
  {
    name: "Claude 2.0.76 warmup sidechain (agent-*.jsonl)",
    platform: "claude",
    path: `${claudeOld}/agent-a05e701.jsonl`,
    sessionId: "agent-a05e701",
    users: ["Warmup"],
    files: [],
    model: expect.any(String) as unknown as string,
    cwd: "/tmp/asmfx-old-ccg/claude/home/work/demo-app",
  },
  {
    name: "Codex (new) session A: exec_command",
    platform: "codex",
    path: `${codexNew}/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl`,
    sessionId: "01a209f7-4642-7fd2-9938-e1c95f5d15ec",
    users: four,
    files: ["README.md"],
    commands: ["cat README.md"],
    model: "gpt-5.5",
    cwd: "/tmp/asmfx/codex/home/work/demo-app",
  },
  {
    name: "Codex (new) session B: 429",
    platform: "codex",
    path: `${codexNew}/rollout-2026-11-23T19-52-11-01a209f7-4b47-7c43-b427-e8663f88e969.jsonl`,
    sessionId: "01a209f7-4b47-7c43-b427-e8663f88e969",
    users: ["FAIL429 this request is rate limited"],
    files: [],
    error: /429 Too Many Requests/,
    model: "gpt-5.5",
    cwd: "/tmp/asmfx/codex/home/work/demo-app",
  },
  {
    name: "Codex 0.77 session A: shell_command",
    platform: "codex",
    path: `${codexOld}/rollout-2026-11-23T22-06-15-01a20a72-098c-7241-937e-83bec516c7bc.jsonl`,
    sessionId: "01a20a72-098c-7241-937e-83bec516c7bc",
    users: four,
    files: ["README.md"],
    commands: ["cat README.md"],
    model: "gpt-5.1-codex",
    cwd: "/tmp/asmfx-old-ccg/codex/home/work/demo-app",
  },
  {
    name: "Codex 0.77 session B: 429 (not in the rollout)",
    platform: "codex",
    path: `${codexOld}/rollout-2026-11-23T22-06-16-01a20a72-0cc8-7e51-829f-457cf6e8136e.jsonl`,
    sessionId: "01a20a72-0cc8-7e51-829f-457cf6e8136e",
    users: ["FAIL429 this request is rate limited"],
    files: [],
    model: "gpt-5.1-codex",
    cwd: "/tmp/asmfx-old-ccg/codex/home/work/demo-app",
  },
  {
    name: "Codex (new) session A compressed (.jsonl.zst)",
    platform: "codex",
    path: "../handover/fixtures/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl.zst",
    sessionId: "01a209f7-4642-7fd2-9938-e1c95f5d15ec",
    users: four,
    files: ["README.md"],
    commands: ["cat README.md"],
    model: "gpt-5.5",
    cwd: "/tmp/asmfx/codex/home/work/demo-app",
  },
  {
    name: "Gemini JSONL session A: read_file",
    platform: "gemini",
    path: `${geminiNew}/session-2026-11-23T19-52-fc3544d1.jsonl`,
    sessionId: "fc3544d1-1d84-427d-85ea-4c362933f0ad",
    users: hello,
    files: ["/tmp/asmfx/gemini/home/work/demo-app/README.md"],
    model: "gemini-3.8-flash",
    cwd: null,
  },
  {
    name: "Gemini JSONL session B: a failed request the CLI rolled back is still the person's",
    platform: "gemini",
    path: `${geminiNew}/session-2026-11-23T19-52-7b341d7f.jsonl`,
    sessionId: "7b341d7f-6941-4e05-9db8-8d32c95b26ef",
    users: [
      "Hello again, what is in this folder?",
      "BIGCONTEXT pretend this is a long conversation",
      "Thanks, anything else?",
      "FAIL429 this request is rate limited",
    ],
    files: [],
    model: "gemini-2.5-pro",
    cwd: null,
  },
  {
    name: "Gemini JSONL session C: only a failed request",
    platform: "gemini",
    path: `${geminiNew}/session-2026-11-23T19-52-2a6d3c92.jsonl`,
    sessionId: "2a6d3c92-e935-4cb5-a3d5-c53389b8068c",
    users: ["FAIL429 this request is rate limited"],
    files: [],
    model: null,
    cwd: null,
  },
  {
    name: "Gemini 0.28 JSON session A",
    platform: "gemini",
    path: `${geminiOld}/session-2026-11-23T22-05-f515f047.json`,
    sessionId: "f515f047-8ce0-4ab1-8cec-810397650449",
    users: hello,
    files: ["/tmp/asmfx-old-ccg/gemini/home/work/demo-app/README.md"],
    model: "gemini-2.5-flash",
    cwd: null,
  },
  {
    name: "Gemini 0.28 JSON session B",
    platform: "gemini",
    path: `${geminiOld}/session-2026-11-23T22-05-d68718ce.json`,
    sessionId: "d68718ce-928f-485f-8ac9-d6f18bac14e3",
    users: ["Hello again, what is in this folder?", "FAIL429 this request is rate limited"],
    files: [],
    model: expect.any(String) as unknown as string,
    cwd: null,
  },
  {
    name: "OpenCode SQLite session A",
    platform: "opencode",
    path: ocDb,
    sessionId: "ses_df6085013ffe1cAA3mVhJxkYin",
    users: quoted(four),
    files: ["/tmp/asmfx/opencode/home/work/demo-app/README.md"],
    model: "fake-coder-1",
    cwd: "/tmp/asmfx/opencode/home/work/demo-app",
  },
  {
    name: "OpenCode SQLite session B: 529",
    platform: "opencode",
    path: ocDb,
    sessionId: "ses_df6081143ffezQpLp1jEFXIPCm",
    users: quoted(["FAIL529 this request fails"]),
    files: [],
    error: /server had an error/,
    model: "fake-coder-1",
    cwd: "/tmp/asmfx/opencode/home/work/demo-app",
  },
  {
    name: "OpenCode 1.1 JSON storage session A",
    platform: "opencode",
    path: `${oc1}/ses_df5913eacffeaYSFAxq7xF7Bti.json`,
    sessionId: "ses_df5913eacffeaYSFAxq7xF7Bti",
    users: quoted(four),
    files: ["/tmp/asmfx-old/opencode/home/work/demo-app/README.md"],
    model: "fake-coder-1",
    cwd: "/tmp/asmfx-old/opencode/home/work/demo-app",
  },
  {
    name: "OpenCode 1.1 JSON storage session B: 429",
    platform: "opencode",
    path: `${oc1}/ses_df5912541ffeIWaESvlzPFc21y.json`,
    sessionId: "ses_df5912541ffeIWaESvlzPFc21y",
    users: quoted(["FAIL429 this request is rate limited"]),
    files: [],
    model: "fake-coder-1",
    cwd: expect.any(String) as unknown as string,
  },
  {
    name: "OpenCode 0.5 JSON storage session A",
    platform: "opencode",
    path: `${oc0}/ses_df58a414dffe8XLRY7bUKIyRyn.json`,
    sessionId: "ses_df58a414dffe8XLRY7bUKIyRyn",
    users: four,
    files: ["/tmp/asmfx-old/opencode0/home/work/demo-app/README.md"],
    model: "fake-coder-1",
    cwd: "/tmp/asmfx-old/opencode0/home/work/demo-app",
  },
  {
    name: "OpenCode 0.5 JSON storage session B: 429",
    platform: "opencode",
    path: `${oc0}/ses_df58a353effeOLDNth14CPjQZj.json`,
    sessionId: "ses_df58a353effeOLDNth14CPjQZj",
    users: ["FAIL429 this request is rate limited"],
    files: [],
    error: /Rate limit/,
    model: "fake-coder-1",
    cwd: expect.any(String) as unknown as string,
  },
  {
    name: "OpenClaw SQLite session (transcript_events)",
    platform: "openclaw",
    path: clawDb,
    sessionId: "5fbd7986-1dc1-4da9-b50b-b3302e336325",
    users: four,
    files: ["/tmp/asmfx/openclaw/home/work/demo-app/README.md"],
    model: "fake-coder-1",
    cwd: "/tmp/asmfx/openclaw/home/work/demo-app",
  },
  {
    name: "OpenClaw SQLite session: 500",
    platform: "openclaw",
    path: clawDb,
    sessionId: "5d0ff261-791e-4a84-bd0c-9ab2faa4227c",
    users: ["FAIL529 this request fails"],
    files: [],
    error: /server had an error/,
    model: "fake-coder-1",
    cwd: "/tmp/asmfx/openclaw/home/work/demo-app",
  },
  {
    name: "OpenClaw 2026.7.1 JSONL session",
    platform: "openclaw",
    path: `${clawOld}/33ba00ec-52c7-444b-b099-2efe2a239fdd.jsonl`,
    sessionId: "33ba00ec-52c7-444b-b099-2efe2a239fdd",
    users: four,
    files: ["/tmp/asmfx-old/openclaw/home/work/demo-app/README.md"],
    model: "fake-coder-1",
    cwd: "/tmp/asmfx-old/openclaw/home/work/demo-app",
  },
  {
    name: "OpenClaw 2026.7.1 JSONL session: 429",
    platform: "openclaw",
    path: `${clawOld}/97e45528-4b60-4428-a228-60ae23c009ec.jsonl`,
    sessionId: "97e45528-4b60-4428-a228-60ae23c009ec",
    users: ["FAIL429 this request is rate limited"],
    files: [],
    error: /429 Rate limit/,
    model: "fake-coder-1",
    cwd: "/tmp/asmfx-old/openclaw/home/work/demo-app",
  },
];

const memoryOf = (c: Case, memoryTokens = 4000) => {
  const read = readSessionMessages({ platform: c.platform, sessionId: c.sessionId, path: join(fx, c.path), project: null });
  return { read, memory: buildMemory(read, { platform: c.platform, sessionId: c.sessionId, memoryTokens }) };
};

describe("the memory of every real-CLI fixture session", () => {
  it.each(cases)("$name", (c) => {
    const { read, memory } = memoryOf(c);
    expect(read.parseErrors).toBe(0);
    const md = renderMemory(memory);
    // The goal is the first user message verbatim; every user message is there, verbatim, in order.
    expect(memory.goal).toBe(c.users[0]);
    expect(memory.userMessages).toEqual(c.users);
    expect(memory.userMessagesOmitted).toBe(0);
    for (const u of c.users) expect(md).toContain(`> ${u}`);
    // The files touched.
    const touched = [...memory.files.read, ...memory.files.created.map((f) => f.path), ...memory.files.edited.map((f) => f.path)];
    expect(touched).toEqual(c.files);
    for (const f of c.files) expect(md).toContain(f);
    expect(memory.commands.map((x) => x.command)).toEqual(c.commands ?? []);
    for (const x of memory.commands) expect(x.exitCode).toBe(0);
    if (c.error) expect(memory.errors.map((e) => e.text).join("\n")).toMatch(c.error);
    expect(memory.model).toEqual(c.model);
    expect(memory.cwd).toEqual(c.cwd);
    expect(memory.lastAssistant === null || md.includes(memory.lastAssistant.split("\n")[0]!)).toBe(true);
    // Within its bound, and byte-identical when built again.
    expect(memory.tokens).toBe(estimateTokens(md));
    expect(memory.tokens).toBeLessThanOrEqual(4000);
    expect(memory.truncated).toBe(false);
    const again = memoryOf(c).memory;
    expect(memoryJson(again)).toBe(memoryJson(memory));
    expect(renderMemory(again)).toBe(md);
  });

  it.each(cases)("$name, in a 500-token bound", (c) => {
    const { memory } = memoryOf(c, 500);
    expect(estimateTokens(renderMemory(memory))).toBeLessThanOrEqual(500);
    expect(memory.goal).toBe(c.users[0]);
  });

  it("the .zst rollout gives the same memory as the plain one", () => {
    const plain = memoryOf(cases.find((c) => c.name.startsWith("Codex (new) session A:"))!).memory;
    const zst = memoryOf(cases.find((c) => c.name.includes(".jsonl.zst"))!).memory;
    expect(memoryJson(zst)).toBe(memoryJson(plain));
  });

  it("the empty Claude 2.0.76 session files give an empty memory, not an error", () => {
    for (const id of ["68432a45-8b6d-4cae-bf91-7a21f8b682da", "da341d76-1edd-4d5b-85e8-d08d16617183", "f2c79d77-6037-4082-b335-4a0a50a88587"]) {
      const { memory } = memoryOf({ ...cases[0]!, path: `${claudeOld}/${id}.jsonl`, sessionId: id });
      expect(memory).toMatchObject({ goal: null, userMessages: [], lastAssistant: null, stats: { entries: 0 } });
      expect(renderMemory(memory)).toContain("## Goal (first user message)\n\n(none)");
    }
  });
});
