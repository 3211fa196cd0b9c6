import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeUser, StoredMessage } from "../fakes/telegram-api.ts";
import { until } from "../helpers/e2e.ts";
import { alertsTopic, startTelegramWorkers } from "../helpers/telegram-workers.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * Agents that ask, end to end: `asm` with Telegram against the fake Bot API, each agent's protocol driver (the
 * default) talking to a fake that replays the real CLI's recorded protocol exchange — Codex app-server and Gemini
 * ACP over stdio (the fake exits 97 when asm answers differently from the recording), OpenCode serve over HTTP+SSE.
 */
const admin: FakeUser = { id: 7001, first_name: "Ada", username: "ada" };
const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/streams/${p}`, import.meta.url));
const agentCli = fileURLToPath(new URL("../fakes/agent-cli.mjs", import.meta.url));
const serveFake = fileURLToPath(new URL("../fakes/opencode-serve.mjs", import.meta.url));

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function start(drivers: Record<string, unknown>, runner: Record<string, unknown> = {}) {
  const world = await startTelegramWorkers(closers, { prefix: "asm-tg-ask-", admin, runner: { drivers, ...runner } });
  const { fake, group, topicOf, inThread } = world;
  /** Spawns through the chat and waits for the worker's own topic. */
  const spawn = async (line: string) => {
    fake.userMessage(admin, line, { chat: group, threadId: alertsTopic });
    await until(() => topicOf("w1") !== undefined, "the worker's topic");
    return topicOf("w1")!;
  };
  const asks = (topic: number) => inThread(topic).filter((m) => /w1 asks permission/.test(m.text));
  return { ...world, spawn, asks };
}

const buttonData = (m: StoredMessage, label: string) => m.reply_markup!.inline_keyboard.flat().find((b) => b.text === label)!.callback_data!;
const jsonLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    // biome-ignore lint/suspicious/noExplicitAny: protocol lines as the fake CLI received them
    .map((l) => JSON.parse(l) as Record<string, any>);

describe("agents that ask, through the chat", () => {
  it("Codex (app-server): the command approval arrives in the worker's topic, the admin's Allow is sent as accept", async () => {
    const stdinLog = join(tempDir("asm-tg-ask-log-"), "stdin.jsonl");
    const env = { FAKE_EXCHANGE: fixture("codex/app-server-tool-allow.exchange.jsonl"), FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog };
    const t = await start({ codex: { command: [process.execPath, agentCli], env } });
    const topic = await t.spawn("/spawn codex app USE_SHELL: write a file, then show the README");
    await until(() => t.asks(topic).length === 1, "the approval in the topic", 15_000);
    const ask = t.asks(topic)[0]!;
    expect(ask.text).toContain("echo tool-ran > tool-ran.txt && cat README.md");
    t.fake.pressButton(admin, ask, buttonData(ask, "Allow"));
    await until(() => t.workers.store.get("w1")!.status === "completed", "w1 completed", 20_000);
    expect(
      jsonLines(stdinLog)
        .filter((l) => "result" in l && l.result?.decision !== undefined)
        .map((l) => l.result.decision),
    ).toEqual(["accept"]);
    await until(() => /Allowed by telegram:7001/.test(ask.text), "the prompt edited with the decision");
  }, 40_000);

  it("OpenCode (serve): the bash permission arrives as a command, Deny is sent as reject and the tool is denied", async () => {
    const dir = tempDir("asm-tg-ask-oc-");
    const serve = join(dir, "exchange.serve.jsonl");
    copyFileSync(fixture("opencode/tool-deny.serve.jsonl"), serve);
    const requestLog = join(dir, "requests.jsonl");
    const t = await start({ opencode: { command: [process.execPath, serveFake], env: { FAKE_SERVE: serve, FAKE_REQUEST_LOG: requestLog, FAKE_FAST: "1" } } });
    const topic = await t.spawn("/spawn opencode app USE_SHELL: write a file, then show the README");
    await until(() => t.asks(topic).length === 1, "the permission in the topic", 15_000);
    const ask = t.asks(topic)[0]!;
    t.fake.pressButton(admin, ask, buttonData(ask, "Deny"));
    await until(() => t.workers.store.get("w1")!.status === "completed" || t.workers.store.get("w1")!.status === "failed", "w1 ended", 20_000);
    const replies = jsonLines(requestLog).filter((r) => /\/permission\/[^/]+\/reply$/.test(String(r.path ?? r.url ?? "")));
    expect(replies.map((r) => r.body?.reply ?? r.body)).toEqual(["reject"]);
    await until(() => /Denied by telegram:7001/.test(ask.text), "the prompt edited with the decision");
  }, 40_000);

  it("Gemini (ACP): a permission nobody answers expires — denied to the agent, the prompt edited, the expiry said in the topic", async () => {
    const stdinLog = join(tempDir("asm-tg-ask-log-"), "stdin.jsonl");
    const env = { FAKE_EXCHANGE: fixture("gemini/acp-tool-deny.exchange.jsonl"), FAKE_FAST: "1", FAKE_STDIN_LOG: stdinLog };
    const t = await start({ gemini: { command: [process.execPath, agentCli], env } }, { permissionTimeoutMinutes: 0.02 });
    const topic = await t.spawn("/spawn gemini app USE_SHELL: write a file, then show the README");
    await until(() => t.asks(topic).length === 1, "the permission in the topic", 15_000);
    const ask = t.asks(topic)[0]!;
    await until(() => t.workers.store.get("w1")!.status === "completed", "w1 completed after the expiry", 20_000);
    await until(() => /No answer in .* min: denied by asm/.test(ask.text) && !ask.reply_markup, "the prompt edited");
    await until(() => t.inThread(topic).some((m) => /w1: no answer in .* min: denied by asm/.test(m.text)), "the expiry said in the topic");
    const answer = jsonLines(stdinLog).find((l) => l.result?.outcome !== undefined);
    expect(answer?.result.outcome.optionId).not.toMatch(/^allow/);
  }, 40_000);

  it("an auto-response rule answers Codex's read until the worker's cap, then the admin is asked", async () => {
    const stdinLog = join(tempDir("asm-tg-ask-log-"), "stdin.jsonl");
    // Recorded timing kept (no FAKE_FAST): the second message arrives while the first turn still runs, so it is
    // the next turn of the same app-server process, as recorded.
    const env = { FAKE_EXCHANGE: fixture("codex/app-server-tool-auto.exchange.jsonl"), FAKE_STDIN_LOG: stdinLog };
    const t = await start({
      codex: { command: [process.execPath, agentCli], env, autoRespond: { rules: [{ allow: "command", commands: ["cat"] }], maxAutoResponds: 1 } },
    });
    const topic = await t.spawn("/spawn codex app USE_TOOL: read the README and tell me what it says");
    t.fake.userMessage(admin, "USE_TOOL: read the README once more", { chat: t.group, threadId: topic });
    // The first `cat README.md` is answered by the rule; the second finds the cap of 1 used up and asks the admin.
    await until(() => t.asks(topic).length === 1, "the second request asks the admin", 30_000);
    expect(t.workers.store.get("w1")!.respondCount).toBe(1);
    const ask = t.asks(topic)[0]!;
    expect(ask.text).toContain("cat README.md");
    t.fake.pressButton(admin, ask, buttonData(ask, "Allow"));
    await until(() => t.workers.store.get("w1")!.status === "completed", "w1 completed", 30_000);
    expect(t.workers.store.get("w1")!.turns).toBe(2);
    expect(
      jsonLines(stdinLog)
        .filter((l) => l.result?.decision !== undefined)
        .map((l) => l.result.decision),
    ).toEqual(["accept", "accept"]);
    // /worker shows how many auto-responses it used.
    t.fake.userMessage(admin, "/worker w1", { chat: t.group, threadId: topic });
    await until(() => t.inThread(topic).some((m) => /Auto-responses/.test(m.text) && /1 of 1 used/.test(m.text)), "/worker with the count");
  }, 60_000);
});
