import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { WorkerEvent } from "../../../src/agents/driver.ts";
import { openclawErrorReason, parseOpenclawLine, parseOpenclawOutput, statusInOpenclawError } from "../../../src/agents/openclaw/stream.ts";
import { eventsOf as of } from "../../helpers/events.ts";

const REAL = join(import.meta.dirname, "../../fixtures/real/openclaw/_stdout");
const STREAMS = join(import.meta.dirname, "../../fixtures/streams/openclaw");
/** What the runner does: every line through parseLine (nothing), then the whole stdout through parseOutput. */
const run = (path: string): WorkerEvent[] => {
  const lines = readFileSync(path, "utf8").split("\n");
  return [...lines.flatMap(parseOpenclawLine), ...parseOpenclawOutput(lines.join("\n"))];
};

describe("openclaw agent --json 2026.9.6, the real recorded runs", () => {
  it("turn 1: the pretty-printed document gives init, text, usage with context and window, turn_end", () => {
    const evs = run(join(REAL, "openclaw-agent-s1.json"));
    const text = 'Fake reply #18: you said "[Mon 2026-11-23 19:54 UTC] Hello, summarize this project Run". Nothing else to do here.';
    expect(evs).toEqual([
      { type: "init", sessionId: "5fbd7986-1dc1-4da9-b50b-b3302e336325", model: "fakeai/fake-coder-1", version: null, agentId: "main" },
      { type: "text", text },
      { type: "usage", input: 4683, output: 41, cacheRead: 28480, cacheWrite: 0, contextTokens: 33163, contextWindow: 180000 },
      { type: "turn_end", result: text, isError: false, costUsd: 0, durationMs: 7873, numTurns: 1, denied: [], interrupted: false },
    ]);
  });

  it("the turn after compaction: same session, its own usage", () => {
    const evs = run(join(REAL, "openclaw-agent-s1-after.json"));
    expect(of(evs, "init")[0]?.sessionId).toBe("5fbd7986-1dc1-4da9-b50b-b3302e336325");
    expect(of(evs, "usage")).toEqual([
      { type: "usage", input: 4692, output: 38, cacheRead: 28800, cacheWrite: 0, contextTokens: 33492, contextWindow: 180000 },
    ]);
    expect(of(evs, "turn_end")[0]).toMatchObject({ durationMs: 4637, isError: false });
  });

  it("the HTTP 500 run: the failure envelope gives a server_error with its status and an error turn_end", () => {
    const message = "⚠️ fakeai/fake-coder-1 request failed (provider internal error, HTTP 500). This is usually temporary — try again shortly.";
    expect(run(join(REAL, "openclaw-agent-s2-error.json"))).toEqual([
      { type: "error", reason: "server_error", message, status: 500, willRetry: false },
      { type: "turn_end", result: message, isError: true, costUsd: null, durationMs: null, numTurns: null, denied: [] },
    ]);
  });
});

/** A recorded scenario that is there and complete (the recorder may be rewriting the folder). */
const has = (s: string) =>
  existsSync(join(STREAMS, `${s}.json`)) && statSync(join(STREAMS, `${s}.json`)).size > 0 && existsSync(join(STREAMS, `${s}.meta.json`));

describe("openclaw, the recorded runner scenarios (tests/fixtures/streams/openclaw, --message-file + --session-id)", () => {
  it.skipIf(!has("success") || !has("resume"))("success and resume: the pre-assigned session id comes back, usage and window", () => {
    for (const s of ["success", "resume"]) {
      const evs = run(join(STREAMS, `${s}.json`));
      const meta = JSON.parse(readFileSync(join(STREAMS, `${s}.meta.json`), "utf8")) as { argv: string[] };
      expect(of(evs, "init")[0]?.sessionId).toBe(meta.argv[meta.argv.indexOf("--session-id") + 1]);
      expect(of(evs, "text")).toHaveLength(1);
      expect(of(evs, "usage")[0]).toMatchObject({ contextWindow: 180000 });
      expect(evs.at(-1)).toMatchObject({ type: "turn_end", isError: false });
    }
  });

  it.skipIf(!has("fail429"))("fail429: rate_limit", () => {
    expect(of(run(join(STREAMS, "fail429.json")), "error")).toEqual([expect.objectContaining({ reason: "rate_limit", willRetry: false })]);
  });

  it.skipIf(!has("auth401"))("auth401: auth with status 401", () => {
    expect(of(run(join(STREAMS, "auth401.json")), "error")).toEqual([expect.objectContaining({ reason: "auth", status: 401 })]);
  });
});

