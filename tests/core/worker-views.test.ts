import { describe, expect, it } from "vitest";
import {
  workerListView,
  workerOutputView,
  workerReminderView,
  workerRequestView,
  workerResultView,
  workerStatusView,
  workerTitle,
} from "../../src/core/worker-views.ts";
import { viewToText } from "../../src/messages/view.ts";
import type { WorkerRow } from "../../src/store/workers.ts";
import { tooWide } from "../helpers/phone.ts";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const worker = (over: Partial<WorkerRow> = {}): WorkerRow => ({
  id: "w12",
  agent: "opencode",
  model: "anthropic/claude-sonnet-4-5-20250929-with-a-long-name",
  workspace: "customer-portal-frontend-monorepo",
  cwd: "/srv/code/customer-portal-frontend-monorepo",
  prompt: "fix the failing test in the payments module and run the whole suite",
  status: "running",
  waitingReason: null,
  sessionId: "ses_0123456789abcdef0123",
  sessionUid: "opencode::ses_0123456789abcdef0123",
  pid: 1,
  pidStart: null,
  turns: 12,
  inputTokens: 123_456,
  outputTokens: 23_456,
  cacheReadTokens: 1_234_567,
  cacheWriteTokens: 34_567,
  contextTokens: 166_000,
  costUsd: 12.3456,
  exitCode: null,
  signal: null,
  errorClass: null,
  errorMessage: null,
  stderrTail: "",
  outputTail: "All done.",
  lastTool: "Bash: npm test -- --runInBand --coverage --testPathPattern payments",
  denied: [],
  resumedFrom: null,
  requestedBy: "telegram:1",
  threads: [],
  statusRefs: [],
  createdAt: NOW - 3_700_000,
  startedAt: NOW - 3_650_000,
  endedAt: null,
  updatedAt: NOW,
  chain: [],
  chainIndex: 0,
  attempt: 1,
  notBefore: null,
  owner: null,
  respondCount: 0,
  waitingDetail: null,
  remindedAt: null,
  ...over,
});
const lines = (text: string) => text.split("\n");

describe("worker views on a phone (40 columns)", () => {
  it("the status message and the list fit 40 columns with long models, tools and workspace names", () => {
    const status = viewToText(workerStatusView(worker(), { contextTokens: 166_000, contextWindow: 200_000 } as never, NOW));
    expect(status).toContain("context 166k (83%)");
    const list = viewToText(workerListView([worker(), worker({ id: "w3", status: "completed", agent: "claude", endedAt: NOW })], NOW));
    expect(list).toContain("w3 ✅ completed · ");
    for (const l of [...lines(status), ...lines(list)]) expect(l.length, l).toBeLessThanOrEqual(40);
  });

  it("a failure's title and stderr block fit 40 columns; the error and advice are prose that wraps", () => {
    const w = worker({ status: "failed", errorClass: "rate_limit", errorMessage: "429", exitCode: 1, stderrTail: `${"x".repeat(120)}\nshort` });
    expect(workerTitle(w).length).toBeLessThanOrEqual(40);
    const v = workerResultView(w, NOW);
    for (const s of v.sections.filter((x) => x.pre)) for (const l of s.lines) expect(l.length).toBeLessThanOrEqual(38);
    expect(viewToText(v)).toContain("Rate limited: /resume it later");
  });

  it("a worker waiting for a person says what for, within 40 columns, in its status, the list and the reminder", () => {
    const w = worker({
      status: "waiting-for-input",
      waitingReason: "permission",
      waitingDetail: "permission: shell(/bin/bash -lc 'npm test -- --run payments/refund.test.ts')",
    });
    const status = viewToText(workerStatusView(w, undefined, NOW));
    expect(status).toContain("⏸ waiting\npermission: shell(/bin/bash -lc 'npm te…");
    const list = viewToText(workerListView([w], NOW));
    const reminder = viewToText(workerReminderView(w, { id: 1, createdAt: NOW - 30 * 60_000 } as Parameters<typeof workerReminderView>[1], NOW));
    expect(reminder).toContain("asked 30m ago");
    for (const l of [...lines(status), ...lines(list), ...lines(reminder)]) expect(l.length, l).toBeLessThanOrEqual(40);
  });
});

