import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configuredModel, configuredWindow, OpenClawConfigError, readOpenClawConfig } from "../../../src/agents/openclaw/config.ts";
import { parseJson5ish, toStrictJson } from "../../../src/lib/json5.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "asm-occfg-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("parseJson5ish", () => {
  it("strips comments and trailing commas but keeps them inside strings", () => {
    const text = `{
      // a line comment
      "url": "http://x/y // not a comment", /* block */
      "list": [1, 2, 3,],
      "nested": { "a": "b,}", },
    }`;
    expect(parseJson5ish(text)).toEqual({ url: "http://x/y // not a comment", list: [1, 2, 3], nested: { a: "b,}" } });
  });

  it("quotes bare keys and converts single-quoted strings", () => {
    expect(parseJson5ish(`{model: 'anthropic/claude "opus"', ok: true, n: null, 'it\\'s': 1}`)).toEqual({
      model: 'anthropic/claude "opus"',
      ok: true,
      n: null,
      "it's": 1,
    });
  });

  it("keeps escapes and unicode intact", () => {
    expect(parseJson5ish(`{"a": "\\"q\\" \\u00e9 ü 日本"}`)).toEqual({ a: '"q" é ü 日本' });
  });

  it("rejects broken input with an error", () => {
    expect(() => parseJson5ish(`{"a": 1`)).toThrow();
    expect(() => parseJson5ish(`{"a": "open`)).toThrow(/unterminated string/);
    expect(() => toStrictJson(`{ /* never closed `)).toThrow(/unterminated/);
  });
});

describe("readOpenClawConfig", () => {
  it("reads models, fallbacks, per-agent overrides, context cap and bindings", () => {
    const path = join(tmp(), "openclaw.json");
    writeFileSync(
      path,
      `// written by hand
{
  agents: {
    defaults: {
      model: { primary: "anthropic/claude-opus-4-6", fallbacks: ["openai/gpt-5.5", "google/gemini-2.5-pro",] },
      contextTokens: 150000,
    },
    list: [ { id: "work", model: "openai/gpt-5.5" }, { id: "plain" } ],
    entries: { research: { model: { primary: "google/gemini-2.5-pro", fallbacks: ["openai/gpt-5.5"] } } },
  },
  models: { providers: { fake: { baseUrl: "http://127.0.0.1:1", models: [ { id: "fake-1", contextWindow: 64000 }, { id: "fake-2", contextWindow: 400000 } ] } } },
  bindings: [
    { agentId: "work", match: { channel: "telegram", accountId: "bot1", peer: { kind: "group", id: -100123 } } },
    { agentId: "main", match: { channel: "discord" } },
    { match: { channel: "nobody" } },
  ],
}`,
    );
    const cfg = readOpenClawConfig(path);
    expect(cfg.path).toBe(path);
    expect(cfg.agents.sort()).toEqual(["main", "plain", "research", "work"]);
    expect(cfg.primaryModel).toBe("anthropic/claude-opus-4-6");
    expect(cfg.fallbacks).toEqual(["openai/gpt-5.5", "google/gemini-2.5-pro"]);
    expect(cfg.perAgentModel).toEqual({
      work: { primary: "openai/gpt-5.5", fallbacks: [] },
      research: { primary: "google/gemini-2.5-pro", fallbacks: ["openai/gpt-5.5"] },
    });
    expect(cfg.contextTokens).toBe(150000);
    expect(cfg.bindings).toEqual([
      { agentId: "work", channel: "telegram", accountId: "bot1", peer: { kind: "group", id: "-100123" } },
      { agentId: "main", channel: "discord", accountId: null, peer: null },
    ]);
    expect(configuredModel(cfg, "work")).toBe("openai/gpt-5.5");
    expect(configuredModel(cfg, "plain")).toBe("anthropic/claude-opus-4-6");
    // The cap applies over the declared window, and alone when the model is unknown.
    expect(configuredWindow(cfg, "fake-1", "fake")).toBe(64000);
    expect(configuredWindow(cfg, "fake-2", null)).toBe(150000);
    expect(configuredWindow(cfg, "unknown", null)).toBe(150000);
  });

  it("accepts a string default model and a minimal file", () => {
    const path = join(tmp(), "openclaw.json");
    writeFileSync(path, `{"agents":{"defaults":{"model":"anthropic/claude-sonnet-4-6"}}}`);
    const cfg = readOpenClawConfig(path);
    expect(cfg.primaryModel).toBe("anthropic/claude-sonnet-4-6");
    expect(cfg.fallbacks).toEqual([]);
    expect(cfg.contextTokens).toBeNull();
    expect(cfg.agents).toEqual(["main"]);
    expect(configuredWindow(cfg, "claude-sonnet-4-6", "anthropic")).toBeNull();
  });

  it("names the path and reason when the file is missing, not JSON or not an object", () => {
    const dir = tmp();
    const missing = join(dir, "nope.json");
    expect(() => readOpenClawConfig(missing)).toThrow(OpenClawConfigError);
    expect(() => readOpenClawConfig(missing)).toThrow(/nope\.json: cannot read: ENOENT/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, `{"agents": {`);
    expect(() => readOpenClawConfig(bad)).toThrow(/not valid JSON5/);
    const arr = join(dir, "arr.json");
    writeFileSync(arr, `[1,2]`);
    expect(() => readOpenClawConfig(arr)).toThrow(/expected an object/);
  });
});
