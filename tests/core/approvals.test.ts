import { afterEach, describe, expect, it } from "vitest";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { approvalData } from "../../src/core/action-views.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { Caller, MessageRef, Transport } from "../../src/messages/transport.ts";
import { type View, viewToText } from "../../src/messages/view.ts";
import { healthServer, rig, runs } from "./setup.ts";

const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
const member: Caller = { transport: "telegram", userId: "7", allowed: true, admin: false };
const stranger: Caller = { transport: "telegram", userId: "666", allowed: false, admin: false };
/** The request's message in the feed (the Recorder's first post): a press counts only on a message the request was posted to. */
const msg: MessageRef = { transport: "telegram", chatId: "-100", messageId: "101" };

/** A transport that only remembers what was posted and edited. */
class Recorder implements Transport {
  readonly name = "telegram" as const;
  sent: View[] = [];
  /** Where each post went (a private chat's id, or the feed's). */
  where: string[] = [];
  edits: { ref: MessageRef; view: View }[] = [];
  async start() {}
  async stop() {}
  async send(view: View, to?: { chatId: string }): Promise<MessageRef> {
    this.sent.push(view);
    this.where.push(to?.chatId ?? "-100");
    return { transport: "telegram", chatId: to?.chatId ?? "-100", messageId: String(100 + this.sent.length) };
  }
  async edit(ref: MessageRef, view: View) {
    this.edits.push({ ref, view });
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function setup(config: Record<string, unknown> = {}) {
  const gw = await healthServer();
  closers.push(gw.close);
  let now = Date.now();
  const r = rig(config, gw.url);
  const manager = new Manager(r.rt, { probeIntervalMs: 50, clock: () => now });
  const feed = new Recorder();
  manager.feed.attach([feed]);
  const inbound = new CoreInbound(manager);
  closers.push(async () => {
    await manager.stop();
    r.rt.close();
  });
  return { ...r, gw, manager, inbound, feed, advance: (ms: number) => (now += ms) };
}

describe("approval workflow", () => {
  it("approve runs the command once, verifies against the health endpoint and edits every approval message", async () => {
    const t = await setup();
    const req = await t.inbound.command(admin, "restart_gateway", ["gateway", "stuck"]);
    expect(req.title).toMatch(/Approval needed: a1 Restart the gateway/);
    expect(req.key).toBe("action:1");
    t.inbound.delivered("action:1", { transport: "telegram", chatId: "42", messageId: "9" });
    const yes = req.buttons![0]![0]!.data;
    expect(Buffer.byteLength(yes)).toBeLessThanOrEqual(64);

    const first = await t.inbound.button(admin, yes, msg);
    expect(first.toast).toMatch(/Approved a1/);
    // The double click arrives while the first run is still going: it must not run again.
    const second = await t.inbound.button(admin, yes, msg);
    expect(second.toast).toMatch(/already decided \((approved|running)/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);

    const row = t.manager.actionStore.get(1)!;
    expect(row).toMatchObject({ status: "succeeded", exitCode: 0, decidedBy: "telegram:1", reason: "gateway stuck" });
    expect(row.verifyNote).toMatch(/gateway healthy/);
    // The other chat's copy lost its buttons at approval ("running"), then both show the outcome.
    // (The request is posted to the feed too, as 101, since approval requests go where the admins are.)
    expect(t.feed.edits.map((e) => `${e.ref.messageId}:${e.view.title!.split(": ")[1]}`)).toEqual(["9:running…", "101:succeeded", "9:succeeded"]);
    expect(t.feed.edits.at(-1)!.view.title).toMatch(/succeeded/);
    expect(t.feed.edits.at(-1)!.view.buttons).toEqual([]);

    // A replay long after: still nothing.
    const replay = await t.inbound.button(admin, yes, msg);
    expect(replay.toast).toMatch(/already decided \(succeeded/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
  });

  it("a forged nonce, a non-admin and an unknown user run nothing", async () => {
    const t = await setup();
    await t.inbound.command(member, "restart_gateway", []);
    const real = t.manager.actionStore.get(1)!;
    const forged = `a:1:${"0".repeat(16)}:y`;
    expect((await t.inbound.button(admin, forged, msg)).toast).toMatch(/not valid/);
    expect((await t.inbound.button(member, approvalData(real, true), msg)).toast).toMatch(/Only an admin/);
    expect((await t.inbound.button(stranger, approvalData(real, true), msg)).toast).toMatch(/not allowed/);
    expect((await t.inbound.button(admin, "a:999:0123456789abcdef:y", msg)).toast).toMatch(/does not exist/);
    expect((await t.inbound.button(admin, "a:1:zz:y", msg)).toast).toMatch(/no longer active/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(0);
    expect(t.manager.actionStore.get(1)!.status).toBe("pending");
    expect(t.log.text).toContain("approval refused");
    expect(t.log.text).toContain("button from a user not in the allow list");
  });

  it("a request reaches each admin who used the bot in a private chat, and a press there runs it once", async () => {
    const t = await setup();
    // The admin used the bot in their private chat once (a Telegram private chat's id is the user's id).
    await t.inbound.command({ ...admin, chatId: admin.userId }, "help", []);
    // A command in a group does not make it a private chat; a member's private chat is never used.
    await t.inbound.command({ ...admin, chatId: "-100" }, "help", []);
    await t.inbound.command({ ...member, chatId: member.userId }, "help", []);
    await t.inbound.command({ ...member, chatId: member.userId }, "restart_gateway", ["stuck"]);
    expect(t.feed.where).toEqual(["-100", admin.userId]);
    const action = t.manager.actionStore.get(1)!;
    expect(action.messageRefs.map((r) => r.chatId)).toEqual(["-100", admin.userId]);
    const dm: MessageRef = { transport: "telegram", chatId: admin.userId, messageId: "102" };
    expect((await t.inbound.button(admin, approvalData(action, true), dm)).toast).toMatch(/Approved/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
    // Both messages show the outcome.
    expect(new Set(t.feed.edits.map((e) => e.ref.chatId))).toEqual(new Set(["-100", admin.userId]));
  });

  it("an expired request runs nothing and its message says so", async () => {
    const t = await setup();
    await t.inbound.command(admin, "restart_gateway", []);
    t.inbound.delivered("action:1", msg);
    const a = t.manager.actionStore.get(1)!;
    t.advance(10 * 60_000 + 1);
    const out = await t.inbound.button(admin, approvalData(a, true), msg);
    expect(out.toast).toMatch(/expired; nothing was run/);
    expect(out.edit?.title).toMatch(/expired/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(0);
    expect(t.manager.actionStore.get(1)!.status).toBe("expired");
    expect(t.feed.edits.at(-1)!.view.title).toMatch(/expired/);
  });

  it("deny runs nothing; approving afterwards runs nothing", async () => {
    const t = await setup();
    await t.inbound.command(admin, "restart_gateway", []);
    const a = t.manager.actionStore.get(1)!;
    expect((await t.inbound.button(admin, approvalData(a, false), msg)).toast).toMatch(/Denied a1/);
    expect((await t.inbound.button(admin, approvalData(a, true), msg)).toast).toMatch(/already decided \(denied/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(0);
  });

  it("a restart that leaves the gateway unhealthy is reported unverified, a failing command as failed", async () => {
    const t = await setup({ actions: { verifyTimeoutSeconds: 0.3 } });
    t.gw.state.healthy = false;
    await t.inbound.command(admin, "restart_gateway", []);
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, true), msg);
    await t.manager.actions.idle();
    expect(t.manager.actionStore.get(1)).toMatchObject({ status: "unverified", exitCode: 0 });
    expect(t.manager.actionStore.get(1)!.verifyNote).toMatch(/not healthy/);

    const f = await setup({ actions: { restartGateway: { argv: [process.execPath, "-e", "console.log('boom'); process.exit(3)"] } } });
    await f.inbound.command(admin, "restart_gateway", []);
    await f.inbound.button(admin, approvalData(f.manager.actionStore.get(1)!, true), msg);
    await f.manager.actions.idle();
    expect(f.manager.actionStore.get(1)).toMatchObject({ status: "failed", exitCode: 3, outputTail: "boom" });
  });

  it("stopping asm cuts a restart's verification short: recorded unverified and shown, not waited out", async () => {
    const t = await setup({ actions: { verifyTimeoutSeconds: 45 } });
    t.gw.state.healthy = false;
    await t.inbound.command(admin, "restart_gateway", []);
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, true), msg);
    // The command has run; the verification is waiting for a gateway that stays down.
    const deadline = Date.now() + 10_000;
    while (runs(t.marker) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runs(t.marker)).toBe(1);
    await t.manager.stop();
    expect(t.manager.actionStore.get(1)).toMatchObject({ status: "unverified", exitCode: 0 });
    expect(t.manager.actionStore.get(1)!.verifyNote).toMatch(/^asm stopped before the gateway was healthy: /);
    expect(t.feed.edits.at(-1)!.view.title).toMatch(/could not be verified/);
  });

  it("a proposed restart is posted once per firing alert, and again after it resolved", async () => {
    const t = await setup();
    const finding: Finding = {
      check: "gateway",
      subject: "gateway",
      severity: "critical",
      summary: "gateway down for 4m",
      component: "gateway",
      action: "restart it",
      proposedAction: { kind: "restart_gateway" },
    };
    expect((await t.manager.handleProposedActions([finding])).length).toBe(1);
    expect(t.feed.sent.at(-1)!.title).toMatch(/Approval needed/);
    expect(t.manager.actionStore.get(1)!.messageRefs).toHaveLength(1);
    // Still firing: no second request, even after the first was denied.
    const a = t.manager.actionStore.get(1)!;
    await t.inbound.button(admin, approvalData(a, false), null);
    expect(await t.manager.handleProposedActions([finding])).toEqual([]);
    // Resolved, then firing again: a new request.
    await t.manager.handleProposedActions([]);
    expect((await t.manager.handleProposedActions([finding])).length).toBe(1);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(0);
    expect(t.feed.sent).toHaveLength(2);
  });

  it("a denied or expired request sticks for the firing while the check stops proposing; escalation asks again", async () => {
    const t = await setup();
    const finding: Finding = {
      check: "gateway",
      subject: "gateway",
      severity: "warning",
      summary: "gateway down for 4m",
      component: "gateway",
      action: "restart it",
      proposedAction: { kind: "restart_gateway" },
    };
    // While a restart is pending the gateway check reports the outage without proposing another.
    const waiting: Finding = { ...finding, action: "Approve the pending restart request", proposedAction: undefined };
    expect((await t.manager.handleProposedActions([finding])).length).toBe(1);
    expect(await t.manager.handleProposedActions([waiting])).toEqual([]);
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, false), null);
    // Denied: the check proposes again, but this firing was asked already.
    expect(await t.manager.handleProposedActions([finding])).toEqual([]);
    // A second request, left to expire while the check does not propose: still no third.
    await t.inbound.command(admin, "restart_gateway", []);
    expect(await t.manager.handleProposedActions([waiting])).toEqual([]);
    t.advance(10 * 60_000 + 1);
    await t.manager.actions.expire();
    expect(t.manager.actionStore.get(2)!.status).toBe("expired");
    expect(await t.manager.handleProposedActions([finding])).toEqual([]);
    // Escalated: a new request.
    expect((await t.manager.handleProposedActions([{ ...finding, severity: "critical" }])).length).toBe(1);
    expect(await t.manager.handleProposedActions([{ ...finding, severity: "critical" }])).toEqual([]);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(0);
  });

  it("a manual restart past the 3-per-15-minutes limit says so, and only an explicit Run anyway runs it", async () => {
    const t = await setup();
    const store = t.manager.actionStore;
    const now = Date.now();
    const argv = { mode: "argv", argvs: [t.rt.config.actions.restartGateway.argv] };
    for (let i = 0; i < 3; i++) {
      const earlier = store.create({
        kind: "restart_gateway",
        target: null,
        reason: null,
        requestedBy: "check:gateway",
        nonce: "0123456789abcdef",
        createdAt: now - (3 - i) * 60_000,
        expiresAt: now + 600_000,
        details: argv,
        preApprovedBy: "auto",
      });
      store.start(earlier.id, now - (3 - i) * 60_000);
      store.finish(earlier.id, { status: "unverified", exitCode: 0, outputTail: "", verifyNote: "not healthy" }, now - (3 - i) * 60_000 + 1000);
    }
    const req = await t.inbound.command(admin, "restart_gateway", ["still down"]);
    const text = viewToText(req);
    expect(req.title).toMatch(/Approval needed: a4 Restart the gateway \(restart limit exceeded\)/);
    expect(text).toContain("Restart limit exceeded: 3 restarts in the last 15 min (limit 3).");
    expect(req.buttons!.flat().map((b) => b.label)).toEqual(["Run anyway", "Deny"]);
    const a = store.get(4)!;
    // A plain approval (an old-style button, or /approve without "anyway") runs nothing.
    expect((await t.inbound.button(admin, approvalData(a, true), msg)).toast).toMatch(/past the restart limit .* "Run anyway"/);
    expect(viewToText(await t.inbound.command(admin, "approve", ["4"]))).toMatch(/past the restart limit/);
    expect(store.get(4)!.status).toBe("pending");
    expect((await t.inbound.button(admin, req.buttons![0]![0]!.data, msg)).toast).toMatch(/Approved a4/);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
    // Under the limit the request is the usual one.
    const fresh = await setup();
    const plain = await fresh.inbound.command(admin, "restart_gateway", []);
    expect(plain.buttons!.flat().map((b) => b.label)).toEqual(["Approve", "Deny"]);
    expect(viewToText(plain)).not.toMatch(/limit/);
  });

  it("auto mode runs the proposed restart without approval, audited and reported", async () => {
    const t = await setup({ checks: { gateway: { restart: "auto" } } });
    const finding: Finding = {
      check: "gateway",
      subject: "gateway",
      severity: "critical",
      summary: "gateway down",
      component: "gateway",
      action: "restart it",
      proposedAction: { kind: "restart_gateway" },
    };
    await t.manager.handleProposedActions([finding]);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
    expect(t.manager.actionStore.get(1)).toMatchObject({ status: "succeeded", decidedBy: "auto", requestedBy: "check:gateway" });
    expect(t.feed.edits.at(-1)!.view.title).toMatch(/succeeded/);
    await t.manager.handleProposedActions([finding]);
    await t.manager.actions.idle();
    expect(runs(t.marker)).toBe(1);
  });

  it("restart proposals are ignored when checks.gateway.restart is off", async () => {
    const t = await setup({ checks: { gateway: { restart: "off" } } });
    const finding: Finding = {
      check: "gateway",
      subject: "gateway",
      severity: "critical",
      summary: "down",
      component: "gateway",
      action: "restart it",
      proposedAction: { kind: "restart_gateway" },
    };
    expect(await t.manager.handleProposedActions([finding])).toEqual([]);
    expect(t.feed.sent).toEqual([]);
  });

  it("at start, finishes what a previous process left: runs a fresh approval, fails a stale one, closes a running one", async () => {
    const t = await setup();
    const store = t.manager.actionStore;
    const base = { kind: "restart_gateway" as const, target: null, reason: null, requestedBy: "telegram:1", nonce: "0123456789abcdef" };
    const argv = { mode: "argv", argvs: [t.rt.config.actions.restartGateway.argv] };
    const now = Date.now();
    const fresh = store.create({ ...base, createdAt: now, expiresAt: now + 600_000, details: argv, preApprovedBy: "telegram:1" });
    const stale = store.create({ ...base, createdAt: now - 3_600_000, expiresAt: now - 3_000_000, details: argv, preApprovedBy: "telegram:1" });
    const running = store.create({ ...base, createdAt: now, expiresAt: now + 600_000, details: argv, preApprovedBy: "telegram:1" });
    store.start(running.id, now);
    t.manager.start();
    await t.manager.actions.idle();
    expect(store.get(fresh.id)!.status).toBe("succeeded");
    expect(store.get(stale.id)).toMatchObject({ status: "failed", verifyNote: expect.stringMatching(/approval is too old/) });
    expect(store.get(running.id)).toMatchObject({ status: "unverified", verifyNote: expect.stringMatching(/stopped while it was running/) });
    expect(runs(t.marker)).toBe(1);
  });
});
