import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  applyGeminiRecord,
  emptyGeminiState,
  type GeminiChatState,
  type GeminiTurn,
  maxMessages,
  summarizeGemini,
} from "../../../src/agents/gemini/chat-state.ts";

// Chat files Gemini CLI 0.61.0 wrote (a frozen copy of one generator run, so figures below stay exact).
const realChats = join(import.meta.dirname, "../../fixtures/gemini/cli-0.61.0");
const lines = (file: string) =>
  readFileSync(join(realChats, file), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);

const applyAll = (s: GeminiChatState, recs: unknown[]) => recs.flatMap((r) => applyGeminiRecord(s, r));

describe("Gemini chat state on files written by Gemini CLI 0.61.0", () => {
  it("re-appended messages count once; resume checkpoints keep the tokens they omit", () => {
    const s = emptyGeminiState();
    const turns = applyAll(s, lines("session-2026-11-23T19-45-5e85a54b.jsonl"));
    const sum = summarizeGemini(s);
    // 3 gemini answers (one re-appended with its tool call), not 4.
    expect(turns.map((t) => t.contextTokens)).toEqual([27690, 27742, 27859]);
    expect(s.sessionId).toBe("5e85a54b-d1a1-4450-90dd-40dc718f374b");
    expect(s.kind).toBe("main");
    expect(sum.contextTokens).toBe(27859);
    expect(sum.model).toBe("gemini-3.8-flash");
    expect(sum.input).toBe(27690 + 27742 + 27859);
    expect(sum.output).toBe(33 + 36 + 26);
    expect(sum.cached).toBe(23808 + 23808 + 23936);
    // context prompt + 3 user messages (incl. the tool response) + 3 answers
    expect(sum.messageCount).toBe(7);
    expect(sum.state).toBe("idle");
    expect(sum.firstTs).toBe(Date.parse("2026-11-23T19:45:45.172Z"));
  });

  it("a failed request rolled back by a checkpoint leaves the earlier figures intact", () => {
    const s = emptyGeminiState();
    applyAll(s, lines("session-2026-11-23T19-45-db7ee6c1.jsonl"));
    const sum = summarizeGemini(s);
    expect(sum.contextTokens).toBe(25910);
    expect(sum.model).toBe("gemini-2.5-pro");
    expect(sum.state).toBe("idle");
    expect(s.order).not.toContain("7d3601db-312e-4ec6-b55c-31a86828d5e8");
  });

  it("the result of reading line by line equals reading in any two chunks", () => {
    const recs = lines("session-2026-11-23T19-45-db7ee6c1.jsonl");
    const whole = emptyGeminiState();
    const wholeTurns = applyAll(whole, recs);
    for (let cut = 0; cut <= recs.length; cut++) {
      const s = emptyGeminiState();
      const t1 = applyAll(s, recs.slice(0, cut));
      // The state goes through JSON between cycles, as it does in the files table.
      const resumed = JSON.parse(JSON.stringify(s)) as GeminiChatState;
      const t2 = applyAll(resumed, recs.slice(cut));
      expect([...t1, ...t2]).toEqual(wholeTurns);
      expect(summarizeGemini(resumed)).toEqual(summarizeGemini(whole));
    }
  });
});

