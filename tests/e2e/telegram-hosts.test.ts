import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeTelegramApi } from "../fakes/telegram-api.ts";
import { collectStderr, exitOf, spawnAsm, waitForOutput } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const GROUP = -100777;
const user = { id: 4242, first_name: "Ann" };

/**
 * One host: its own bot (token) against its own fake Bot API standing in for the shared group, its own HOME with one
 * OpenClaw session whose transcript path is null (a critical alert at the first cycle), and `host.name`.
 */
async function host(name: string, token: string, sessionId: string) {
  const fake = await FakeTelegramApi.start({ maxPollMs: 500, token, botUsername: `${name}_asm_bot` });
  closers.push(() => fake.close());
  fake.addChat({ id: GROUP, type: "supergroup", title: "Ops", is_forum: true });
  const dir = tempDir(`asm-host-${name}-`);
  const sessions = join(dir, "home", ".openclaw", "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  writeFileSync(
    join(sessions, "sessions.json"),
    JSON.stringify({ [`agent:main:telegram:dm:${name}`]: { sessionId, sessionFile: null, updatedAt: Date.now(), chatType: "direct" } }),
  );
  const child = spawnAsm(["run"], {
    HOME: join(dir, "home"),
    ASM_DB: join(dir, "asm.db"),
    ASM_HOST__NAME: name,
    ASM_CHECKS__LOGS__FILES: "[]",
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_FEED_CHAT_ID: String(GROUP),
    TELEGRAM_ALLOWED_USER_IDS: String(user.id),
  });
  const exited = exitOf(child);
  const stderr = collectStderr(child);
  closers.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  await waitForOutput(child.stdout!, "watching:", 30_000);
  return { fake, child, exited, sessionId, stderr };
}

const inGroup = (c: { method: string; payload: Record<string, unknown> }) => c.method === "sendMessage" && String(c.payload.chat_id) === String(GROUP);

describe("several hosts in one forum group, one bot each", () => {
  it("each host posts its own alert once, tagged with its name, and answers only the commands addressed to its bot", async () => {
    const alpha = await host("alpha", "1111:alpha-token-abcdefghijklmnopqrstuv", "5e0e0e0e-aaaa-4bbb-8ccc-00000000000a");
    const beta = await host("beta", "2222:beta-token-abcdefghijklmnopqrstuvw", "5e0e0e0e-aaaa-4bbb-8ccc-00000000000b");
    for (const h of [alpha, beta]) {
      await h.fake.waitForCall("sendMessage", (c) => inGroup(c) && String(c.payload.text).includes("transcript path is null"), 30_000);
    }
    // The topic each host opened is named after it too.
    const topic = (h: typeof alpha) => h.fake.calls.filter((c) => c.method === "createForumTopic").map((c) => String(c.payload.name));
    expect(topic(alpha).every((n) => n.startsWith("alpha "))).toBe(true);

    // The second host's bot never speaks for the first: each alert once, on its own bot, with its own name.
    // The alert itself (its approval request for a reset quotes the same summary).
    const alerts = (h: typeof alpha) => h.fake.calls.filter((c) => inGroup(c) && /CRITICAL · .*transcript path is null/.test(String(c.payload.text)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(alerts(alpha)).toHaveLength(1);
    expect(alerts(beta)).toHaveLength(1);
    expect(String(alerts(alpha)[0]!.payload.text)).toContain("alpha · ");
    expect(String(alerts(alpha)[0]!.payload.text)).not.toContain("beta");
    expect(String(alerts(beta)[0]!.payload.text)).toContain("beta · ");

    // A command addressed to beta's bot reaches both bots (it is a group), and only beta answers it.
    const sentBefore = alpha.fake.calls.filter(inGroup).length;
    for (const h of [alpha, beta]) h.fake.userMessage(user, "/health@beta_asm_bot", { chat: { id: GROUP, type: "supergroup", title: "Ops", is_forum: true } });
    // The answer replies to the command's message (alerts and approval requests reply to nothing).
    const answer = await beta.fake.waitForCall("sendMessage", (c) => inGroup(c) && c.payload.reply_parameters !== undefined, 20_000);
    expect(answer).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1500));
    expect(alpha.fake.calls.filter(inGroup).length).toBe(sentBefore);

    for (const h of [alpha, beta]) h.child.kill("SIGTERM");
    expect((await alpha.exited).code).toBe(0);
    expect((await beta.exited).code).toBe(0);
    expect(alpha.stderr()).not.toContain(alpha.fake.token);
  }, 120_000);
});