describe("openclaw, other shapes", () => {
  const base = JSON.parse(readFileSync(join(REAL, "openclaw-agent-s1.json"), "utf8")) as {
    meta: Record<string, unknown> & { agentMeta: Record<string, unknown> };
  };

  it("OpenClaw's own failover (executionTrace.fallbackUsed) is a model_switch", () => {
    const doc = structuredClone(base);
    doc.meta.executionTrace = {
      winnerProvider: "openai",
      winnerModel: "gpt-5.5",
      fallbackUsed: true,
      attempts: [
        { provider: "anthropic", model: "claude-opus-4-6", result: "fallback_model", reason: "rate_limit", status: 429 },
        { provider: "openai", model: "gpt-5.5", result: "success" },
      ],
    };
    expect(of(parseOpenclawOutput(JSON.stringify(doc)), "model_switch")).toEqual([
      { type: "model_switch", from: "anthropic/claude-opus-4-6", to: "openai/gpt-5.5", reason: "rate_limit" },
    ]);
  });

  it("a reroute in the terminal receipt and SessionEntry-style fallbackNotice fields are model_switch too", () => {
    const doc = structuredClone(base);
    doc.meta.agentMeta.terminalReceipt = {
      rerouted: true,
      requested: { provider: "a", model: "m1" },
      effective: { provider: "b", model: "m2" },
      successfulToolNames: ["read"],
    };
    const evs = parseOpenclawOutput(JSON.stringify(doc));
    expect(of(evs, "model_switch")).toEqual([{ type: "model_switch", from: "a/m1", to: "b/m2", reason: "rerouted" }]);
    expect(of(evs, "tool")).toEqual([{ type: "tool", name: "read", detail: null }]);
    const notice = structuredClone(base);
    Object.assign(notice.meta.agentMeta, { fallbackNoticeSelectedModel: "x/big", fallbackNoticeActiveModel: "y/small", fallbackNoticeReason: "quota" });
    expect(of(parseOpenclawOutput(JSON.stringify(notice)), "model_switch")).toEqual([{ type: "model_switch", from: "x/big", to: "y/small", reason: "quota" }]);
  });

  it("an aborted run is an interrupted turn_end; a stopReason error is an error turn", () => {
    const aborted = structuredClone(base);
    aborted.meta.aborted = true;
    expect(parseOpenclawOutput(JSON.stringify(aborted)).at(-1)).toMatchObject({ type: "turn_end", interrupted: true, isError: false });
    const failed = structuredClone(base);
    failed.meta.stopReason = "error";
    failed.meta.errorMessage = "429 Too Many Requests";
    const evs = parseOpenclawOutput(JSON.stringify(failed));
    expect(of(evs, "error")).toEqual([expect.objectContaining({ reason: "rate_limit" })]);
    expect(evs.at(-1)).toMatchObject({ isError: true });
  });

  it("compact output, a banner before the document, and error texts", () => {
    expect(parseOpenclawOutput(JSON.stringify(base))[0]).toMatchObject({ type: "init" });
    expect(parseOpenclawOutput(`some notice\n${JSON.stringify(base, null, 2)}\n`)[0]).toMatchObject({ type: "init" });
    expect(statusInOpenclawError("Authentication failed (provider returned HTTP 401).")).toBe(401);
    expect(openclawErrorReason("⚠️ Rate limit reached; Retry-After: 1 seconds")).toBe("rate_limit");
    expect(openclawErrorReason("context window exceeded")).toBe("context_overflow");
  });

  it("never throws: garbage, empty, a 5 MB document; lines alone report nothing", () => {
    expect(parseOpenclawOutput("")).toEqual([]);
    expect(parseOpenclawOutput("\n  \n")).toEqual([]);
    expect(parseOpenclawOutput("not json at all")).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseOpenclawOutput('{"payloads": [')).toEqual([{ type: "other", kind: "unparsed" }]);
    expect(parseOpenclawOutput("[1,2,3]")).toEqual([{ type: "other", kind: "unparsed" }]);
    const big = structuredClone(base) as unknown as { payloads: { text: string }[] };
    big.payloads = [{ text: "w".repeat(5 * 1024 * 1024) }];
    expect(of(parseOpenclawOutput(JSON.stringify(big, null, 2)), "text")[0]?.text).toHaveLength(5 * 1024 * 1024);
    for (const l of ["{", "", "garbage", "x".repeat(5 * 1024 * 1024)]) expect(parseOpenclawLine(l)).toEqual([]);
  });
});

