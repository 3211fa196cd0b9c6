import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { legacyProblemKeys, problemKey, TransportHealth } from "../../src/chat/transport-health.ts";
import { createLogger } from "../../src/lib/log.ts";
import type { TransportProblem } from "../../src/messages/transport.ts";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import { tempDir } from "../helpers/tmp.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  vi.useRealTimers();
});

function world() {
  const db = openStore(join(tempDir(), "asm.db"));
  closers.push(() => db.close());
  const kv = new KvStore(db);
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  const log = createLogger({ stream: stream as unknown as NodeJS.WritableStream & { isTTY?: boolean }, pretty: "never", level: "debug" });
  const make = (transport: "telegram" | "discord" = "telegram") => new TransportHealth({ transport, kv, log });
  return { kv, make, log: () => text };
}

describe("problemKey", () => {
  it("is one style for every transport: <transport>.problem", () => {
    expect(problemKey("telegram")).toBe("telegram.problem");
    expect(problemKey("discord")).toBe("discord.problem");
  });
});

describe("TransportHealth", () => {
  it("starts healthy and records nothing until something happens", () => {
    const { kv, make } = world();
    const health = make();
    expect(health.problem).toBeNull();
    expect(health.connection).toBeNull();
    expect(kv.get(problemKey("telegram"))).toBeUndefined();
  });

  it("a connection problem is kept in kv, told to listeners once per change, and cleared with a 'recovered' line", () => {
    const { kv, make, log } = world();
    const health = make();
    const seen: (TransportProblem | null)[] = [];
    health.onChange((p) => seen.push(p));
    expect(health.fail("unreachable", "cannot reach Telegram: ECONNREFUSED")).toBe(true);
    expect(health.fail("unreachable", "cannot reach Telegram: ECONNREFUSED")).toBe(false);
    expect(health.problem).toMatchObject({ kind: "unreachable", message: "cannot reach Telegram: ECONNREFUSED" });
    expect(kv.get(problemKey("telegram"))).toMatchObject({ kind: "unreachable" });
    expect(seen.map((p) => p?.kind ?? null)).toEqual(["unreachable"]);

    expect(health.recover("conflict")).toBe(false);
    expect(health.problem).not.toBeNull();
    expect(health.recover("unreachable", "conflict")).toBe(true);
    expect(health.problem).toBeNull();
    expect(kv.get(problemKey("telegram"))).toBeNull();
    expect(seen.map((p) => p?.kind ?? null)).toEqual(["unreachable", null]);
    expect(log()).toMatch(/"was":"unreachable".*"msg":"telegram recovered"/);
    expect(health.recover()).toBe(false);
  });

  it("keeps `since` while the kind stays the same, whatever the message; a new kind starts a new one", () => {
    vi.useFakeTimers({ now: 1_000 });
    const { make } = world();
    const health = make();
    health.fail("unreachable", "cannot reach Telegram: ECONNREFUSED");
    vi.setSystemTime(5_000);
    health.fail("unreachable", "cannot reach Telegram: ETIMEDOUT");
    expect(health.problem).toMatchObject({ message: "cannot reach Telegram: ETIMEDOUT", since: 1_000 });
    vi.setSystemTime(9_000);
    health.fail("conflict", "another process is polling");
    expect(health.problem).toMatchObject({ kind: "conflict", since: 9_000 });
  });

  it("a feed problem sits under a connection problem and shows again when the connection recovers; a feed post clears it", () => {
    vi.useFakeTimers({ now: 1_000 });
    const { kv, make, log } = world();
    const health = make("discord");
    const seen: (string | null)[] = [];
    health.onChange((p) => seen.push(p?.kind ?? null));
    expect(health.feedRefused("the feed channel refuses the bot (10003)", { code: 10003 })).toBe(true);
    expect(health.feedRefused("the feed channel refuses the bot (10003)", { code: 10003 })).toBe(false);
    expect(log().match(/refuses the bot/g)).toHaveLength(1);
    expect(log()).toContain('"code":10003');
    vi.setSystemTime(2_000);
    health.feedRefused("the feed channel refuses the bot (50001)");
    expect(health.problem).toMatchObject({ kind: "feed", since: 1_000, message: expect.stringContaining("50001") });

    health.fail("unreachable", "reconnecting to the Discord gateway");
    expect(health.problem).toMatchObject({ kind: "unreachable" });
    expect(health.connection).toMatchObject({ kind: "unreachable" });
    health.recover("unreachable");
    expect(health.problem).toMatchObject({ kind: "feed" });
    expect(kv.get(problemKey("discord"))).toMatchObject({ kind: "feed" });

    expect(health.feedWorks()).toBe(true);
    expect(health.feedWorks()).toBe(false);
    expect(health.problem).toBeNull();
    expect(kv.get(problemKey("discord"))).toBeNull();
    expect(log()).toContain("takes posts again");
    expect(seen).toEqual(["feed", "feed", "unreachable", "feed", null]);
  });

  it("a feed refusal under a connection problem changes nothing a listener sees", () => {
    const { make } = world();
    const health = make();
    health.fail("unauthorized", "Telegram refused the bot token");
    const seen: unknown[] = [];
    health.onChange((p) => seen.push(p));
    health.feedRefused("the Telegram feed chat refuses the bot");
    expect(health.problem).toMatchObject({ kind: "unauthorized" });
    expect(seen).toEqual([]);
  });

  it("unsubscribes a listener", () => {
    const { make } = world();
    const health = make();
    const seen: unknown[] = [];
    const off = health.onChange((p) => seen.push(p));
    off();
    health.fail("unreachable", "x");
    expect(seen).toEqual([]);
  });

  it("a store that cannot be written does not stop the state from changing", () => {
    const { kv, make, log } = world();
    const health = make();
    vi.spyOn(kv, "set").mockImplementation(() => {
      throw new Error("disk full");
    });
    health.fail("unreachable", "x");
    expect(health.problem).toMatchObject({ kind: "unreachable" });
    expect(log()).toMatch(/could not record the telegram problem in the store/);
  });

  it("moves the problem an older release kept under its legacy key, unless the new key already holds one", () => {
    const { kv, make } = world();
    const legacy = legacyProblemKeys.discord!;
    expect(legacy).toBe("transport.discord.problem");
    kv.set(legacy, { kind: "unauthorized", message: "Discord rejected DISCORD_TOKEN (401)", since: 42 });
    make("discord");
    expect(kv.get(problemKey("discord"))).toEqual({ kind: "unauthorized", message: "Discord rejected DISCORD_TOKEN (401)", since: 42 });

    kv.set(problemKey("discord"), null);
    make("discord");
    expect(kv.get(problemKey("discord"))).toBeNull();
  });
});