describe("what a finished or failed worker says", () => {
  it("a failure keeps the end of each stderr line (wrapped to fit, not cut) and the last 500 characters of output", () => {
    const long = `Error: connect ECONNREFUSED 127.0.0.1:443 while calling https://api.example.test/v1/messages (attempt 3 of 3)`;
    const w = worker({
      status: "failed",
      errorClass: "server_error",
      errorMessage: "500",
      exitCode: 1,
      stderrTail: `noise\n${long}\n`,
      outputTail: `${"a".repeat(600)}END`,
    });
    const v = workerResultView(w, NOW);
    const stderr = v.sections.find((s) => s.heading === "stderr")!;
    expect(stderr.lines.join("")).toContain(long);
    for (const l of stderr.lines) expect(l.length, l).toBeLessThanOrEqual(38);
    const last = v.sections.find((s) => s.heading === "Last output")!.lines[0]!;
    expect(last).toHaveLength(500);
    expect(last.endsWith("END")).toBe(true);
    expect(viewToText(v)).toContain("exit 1");
  });

  it("what the CLI's own permission policy denied is reported with the result", () => {
    const v = workerResultView(worker({ status: "completed", denied: ["shell", "apply_patch"], endedAt: NOW }), NOW);
    expect(v.sections.find((s) => s.heading === "Denied by the CLI's policy")!.lines).toEqual(["shell, apply_patch"]);
  });

  it("a completed worker whose server asm stopped after its turn (opencode serve) says so, not a bare signal", () => {
    const closed = viewToText(workerResultView(worker({ status: "completed", agent: "opencode", signal: "SIGTERM", endedAt: NOW }), NOW));
    expect(closed).toContain("exit SIGTERM: stopped by asm when done");
    const killed = viewToText(workerResultView(worker({ status: "killed", signal: "SIGKILL", endedAt: NOW }), NOW));
    expect(killed).toContain("exit SIGKILL");
    expect(killed).not.toContain("stopped by asm");
  });

  it("a CLI that did not start is told which config key to check", () => {
    const v = workerResultView(worker({ status: "failed", errorClass: "spawn", errorMessage: "spawn opencode ENOENT" }), NOW);
    expect(viewToText(v)).toContain("check runner.drivers.opencode.command");
  });

  it("the result shows the context share like the status message did, when the scanned session knows its window", () => {
    const w = worker({ status: "completed", endedAt: NOW });
    expect(viewToText(workerResultView(w, NOW, { contextTokens: 166_000, contextWindow: 200_000 } as never))).toContain("context 166k (83%)");
  });

  it("a permission request does not repeat the command as its reason", () => {
    const r = {
      id: 1,
      kind: "permission",
      nonce: "n",
      expiresAt: NOW,
      payload: { tool: "Bash", detail: "npm test", reason: "npm test" },
    } as unknown as Parameters<typeof workerRequestView>[1];
    expect(viewToText(workerRequestView(worker(), r))).not.toContain("why:");
    expect(viewToText(workerRequestView(worker(), { ...r, payload: { ...r.payload, reason: "run the suite" } }))).toContain("why: run the suite");
  });
});

describe("the views this stop changed, at 40 columns", () => {
  it("a question with its options' descriptions, several numbered questions, and a result stopped by asm all read on a phone", async () => {
    const { questionPrompt } = await import("../../src/agents/questions.ts");
    const ask = (text: string, options: string[]) =>
      ({ id: 3, kind: "question", nonce: "n", expiresAt: NOW + 7_200_000, payload: { text, options } }) as unknown as Parameters<typeof workerRequestView>[1];
    const one = questionPrompt([
      {
        question: "Which database should the service use?",
        options: [
          { label: "SQLite", description: "one file, no server to run" },
          { label: "Postgres", description: "what production already runs" },
        ],
      },
    ]);
    const several = questionPrompt([
      { question: "Which database?", options: [{ label: "SQLite" }, { label: "Postgres" }] },
      { question: "Add tests?", options: [{ label: "Yes" }, { label: "No" }] },
    ]);
    const views = [
      workerRequestView(worker({ status: "waiting-for-input" }), ask(one.text, one.options)),
      workerRequestView(worker({ status: "waiting-for-input" }), ask(several.text, several.options)),
      workerResultView(worker({ status: "completed", signal: "SIGTERM", endedAt: NOW }), NOW),
    ];
    for (const v of views) expect(tooWide(v, { wrap: true }), viewToText(v)).toEqual([]);
    expect(viewToText(views[0]!)).toContain("• SQLite: one file, no server to run");
    expect(viewToText(views[1]!)).toContain("Reply with one line per question.");
  });
});

describe("Show output", () => {
  it("shows all of the kept output tail and, for a failure, all of its stderr wrapped to 38 columns", () => {
    const w = worker({ status: "failed", outputTail: `START${"o".repeat(3000)}END`, stderrTail: `first line\n${"e".repeat(100)}\nlast line` });
    const v = workerOutputView(w);
    expect(v.title).toBe("w12 output · ❌ failed");
    expect(v.sections[0]!.lines[0]).toBe(w.outputTail);
    const stderr = v.sections.find((s) => s.heading === "stderr")!;
    expect(stderr.lines[0]).toBe("first line");
    expect(stderr.lines.at(-1)).toBe("last line");
    expect(stderr.lines.join("")).toContain("e".repeat(100));
    expect(tooWide(v, { wrap: true, allow: (l) => l === w.outputTail })).toEqual([]);
    expect(workerOutputView(worker({ status: "completed", stderrTail: "debug noise" })).sections.map((s) => s.heading)).toEqual(["Output (its last 4 KB)"]);
  });
});