/**
 * Real bytes of `openclaw agent --json --session-id=abc-1 --message-file <f>` through a running Gateway
 * (2026.9.6, no `--local`: the driver's path), recorded by hand against the fake model server while writing
 * tests/real-agents (tests/fixtures/openclaw-gateway/). The run's `{payloads, meta}` come wrapped in `{runId, status, summary, result}`; the
 * parser used to read the top level only and reported no session, no text and no usage.
 */
describe("openclaw agent --json through the Gateway, real runs", () => {
  const HERE = join(import.meta.dirname, "../../fixtures/openclaw-gateway");
  it("success: the run inside `result` gives init, text, usage and turn_end", () => {
    const evs = run(join(HERE, "gateway-success.json"));
    const text = 'Fake reply #1: you said "[Sat 2026-12-05 01:33 UTC] Hello, summarize Runtime: agent=m". Nothing else to do here.';
    expect(evs).toEqual([
      { type: "init", sessionId: "abc-1", model: "fakeai/fake-coder-1", version: null, agentId: "main" },
      { type: "text", text },
      { type: "usage", input: 4607, output: 40, cacheRead: 28224, cacheWrite: 0, contextTokens: 32831, contextWindow: 180000 },
      { type: "turn_end", result: text, isError: false, costUsd: 0, durationMs: 9702, numTurns: 1, denied: [], interrupted: false },
    ]);
  });

  it("a 401: the Gateway's failure envelope (with runId and origin) is an auth error", () => {
    const evs = run(join(HERE, "gateway-auth401.json"));
    expect(of(evs, "error")).toEqual([expect.objectContaining({ reason: "auth", status: 401, willRetry: false })]);
    expect(of(evs, "turn_end")[0]).toMatchObject({ isError: true });
    expect(of(evs, "init")).toEqual([]);
  });
});

describe("the OpenClaw session's agent id", () => {
  it("comes from the session key, so the worker's session uid is the one the scan gives it (openclaw:main:<id>)", async () => {
    const { readFileSync } = await import("node:fs");
    const { openclawDriver } = await import("../../../src/agents/openclaw/driver.ts");
    const { sessionUid } = await import("../../../src/agents/session.ts");
    const doc = readFileSync(new URL("../../fixtures/openclaw-gateway/gateway-success.json", import.meta.url), "utf8");
    const init = openclawDriver.parseOutput!(doc).find((e) => e.type === "init");
    expect(init).toMatchObject({ type: "init", sessionId: "abc-1", agentId: "main" });
    expect(init?.type === "init" && sessionUid("openclaw", init.agentId ?? null, init.sessionId)).toBe("openclaw:main:abc-1");
  });
});
