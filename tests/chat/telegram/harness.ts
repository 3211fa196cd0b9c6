import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach } from "vitest";
import { TelegramTransport, type TelegramTransportOptions } from "../../../src/chat/telegram/transport.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { createLogger } from "../../../src/lib/log.ts";
import type { ButtonOutcome, Caller, Inbound, MessageRef } from "../../../src/messages/transport.ts";
import { textView } from "../../../src/messages/view.ts";
import { openStore } from "../../../src/store/db.ts";
import { KvStore } from "../../../src/store/kv.ts";
import { FakeTelegramApi, type FakeUser } from "../../fakes/telegram-api.ts";
import { tempDir } from "../../helpers/tmp.ts";

/** Shared by the Telegram transport tests: users, the feed group, a scripted core and `setup()`. */

export const admin: FakeUser = { id: 501, first_name: "Ada", username: "ada" };
export const member: FakeUser = { id: 502, first_name: "Mo" };
export const stranger: FakeUser = { id: 666, first_name: "Eve" };
export const feedChatId = -1001234;

/** Run after each test, last registered first. */
export const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A scripted core: records what reached it and answers like the real one would. */
export function scriptedInbound() {
  const commands: { caller: Caller; name: string; args: string[] }[] = [];
  const buttons: { caller: Caller; data: string; message: MessageRef | null }[] = [];
  const delivered: { key: string; ref: MessageRef }[] = [];
  const inbound: Inbound = {
    async command(caller, name, args) {
      commands.push({ caller, name, args });
      if (name === "approve_me") {
        return {
          title: "Restart the gateway?",
          tone: "warning",
          sections: [{ lines: ["asked by <you>"] }],
          buttons: [
            [
              { label: "Approve", data: "a:1:0123456789abcdef:y" },
              { label: "Deny", data: "a:1:0123456789abcdef:n" },
            ],
          ],
          key: "action:1",
        };
      }
      return textView(`you ran /${name} ${args.join(" ")} & <got> this`);
    },
    async button(caller, data, message): Promise<ButtonOutcome> {
      buttons.push({ caller, data, message });
      if (!caller.admin) return { toast: "Only admins can approve." };
      return { toast: "Approved", edit: { title: "Restarted", tone: "ok", sections: [{ lines: [`approved by ${caller.name}`] }] } };
    },
    delivered(key, ref) {
      delivered.push({ key, ref });
    },
  };
  return { inbound, commands, buttons, delivered };
}

/**
 * A transport against a fresh fake Bot API with a forum feed group (`forum: false` = a plain
 * supergroup), a real SQLite store and a logger whose text the test can read.
 */
export async function setup(
  opts: {
    telegram?: Record<string, unknown>;
    forum?: boolean;
    transport?: Partial<TelegramTransportOptions>;
    /** Methods the fake serves (default: all it implements). */
    methods?: readonly string[];
    /** sendMessage answers a Message without `chat`. */
    leanMessages?: boolean;
  } = {},
) {
  const fake = await FakeTelegramApi.start({
    maxPollMs: 2000,
    ...(opts.methods ? { methods: opts.methods } : {}),
    ...(opts.leanMessages ? { leanMessages: true } : {}),
  });
  cleanups.push(() => fake.close());
  fake.addChat({ id: feedChatId, type: "supergroup", title: "Ops", is_forum: opts.forum ?? true });
  const dir = tempDir();
  const db = openStore(join(dir, "asm.db"));
  cleanups.push(() => {
    db.close();
  });
  const kv = new KvStore(db);
  let logText = "";
  const logStream = new PassThrough();
  logStream.on("data", (d) => (logText += d));
  const log = createLogger({ stream: logStream, pretty: "never", secrets: [fake.token], level: "debug" });
  const config = configSchema.parse({
    telegram: {
      feedChatId: String(feedChatId),
      apiRoot: `${fake.apiRoot}/`,
      allowedUserIds: [String(member.id)],
      adminIds: [String(admin.id)],
      ...opts.telegram,
    },
  });
  const make = (more: Partial<TelegramTransportOptions> = {}) =>
    new TelegramTransport({
      token: fake.token,
      config: config.telegram,
      kv,
      log,
      pollTimeoutSeconds: 1,
      reconnectMs: 200,
      requestTimeoutSeconds: 1,
      commands: [
        { name: "sessions", description: "List sessions" },
        { name: "approve_me", description: "Ask for approval", admin: true },
      ],
      ...opts.transport,
      ...more,
    });
  const transport = make();
  cleanups.push(() => transport.stop());
  const core = scriptedInbound();
  return { fake, db, kv, transport, core, make, log: () => logText };
}
