import { describe, expect, it } from "vitest";
import { parseSessionKey, summarizeEntry } from "../../../src/agents/openclaw/entry.ts";

describe("parseSessionKey", () => {
  it("reads the shapes OpenClaw builds for each dmScope and chat kind", () => {
    expect(parseSessionKey("agent:main:main")).toMatchObject({ agentId: "main", kind: "main", peer: null });
    expect(parseSessionKey("agent:work:dm:4411")).toMatchObject({ agentId: "work", kind: "dm", channel: null, peer: "any:dm:4411" });
    expect(parseSessionKey("agent:work:telegram:dm:4411")).toMatchObject({ kind: "dm", channel: "telegram", peer: "telegram:dm:4411" });
    expect(parseSessionKey("agent:work:telegram:direct:4411")).toMatchObject({ kind: "dm", peer: "telegram:dm:4411" });
    expect(parseSessionKey("agent:work:telegram:bot1:dm:4411")).toMatchObject({ kind: "dm", accountId: "bot1", peer: "telegram:dm:4411" });
    expect(parseSessionKey("agent:main:telegram:group:-100123")).toMatchObject({ kind: "group", peer: "telegram:group:-100123" });
    expect(parseSessionKey("agent:main:telegram:group:-100123:topic:7")).toMatchObject({ kind: "group", peer: "telegram:group:-100123:topic:7" });
    expect(parseSessionKey("agent:main:discord:channel:987")).toMatchObject({ kind: "channel", peer: "discord:channel:987" });
    expect(parseSessionKey("agent:main:subagent:0f3c")).toMatchObject({ kind: "subagent" });
    expect(parseSessionKey("agent:main:cron:nightly")).toMatchObject({ kind: "cron" });
  });

  it("falls back to the chat type, then to a plain session, for keys it does not know", () => {
    expect(parseSessionKey("agent:main:fixture-error")).toMatchObject({ kind: "session", peer: null });
    expect(parseSessionKey("agent:main:custom-thing", "group")).toMatchObject({ kind: "group", peer: null });
    expect(parseSessionKey("not-an-agent-key", "direct")).toMatchObject({ agentId: null, kind: "dm" });
  });
});

describe("summarizeEntry", () => {
  it("keeps routing, token, model and fallback fields; epoch seconds become ms", () => {
    const e = summarizeEntry({
      sessionId: "s1",
      updatedAt: 1788501234,
      origin: { provider: "telegram", chatType: "direct", from: "telegram:4411", accountId: "bot1" },
      providerOverride: "openai",
      modelOverride: "gpt-5.5",
      modelOverrideFallbackOriginProvider: "anthropic",
      modelOverrideFallbackOriginModel: "claude-opus-4-6",
      totalTokens: 100,
      totalTokensFresh: false,
      contextTokens: 0,
      sessionFile: null,
    })!;
    expect(e).toMatchObject({
      updatedAt: 1788501234000,
      chatType: "direct",
      channel: "telegram",
      accountId: "bot1",
      from: "telegram:4411",
      modelOverride: "openai/gpt-5.5",
      fallbackOriginModel: "anthropic/claude-opus-4-6",
      totalTokens: 100,
      totalTokensFresh: false,
      contextTokens: null,
      sessionFile: null,
      hasSessionFile: true,
    });
    expect(summarizeEntry({ sessionId: "s2" })!.hasSessionFile).toBe(false);
  });

  it("refuses what is not an entry", () => {
    expect(summarizeEntry(null)).toBeNull();
    expect(summarizeEntry([])).toBeNull();
    expect(summarizeEntry({ sessionId: "" })).toBeNull();
    expect(summarizeEntry({ updatedAt: 1 })).toBeNull();
  });
});
