import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActionStore, type NewAction } from "../../src/store/actions.ts";
import { openStore } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const now = 1_800_000_000_000;
const base: NewAction = {
  kind: "restart_gateway",
  target: null,
  reason: "gateway down",
  requestedBy: "telegram:42",
  nonce: "n0nce",
  createdAt: now,
  expiresAt: now + 600_000,
};

function store() {
  const db = openStore(join(tempDir(), "asm.db"));
  return { db, actions: new ActionStore(db) };
}

describe("ActionStore", () => {
  it("creates a pending row and approves it exactly once", () => {
    const { actions } = store();
    const a = actions.create(base);
    expect(a).toMatchObject({ status: "pending", kind: "restart_gateway", messageRefs: [], details: {} });
    expect(actions.decide(a.id, "n0nce", "approved", "telegram:1", true, now + 1)).toBe(true);
    expect(actions.decide(a.id, "n0nce", "approved", "telegram:1", true, now + 2)).toBe(false);
    expect(actions.decide(a.id, "n0nce", "denied", "telegram:1", true, now + 2)).toBe(false);
    expect(actions.get(a.id)).toMatchObject({ status: "approved", decidedBy: "telegram:1", decidedAt: now + 1 });
  });

  it("refuses a wrong nonce, a non-admin and an expired request", () => {
    const { actions } = store();
    const a = actions.create(base);
    expect(actions.decide(a.id, "forged", "approved", "telegram:1", true, now)).toBe(false);
    expect(actions.decide(a.id, "n0nce", "approved", "telegram:7", false, now)).toBe(false);
    expect(actions.decide(a.id, "n0nce", "approved", "telegram:1", true, base.expiresAt)).toBe(false);
    expect(actions.get(a.id)!.status).toBe("pending");
    expect(actions.expireDue(base.expiresAt).map((x) => x.id)).toEqual([a.id]);
    expect(actions.expireDue(base.expiresAt)).toEqual([]);
    expect(actions.get(a.id)!.status).toBe("expired");
  });

  it("runs an approved action once and records its result", () => {
    const { actions } = store();
    const a = actions.create({ ...base, preApprovedBy: "auto" });
    expect(a.status).toBe("approved");
    expect(actions.interrupted().map((x) => x.id)).toEqual([a.id]);
    expect(actions.start(a.id, now)).toBe(true);
    expect(actions.start(a.id, now)).toBe(false);
    actions.finish(a.id, { status: "succeeded", exitCode: 0, outputTail: "ok", verifyNote: "healthy" }, now + 5);
    expect(actions.get(a.id)).toMatchObject({ status: "succeeded", exitCode: 0, outputTail: "ok", finishedAt: now + 5 });
    expect(actions.since("restart_gateway", now).length).toBe(1);
    expect(actions.open("restart_gateway", null)).toEqual([]);
  });

  it("keeps approval message refs without duplicates, and lists pending first", () => {
    const { actions } = store();
    const a = actions.create(base);
    const b = actions.create({ ...base, kind: "reset_session", target: "openclaw:main:abc", createdAt: now + 10 });
    actions.decide(b.id, "n0nce", "denied", "console:me", true, now + 11);
    const ref = { transport: "console" as const, chatId: "console", messageId: "3" };
    actions.addMessageRef(a.id, ref);
    actions.addMessageRef(a.id, ref);
    actions.addMessageRef(a.id, { ...ref, messageId: "4" });
    expect(actions.get(a.id)!.messageRefs.map((r) => r.messageId)).toEqual(["3", "4"]);
    expect(actions.recent().map((x) => x.id)).toEqual([a.id, b.id]);
    expect(actions.open("reset_session", "openclaw:main:abc")).toEqual([]);
    expect(actions.open("restart_gateway", null).map((x) => x.id)).toEqual([a.id]);
  });
});
