import { describe, expect, it } from "vitest";
import { workerListView, workerReminderView, workerResultView, workerStatusView, workerTitle } from "../../src/core/worker-views.ts";
import { viewToText } from "../../src/messages/view.ts";
import type { WorkerRow } from "../../src/store/workers.ts";

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
