import { describe, expect, it } from "vitest";
import type { OpencodeMessage } from "../../../src/agents/opencode/messages.ts";
import { storesRawInput, withoutCachedInput } from "../../../src/agents/opencode/raw-usage.ts";

const answer = (over: Partial<OpencodeMessage>): OpencodeMessage => ({
  id: "msg_1",
  role: "assistant",
  created: 1,
  completed: 2,
  model: "m",
  provider: "openai",
  input: 30000,
  output: 40,
  reasoning: 0,
  cacheRead: 25000,
  cacheWrite: 0,
  summary: false,
  finish: "stop",
  error: null,
  ...over,
});

describe("storesRawInput", () => {
  it("is true up to 1.0.61 (checked: 0.5.29, 1.0.0, 1.0.61) and false after, or when unknown", () => {
    for (const v of ["0.5.29", "0.15.31", "1.0.0", "1.0.61"]) expect(storesRawInput(v)).toBe(true);
    for (const v of ["1.0.62", "1.0.98", "1.1.65", "1.18.33", "2.0.0", "", "dev", null, undefined]) expect(storesRawInput(v)).toBe(false);
  });
});

describe("withoutCachedInput", () => {
  it("takes the cache reads out of input for an OpenAI-style provider", () => {
    expect(withoutCachedInput(answer({}))).toMatchObject({ input: 5000, cacheRead: 25000 });
  });

  it("leaves Anthropic and Bedrock answers, user messages and impossible figures as written", () => {
    expect(withoutCachedInput(answer({ provider: "anthropic" })).input).toBe(30000);
    expect(withoutCachedInput(answer({ provider: "amazon-bedrock" })).input).toBe(30000);
    expect(withoutCachedInput(answer({ role: "user" })).input).toBe(30000);
    expect(withoutCachedInput(answer({ input: 12, cacheRead: 25000 })).input).toBe(12);
    expect(withoutCachedInput(answer({ cacheRead: 0 })).input).toBe(30000);
  });
});
