import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { claudeDriver } from "../../src/agents/claude/driver.ts";
import { type ReplayWorld, replayWorld, stopRunners, until } from "../helpers/runner-world.ts";
import { tempDir } from "../helpers/tmp.ts";

// Claude Code 2.1.330's AskUserQuestion over the control protocol, recorded with the real CLI
// (tests/fixtures/streams/claude/question*.exchange.jsonl; README §1.5) and replayed by tests/fakes/agent-cli.mjs.
// The fake only checks the kind of each stdin line (control_response/allow), so these tests compare our reply with
// the recorded one in full: the recording proves the CLI handed that reply's answer to the model.

const streams = fileURLToPath(new URL("../fixtures/streams/claude/", import.meta.url));
const PROMPT = "USE_QUESTION QUOTE_RESULT: ask me which file to read";

interface Block {
  type: string;
  content?: unknown;
  is_error?: boolean;
}
interface StdoutLine {
  type: string;
  result?: string;
  message?: { content?: Block[] | string };
  [k: string]: unknown;
}
interface Recorded {
  exchange: string;
  /** What the recorder wrote to the CLI's stdin, parsed: the prompt, then the reply. */
  stdin: Record<string, unknown>[];
  /** The CLI's stdout lines, parsed (the fields these tests read). */
  stdout: StdoutLine[];
}
const recorded = (scenario: string): Recorded => {
  const lines = (f: string) => readFileSync(join(streams, f), "utf8").split("\n").filter(Boolean);
  return {
    exchange: join(streams, `${scenario}.exchange.jsonl`),
    stdin: lines(`${scenario}.stdin.jsonl`).map((l) => JSON.parse(l)),
    stdout: lines(`${scenario}.jsonl`).map((l) => JSON.parse(l)),
  };
};

type World = ReplayWorld;

afterEach(stopRunners);

function world(exchange: string, runner: Record<string, unknown> = {}): World {
  return replayWorld({
    dir: tempDir("asm-claude-question-"),
    agent: "claude",
    driver: claudeDriver,
    recording: exchange,
    runner: { interruptGraceSeconds: 0.5, ...runner },
  });
}

const sent = (w: World) =>
  readFileSync(w.stdinLog, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const resultOf = (r: Recorded) => r.stdout.find((d) => d.type === "result")!;
const toolResultOf = (r: Recorded) =>
  r.stdout.flatMap((d) => (d.type === "user" && Array.isArray(d.message?.content) ? d.message.content : [])).find((c) => c.type === "tool_result")!;

describe("Claude Code's AskUserQuestion, replayed from the real CLI", () => {
  it("shows the question with its options; option 2 goes back as the tool input's answers and Claude goes on with it", async () => {
    const rec = recorded("question");
    const w = world(rec.exchange);
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: PROMPT });
    await until(() => w.asks.length === 1);
    const r = w.asks[0]!;
    expect(r.kind).toBe("question");
    expect(r.payload.text).toBe("Which file should I read?\n• README.md: The project's readme\n• Nothing: Read no file");
    expect(r.payload.options).toEqual(["README.md", "Nothing"]);
    const worker = w.store.get(row.id)!;
    expect([worker.status, worker.waitingReason, worker.waitingDetail]).toEqual(["waiting-for-input", "question", "question: Which file should I read?"]);

    // What a press on the second button does (WorkerActions.choose): decide the row, then reply with that option.
    const answer = (r.payload.options as string[])[1]!;
    expect(w.requests.decide(r.id, r.nonce, "answered", "telegram:1", Date.now(), answer)).toBe(true);
    expect(w.runner.reply(r, { kind: "question", answer })).toBe(true);
    const done = await w.runner.waitFor(row.id);

    expect(done.status).toBe("completed");
    expect(done.exitCode).toBe(0);
    // The reply, byte for byte what the real CLI accepted; it names the CLI's own request id.
    const ours = sent(w);
    expect(ours[0]).toEqual(rec.stdin[0]);
    expect(ours[1]).toEqual(rec.stdin[1]);
    expect(ours[1]!.response.response.updatedInput.answers).toEqual({ "Which file should I read?": "Nothing" });
    // ...and what the CLI made of it: the model read the chosen option, and its final text quotes that.
    expect(toolResultOf(rec).content).toBe(
      'Your questions have been answered: "Which file should I read?"="Nothing". You can now continue with these answers in mind.',
    );
    const final = resultOf(rec).result as string;
    expect(final).toContain('"Which file should I read?"="Nothing"');
    expect(done.outputTail).toContain(final);
    expect(done.denied).toEqual([]);
    expect(w.store.events(row.id, { type: "other", limit: 100 }).map((e) => e.payload)).toContainEqual(expect.objectContaining({ kind: "question-answered" }));
  });

  it("a question nobody answers is declined when it expires: the recorded deny, the model goes on, no policy denial", async () => {
    const rec = recorded("question-deny");
    // 0.005 min = 0.3 s: the runner's own expiry sends the decline.
    const w = world(rec.exchange, { permissionTimeoutMinutes: 0.005 });
    const row = w.runner.spawn({ agent: "claude", workspace: "app", prompt: PROMPT });
    await until(() => w.asks.length === 1);
    expect(w.asks[0]!.payload.options).toEqual(["README.md", "Nothing"]);
    const done = await w.runner.waitFor(row.id);

    expect(w.settled).toEqual([`${w.asks[0]!.id}:expired`]);
    expect(done.status).toBe("completed");
    const ours = sent(w);
    expect(ours[1]).toEqual(rec.stdin[1]);
    expect(ours[1]!.response.response.behavior).toBe("deny");
    // Claude hands our message to the model as an error tool_result and lists the call as a permission denial.
    expect(toolResultOf(rec)).toMatchObject({ content: "Nobody answered the question; carry on without it", is_error: true });
    expect(resultOf(rec)).toMatchObject({
      subtype: "success",
      is_error: false,
      permission_denials: [expect.objectContaining({ tool_name: "AskUserQuestion" })],
    });
    expect(done.outputTail).toContain(resultOf(rec).result);
    // ...which asm does not show as "Denied by the CLI's policy": it was a question, and it is recorded as declined.
    expect(done.denied).toEqual([]);
    expect(w.store.events(row.id, { type: "other", limit: 100 }).map((e) => e.payload)).toContainEqual(expect.objectContaining({ kind: "question-declined" }));
  });
});
