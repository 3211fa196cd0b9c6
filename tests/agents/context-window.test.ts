import { describe, expect, it } from "vitest";
import { claudeWindow } from "../../src/agents/claude/transcript.ts";
import { catalogWindow, contextWindowFor } from "../../src/agents/context-window.ts";
import { cfg } from "../helpers/checks.ts";

describe("context windows", () => {
  it("the agent's own figure, then the config table, then the model catalog, then the default", () => {
    const config = cfg({ models: { contextWindows: { "gpt-5": 272_000 }, defaultContextWindow: 123_456 } });
    expect(contextWindowFor("gpt-5.2", config, 258_400)).toEqual({ tokens: 258_400, source: "agent" });
    expect(contextWindowFor("gpt-5.2", config)).toEqual({ tokens: 272_000, source: "config" });
    // Not in the table: the catalog (@pydantic/genai-prices) knows it.
    expect(contextWindowFor("deepseek-chat", config)).toEqual({ tokens: 64_000, source: "catalog" });
    expect(contextWindowFor("grok-4", config)).toEqual({ tokens: 256_000, source: "catalog" });
    // Nobody knows it: the configured default, said so.
    expect(contextWindowFor("no-such-model-xyz", config)).toEqual({ tokens: 123_456, source: "default" });
    expect(catalogWindow("no-such-model-xyz")).toBeNull();
    expect(contextWindowFor("deepseek-chat", config, null, false)).toEqual({ tokens: 123_456, source: "default" });
  });

  it("Claude's window is Claude Code's, not the API's largest: 200k unless [1m] or a session seen past it", () => {
    const config = cfg();
    expect(claudeWindow("claude-opus-5-5", 150_000, config)).toBe(config.models.defaultContextWindow);
    expect(claudeWindow("claude-opus-5-5[1m]", 150_000, config)).toBe(1_000_000);
    expect(claudeWindow("claude-opus-5-5", 250_000, config)).toBe(1_000_000);
  });
});
