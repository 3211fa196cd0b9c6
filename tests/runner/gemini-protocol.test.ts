import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { geminiAcpDriver } from "../../src/agents/gemini/acp.ts";
import { type ReplayWorld, replayWorld, stopRunners, until } from "../helpers/runner-world.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Gemini workers through `gemini --acp` in the runner: the real Runner with a temp SQLite store runs
 * tests/fakes/agent-cli.mjs, which replays the recorded exchanges of the real CLI (tests/fixtures/streams/gemini/
 * acp-*.exchange.jsonl) and exits 97 when what asm writes differs from the recording by method or by the
 * option it picks.
 */

const streams = fileURLToPath(new URL("../fixtures/streams/gemini/", import.meta.url));
const recorded = (scenario: string) => join(streams, `${scenario}.exchange.jsonl`);

type World = ReplayWorld;

afterEach(stopRunners);

function world(scenario: string, runner: Record<string, unknown> = {}): World {
  return replayWorld({ dir: tempDir("asm-gemini-acp-"), agent: "gemini", driver: geminiAcpDriver, recording: recorded(scenario), runner });
}

const sentLines = (w: World) =>
  (existsSync(w.stdinLog) ? readFileSync(w.stdinLog, "utf8") : "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method?: string; id?: number; params?: Record<string, unknown>; result?: { outcome?: Record<string, string> } });
const recordedSessionId = (scenario: string) =>
  readFileSync(recorded(scenario), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { dir: string; line: string })
    .filter((e) => e.dir === "stdout")
    .map((e) => JSON.parse(e.line))
    .find((m) => m.result?.sessionId)?.result.sessionId as string;

describe("runner with Gemini CLI's recorded ACP exchanges", () => {
  it("a shell permission reaches the chat as a command; allowing it answers allow_once and the worker completes", async () => {
    const w = world("acp-tool-allow");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect(r.kind).toBe("permission");
    expect(r.payload.tool).toBe("Shell");
    expect(r.payload.detail).toBe("echo tool-ran > tool-ran.txt && cat README.md");
    expect(w.store.get(row.id)!.status).toBe("waiting-for-input");
    expect(w.runner.answer(r, true)).toBe(true);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(done.sessionId).toBe(recordedSessionId("acp-tool-allow"));
    expect(done.exitCode).toBe(0);
    const sent = sentLines(w);
    expect(sent.map((m) => m.method ?? `answer:${m.result?.outcome?.optionId}`)).toEqual([
      "initialize",
      "session/new",
      "session/prompt",
      "answer:proceed_once",
    ]);
    expect(sent[2]!.params!.prompt).toEqual([{ type: "text", text: "USE_SHELL: write a file, then show the README" }]);
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toEqual(["--acp", "--skip-trust"]);
  });

  it("a denied permission is answered reject_once (the fake refuses any other option) and the turn goes on", async () => {
    const w = world("acp-tool-deny");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.answer(w.asks[0]!, false, "not now");
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(sentLines(w).at(-1)?.result?.outcome).toEqual({ outcome: "selected", optionId: "cancel" });
  });

  it("a permission nobody answers expires: the runner answers deny, the request is recorded expired", async () => {
    const w = world("acp-tool-deny", { permissionTimeoutMinutes: 0.005 });
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("completed");
    expect(w.requests.get(w.asks[0]!.id)!.status).toBe("expired");
    expect(sentLines(w).at(-1)?.result?.outcome?.optionId).toBe("cancel");
  });

  it("an interrupt mid-turn is session/cancel; the prompt ends cancelled and the worker is interrupted", async () => {
    const w = world("acp-interrupt");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "HANG write a long answer slowly" });
    await until(() => sentLines(w).some((m) => m.method === "session/prompt") && w.store.get(row.id)!.status === "running");
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(sentLines(w).filter((m) => m.method === "session/cancel")).toHaveLength(1);
  });

  it("an interrupt while a permission waits: the request is answered cancelled and closed, the worker is interrupted", async () => {
    const w = world("acp-interrupt-permission");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.interrupt(row.id);
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("interrupted");
    expect(w.requests.pending(row.id)).toEqual([]);
    expect(sentLines(w).map((m) => m.method ?? m.result?.outcome?.outcome)).toEqual([
      "initialize",
      "session/new",
      "session/prompt",
      "session/cancel",
      "cancelled",
    ]);
  });

  it("a 429 ends the worker failed as rate_limit", async () => {
    const w = world("acp-fail429");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "FAIL429 this request is rate limited" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("rate_limit");
    expect(done.errorMessage).toMatch(/exhausted/);
  });

  it("no API key: session/new is refused and the worker fails as auth", async () => {
    const w = world("acp-no-key");
    const row = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "Hello, summarize this project" });
    const done = await w.runner.waitFor(row.id);
    expect(done.status).toBe("failed");
    expect(done.errorClass).toBe("auth");
    expect(done.errorMessage).toMatch(/API key is missing/);
  });

  it("resume loads the first worker's session over the protocol (session/load), not argv", async () => {
    const w = world("acp-tool-allow");
    const a = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
    await until(() => w.asks.length === 1);
    w.runner.answer(w.asks[0]!, true);
    const first = await w.runner.waitFor(a.id);
    copyFileSync(recorded("acp-resume"), w.exchange);
    const b = w.runner.spawn({ agent: "gemini", workspace: "app", prompt: "Hello again, do you remember what I asked first?", resumeOf: a.id });
    const done = await w.runner.waitFor(b.id);
    expect(done.status).toBe("completed");
    expect(done.sessionId).toBe(first.sessionId);
    const load = sentLines(w).find((m) => m.method === "session/load");
    expect(load?.params).toMatchObject({ sessionId: first.sessionId, mcpServers: [] });
    expect(JSON.parse(readFileSync(w.argvLog, "utf8")).argv).toEqual(["--acp", "--skip-trust"]);
  });
});