describe("Gemini chat state, hand-made cases", () => {
  const header = { sessionId: "s-1", projectHash: "h", startTime: "2026-08-20T10:00:00.000Z", lastUpdated: "2026-08-20T10:00:00.000Z" };
  const user = (id: string, t: string) => ({ id, timestamp: t, type: "user", content: [{ text: "héllo 日本" }] });
  const gem = (id: string, t: string, input: number, extra: Record<string, unknown> = {}) => ({
    id,
    timestamp: t,
    type: "gemini",
    model: "gemini-2.5-pro",
    content: [{ text: "ok" }],
    tokens: { input, output: 10, cached: 100, thoughts: 0, tool: 0, total: input + 10 },
    ...extra,
  });

  it("$rewindTo drops that message and all after it; the spent tokens stay counted", () => {
    const s = emptyGeminiState();
    applyAll(s, [header, user("u1", "2026-08-20T10:01:00Z"), gem("g1", "2026-08-20T10:02:00Z", 1000)]);
    applyAll(s, [user("u2", "2026-08-20T10:03:00Z"), gem("g2", "2026-08-20T10:04:00Z", 5000)]);
    applyGeminiRecord(s, { $rewindTo: "u2" });
    const sum = summarizeGemini(s);
    expect(s.order).toEqual(["u1", "g1"]);
    expect(sum.contextTokens).toBe(1000);
    expect(sum.messageCount).toBe(2);
    expect(sum.input).toBe(6000);
    // A rewind to an unknown id changes nothing.
    applyGeminiRecord(s, { $rewindTo: "nope" });
    expect(s.order).toEqual(["u1", "g1"]);
  });

  it("derives running, waiting, idle and errored from the last message", () => {
    const s = emptyGeminiState();
    applyAll(s, [header, user("u1", "2026-08-20T10:01:00Z")]);
    expect(summarizeGemini(s).state).toBe("running");
    const call = { id: "c1", name: "run_shell_command", args: {}, status: "executing" };
    applyGeminiRecord(s, gem("g1", "2026-08-20T10:02:00Z", 1000, { toolCalls: [call] }));
    expect(summarizeGemini(s).state).toBe("running");
    // A shell command waiting for the user's approval: the session waits for input.
    applyGeminiRecord(s, gem("g1", "2026-08-20T10:02:00Z", 1000, { toolCalls: [{ ...call, status: "awaiting_approval" }] }));
    expect(summarizeGemini(s).state).toBe("waiting");
    const turns = applyGeminiRecord(s, gem("g1", "2026-08-20T10:02:00Z", 1000, { toolCalls: [{ ...call, status: "success" }] }));
    expect(turns).toEqual([]);
    expect(summarizeGemini(s).state).toBe("idle");
    applyGeminiRecord(s, { id: "e1", timestamp: "2026-08-20T10:03:00Z", type: "error", content: "quota exceeded" });
    expect(summarizeGemini(s).state).toBe("errored");
    applyGeminiRecord(s, { id: "i1", timestamp: "2026-08-20T10:04:00Z", type: "info", content: "note" });
    expect(summarizeGemini(s).state).toBe("errored");
    expect(summarizeGemini(emptyGeminiState()).state).toBe("unknown");
  });

  it("a legacy whole document reads like a checkpoint", () => {
    const s = emptyGeminiState();
    const turns: GeminiTurn[] = applyGeminiRecord(s, {
      ...header,
      messages: [user("u1", "2026-08-20T10:01:00Z"), gem("g1", "2026-08-20T10:02:00Z", 4242)],
    });
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ input: 4142, cacheRead: 100, contextTokens: 4242, model: "gemini-2.5-pro" });
    expect(summarizeGemini(s)).toMatchObject({ messageCount: 2, contextTokens: 4242, state: "idle" });
  });

  it("stays bounded: old messages fold into totals", () => {
    const s = emptyGeminiState();
    applyGeminiRecord(s, header);
    for (let i = 0; i < maxMessages + 50; i++) applyGeminiRecord(s, gem(`g${i}`, "2026-08-20T10:02:00Z", 10));
    expect(s.order.length).toBeLessThanOrEqual(maxMessages);
    expect(Object.keys(s.msgs).length).toBe(s.size);
    expect(s.size).toBeLessThanOrEqual(maxMessages);
    expect(s.size).toBeGreaterThan(maxMessages / 2);
    const sum = summarizeGemini(s);
    expect(sum.messageCount).toBe(maxMessages + 50);
    expect(sum.input).toBe((maxMessages + 50) * 10);
  });

  it("ignores junk records", () => {
    const s = emptyGeminiState();
    expect(applyGeminiRecord(s, null)).toEqual([]);
    expect(applyGeminiRecord(s, [1, 2])).toEqual([]);
    expect(applyGeminiRecord(s, { id: 5, type: "gemini" })).toEqual([]);
    expect(s.order).toEqual([]);
  });
});
