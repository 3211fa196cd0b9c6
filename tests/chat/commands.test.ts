import { afterEach, describe, expect, it } from "vitest";
import { parseDuration } from "../../src/chat/commands/alerts.ts";
import { parseSessionsArgs, resumeCommand } from "../../src/chat/commands/sessions.ts";
import { commands, runCommand } from "../../src/chat/commands.ts";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { type View, viewToText } from "../../src/messages/view.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { TurnStore } from "../../src/store/turns.ts";
import { rig, runs, session } from "../core/setup.ts";
import { tooWide } from "../helpers/phone.ts";

const member: Caller = { transport: "telegram", userId: "7", allowed: true, admin: false };
const stranger: Caller = { transport: "telegram", userId: "666", allowed: false, admin: false };

const now = Date.now();
const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

function setup() {
  const r = rig();
  const manager = new Manager(r.rt, { probeIntervalMs: 50 });
  open.push({ manager, rt: r.rt });
  const inbound = new CoreInbound(manager);
  // The alert feed, where approval requests are posted for the admins.
  const feed: View[] = [];
  manager.feed.attach([
    {
      name: "telegram",
      start: async () => {},
      stop: async () => {},
      send: async (view: View) => {
        feed.push(view);
        return { transport: "telegram", chatId: "-100", messageId: String(100 + feed.length) };
      },
      edit: async () => {},
    },
  ]);
  const s = r.rt.sessions;
  s.upsert(
    session(
      {
        platform: "claude",
        sessionId: "7d3f2a10-1111-4c2e-9a55-0123456789ab",
        project: "/home/dev/app",
        title: "fix build",
        contextPercent: 91,
        contextTokens: 182_000,
      },
      now,
    ),
  );
  s.upsert(
    session(
      {
        platform: "codex",
        sessionId: "01a209ee-6dbd-7cb3-b17e-2c3ae8fb4e22",
        contextPercent: 40,
        extra: { rateLimits: { primary: { usedPercent: 18, windowMinutes: 300 } } },
      },
      now,
    ),
  );
  s.upsert(session({ platform: "gemini", sessionId: "7d3f0000-aaaa-4bbb-8ccc-000000000000", contextPercent: 5 }, now));
  s.upsert(session({ platform: "opencode", sessionId: "ses_abc123", contextPercent: null, lastActivity: now - 3 * 86_400_000 }, now));
  s.upsert(
    session(
      {
        platform: "openclaw",
        sessionId: "3f1d9c2e-aaaa-4bbb-8ccc-000000000001",
        sessionKey: "agent:main:main",
        extra: { storage: "json", transcriptProblem: null },
      },
      now,
    ),
  );
  s.upsert(session({ platform: "claude", sessionId: "gone0000-0000-4000-8000-000000000000", present: false }, now));
  const turns = new TurnStore(r.rt.db);
  for (let i = 0; i < 8; i++) {
    turns.add({
      sessionUid: "claude::7d3f2a10-1111-4c2e-9a55-0123456789ab",
      ts: now - (8 - i) * 60_000,
      model: "claude-opus-4-6",
      input: 10 + i,
      output: 100,
      cacheRead: 20_000,
      cacheWrite: 500,
      contextTokens: 170_000 + i * 1000,
    });
  }
  const alerts = new AlertStore(r.rt.db);
  const finding = (over: Partial<Finding>): Finding => ({
    check: "context",
    subject: "claude::7d3f2a10-1111-4c2e-9a55-0123456789ab",
    severity: "critical",
    summary: "context 91% in claude 7d3f2a10",
    component: "session",
    action: "compact or start a new session",
    ...over,
  });
  const alert = (fingerprint: string, f: Finding) =>
    alerts.insert({
      fingerprint,
      check: f.check,
      subject: f.subject,
      severity: f.severity,
      status: "firing",
      summary: f.summary,
      report: f,
      firstSeen: now - 600_000,
      lastSeen: now,
      firedAt: now - 600_000,
      resolvedAt: null,
      lastNotifiedAt: now - 600_000,
      notifiedSeverity: f.severity,
      ackedBy: null,
      ackedAt: null,
      missed: 0,
    });
  const ctxAlert = alert("aaaa1111bbbb2222", finding({}));
  const gwAlert = alert(
    "cccc3333dddd4444",
    finding({ check: "gateway", subject: "gateway", summary: "gateway down for 4m", proposedAction: { kind: "restart_gateway" } }),
  );
  const run = async (caller: Caller, line: string) => {
    const [name, ...args] = line.slice(1).split(" ").filter(Boolean);
    return viewToText(await inbound.command(caller, name!, args));
  };
  return { ...r, manager, inbound, feed, run, ctxAlert, gwAlert };
}

describe("commands", () => {
  it("declares every command once, with Telegram-safe names and a usage that shows an example", () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      "help",
      "sessions",
      "session",
      "tail",
      "health",
      "alerts",
      "silence",
      "unsilence",
      "ack",
      "restart_gateway",
      "reset_session",
      "cleanup",
      "actions",
      "approve",
      "deny",
      "spawn",
      "workers",
      "worker",
      "send",
      "interrupt",
      "kill",
      "resume",
      "fallback",
      "memory",
      "handover",
      "usage",
      "report",
    ]);
    for (const c of commands) {
      expect(c.name).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeLessThanOrEqual(100);
      expect(c.usage.startsWith(`/${c.name}`)).toBe(true);
      if (c.options.length) expect(c.usage).toContain("e.g.");
    }
  });

  it("/help lists the commands", async () => {
    const t = setup();
    const text = await t.run(member, "/help");
    expect(text).toContain("/sessions [platform]");
    expect(text).toContain("/restart_gateway [reason]");
  });

  it("refuses unknown users and unknown commands without detail", async () => {
    const t = setup();
    expect(await t.run(stranger, "/sessions")).toBe("Sorry, you are not allowed to use this bot.");
    expect(await t.run(member, "/frobnicate")).toBe("Unknown command /frobnicate. Try /help.");
    expect(t.log.text).toContain("unknown user");
  });

  it("/sessions lists active sessions most urgent first, filters and sorts", async () => {
    const t = setup();
    const text = await t.run(member, "/sessions");
    const lines = text.split("\n");
    // Two lines per session (issue 18 item 10): what it is, then how full.
    expect(lines[2]).toBe("7d3f2a10 claude · fix build");
    expect(lines[3]).toMatch(/^ {3}🟠 91% of 200k · idle · /);
    expect(text).not.toContain("ses_abc1"); // idle for 3 days: not active
    expect(text).not.toContain("gone0000");
    expect(await t.run(member, "/sessions all")).toContain("ses_abc1");
    expect(await t.run(member, "/sessions all")).toMatch(/gone0000 claude · untitled\n {3}\S.* · gone · /);
    const codex = await t.run(member, "/sessions codex");
    expect(codex).toContain("01a209ee");
    expect(codex).not.toContain("7d3f2a10");
    expect(await t.run(member, "/sessions gemini activity")).toContain("7d3f0000");
    expect(await t.run(member, "/sessions opencode")).toContain("No sessions");
  });

  it("/sessions rejects bad arguments with a one-line usage", async () => {
    const t = setup();
    for (const bad of ["/sessions claud", "/sessions claude codex", "/sessions active all", "/sessions context activity"]) {
      const text = await t.run(member, bad);
      expect(text.split("\n")).toHaveLength(1);
      expect(text).toMatch(
        /Usage: \/sessions \[platform\] \[active\|all\] \[context\|activity\] \[errored\|waiting\] \[project <name>\] — e\.g\. \/sessions claude errored$/,
      );
    }
    expect(parseSessionsArgs(["ALL", "Claude"])).toEqual({ platform: "claude", scope: "all", sort: "urgency" });
  });

  it("/session shows everything, the last turns, the resume command, and a reset button for OpenClaw", async () => {
    const t = setup();
    const text = await t.run(member, "/session 7d3f2a10-");
    expect(text).toContain("id: 7d3f2a10-1111-4c2e-9a55-0123456789ab");
    expect(text).toContain("context: 91.0% full (182k of 200k)");
    expect(text).toContain("cd /home/dev/app && claude --resume 7d3f2a10-1111-4c2e-9a55-0123456789ab");
    expect(text).toContain(`Open alerts\n#${t.ctxAlert.id} critical: context 91% in claude 7d3f2a10 (/ack ${t.ctxAlert.id})`);
    expect(await t.run(member, "/session 01a209ee")).toContain("Open alerts\nnone");
    const turnLines = text.split("\n").filter((l) => l.includes(" ctx "));
    expect(turnLines).toHaveLength(5);
    expect(turnLines.at(-1)).toContain("ctx 177k");
    expect(await t.run(member, "/session 01a209ee")).toContain("codex resume 01a209ee-6dbd-7cb3-b17e-2c3ae8fb4e22");
    expect(await t.run(member, "/session 01a209ee")).toContain("rate limit: 18% of 300 min window used");
    expect(await t.run(member, "/session ses_abc")).toContain("opencode --session ses_abc123");
    expect(await t.run(member, "/session 7d3f0000")).toContain("gemini --resume 7d3f0000-aaaa-4bbb-8ccc-000000000000");
    const oc = await t.inbound.command(member, "session", ["3f1d9c2e"]);
    expect(viewToText(oc)).toContain("openclaw resume agent:main:main");
    expect(oc.buttons![0]![0]).toMatchObject({ label: "Reset session…", data: "rs:3f1d9c2e-aaaa-4bbb-8ccc-000000000001" });
    expect(resumeCommand(session({ platform: "claude", sessionId: "x", project: "/it's here" }))).toBe("cd '/it'\\''s here' && claude --resume x");
  });

  it("/session: ambiguous prefixes list candidates; unknown and bad ids say so", async () => {
    const t = setup();
    const amb = await t.run(member, "/session 7d3f");
    expect(amb).toContain('"7d3f" matches 2 sessions');
    expect(amb).toContain("7d3f2a10");
    expect(amb).toContain("7d3f0000");
    expect(await t.run(member, "/session ffff")).toContain('No session matches "ffff"');
    expect(await t.run(member, "/session")).toBe("session id or prefix is missing. Usage: /session <id-or-prefix> — e.g. /session 3f1d9c2e");
    expect(await t.run(member, "/session a;rm")).toMatch(/is not a valid session id or prefix\. Usage:/);
    expect(await t.run(member, "/session a b")).toMatch(/give one session id or prefix/);
  });

  it("ids that share their first 8 characters (Codex UUIDv7 from the same minute) are shown long enough to tell apart", async () => {
    const t = setup();
    const a = "01a209f7-4642-7fd2-9938-e1c95f5d15ec";
    const b = "01a209f7-4b47-7c43-b427-e8663f88e969";
    t.rt.sessions.upsert(session({ platform: "codex", sessionId: a, contextPercent: 11 }, now));
    t.rt.sessions.upsert(session({ platform: "codex", sessionId: b, contextPercent: 12 }, now));
    const list = await t.run(member, "/sessions codex");
    expect(list).toContain("01a209f7-46 ");
    expect(list).toContain("01a209f7-4b ");
    const amb = await t.run(member, "/session 01a209f7");
    expect(amb).toContain('"01a209f7" matches 2 sessions');
    const typed = amb.match(/e\.g\.\n\/session (\S+)/)![1]!;
    expect([a.slice(0, 11), b.slice(0, 11)]).toContain(typed);
    // The suggestion really opens one session.
    expect(await t.run(member, `/session ${typed}`)).toMatch(new RegExp(`^codex 01a209f7 · [^]*\nid: ${typed}`));
    expect(await t.run(member, "/reset_session 01a209f7")).toMatch(/e\.g\.\n\/reset_session 01a209f7-4[6b]/);

    // The same id on two platforms: no prefix can choose, so the suggestion is the uid.
    t.rt.sessions.upsert(session({ platform: "gemini", sessionId: a, contextPercent: 3 }, now));
    const twins = await t.run(member, `/session ${a}`);
    const uid = twins.match(/e\.g\.\n\/session (\S+)/)![1]!;
    expect(uid).toMatch(new RegExp(`^(codex|gemini)::${a}$`));
    expect(await t.run(member, `/session ${uid}`)).toContain(a);
    // ...and the list does not widen every id to the full length because of the twins.
    expect(await t.run(member, "/sessions")).toContain("\n01a209f7-46 codex · ");
  });

  it("/health shows one screen; extra arguments are refused", async () => {
    const t = setup();
    t.rt.kv.set("scan.last", { at: now - 5000, durationMs: 42, errors: [] });
    const text = await t.run(member, "/health");
    expect(text).toMatch(/^asm health: (ok|degraded)/);
    expect(text).toMatch(/scan: last \d+s ago in 42 ms/);
    for (const part of [
      "store:",
      "source claude:",
      "sessions: 5 present",
      "gateway: not watched: ", // no checks.gateway.url and no local gateway in openclaw.json (issue 18 item 5)
      "outbox: 0 unsent",
      "actions: none pending",
      "self: up",
    ]) {
      expect(text).toContain(part);
    }
    expect(await t.run(member, "/health now")).toBe("/health takes no arguments. Usage: /health");
  });

  it("/alerts lists open alerts most severe first; /alerts all; bad argument", async () => {
    const t = setup();
    const text = await t.run(member, "/alerts");
    expect(text).toContain(`#${t.ctxAlert.id} 🔴 critical · firing 10m\n   context 91% in claude 7d3f2a10\n   context aaaa1111\n`);
    expect(text).toContain(`#${t.gwAlert.id} 🔴 critical · firing 10m\n   gateway down for 4m`);
    expect(await t.run(member, "/alerts all")).toContain("Recent alerts");
    expect(tooWide(await t.inbound.command(member, "alerts", []), { wrap: true })).toEqual([]);
    expect(await t.run(member, "/alerts some")).toMatch(/is not "all"\. Usage: \/alerts \[all\]/);
  });

  it("/ack acknowledges once, by number or fingerprint; bad refs are refused", async () => {
    const t = setup();
    expect(await t.run(member, `/ack ${t.ctxAlert.id}`)).toContain(`Acknowledged #${t.ctxAlert.id}`);
    expect(await t.run(member, "/ack aaaa11")).toContain("was already acknowledged by telegram:7");
    expect(await t.run(member, "/alerts")).toContain("acked by telegram:7");
    expect(await t.run(member, "/ack 999")).toMatch(/^no alert #999\. Usage: \/ack/);
    expect(await t.run(member, "/ack zz")).toMatch(/neither an alert number nor a fingerprint\. Usage:/);
    expect(await t.run(member, "/ack")).toMatch(/give one alert\. Usage:/);
  });

  it("/silence by check pattern or fingerprint, listed in /alerts, ended by /unsilence", async () => {
    const t = setup();
    const added = await t.run(member, "/silence context:claude:* 2h deploying now");
    expect(added).toMatch(
      /^Added silence 1: context:claude:\* until .* by telegram:7 \(deploying now\)\. End it early with \/unsilence 1\. It mutes 1 open alert now\.$/,
    );
    // A pattern that matches nothing says so, with what the check's subjects look like.
    expect(await t.run(member, "/silence context:session:codex:* 1h")).toMatch(
      /It matches no open alert now \(context subjects look like claude::7d3f2a10-1111-4c2e-9a55-0123456789ab\)\.$/,
    );
    expect(await t.run(member, "/silence cccc3333 30m")).toContain("Added silence 3: fingerprint cccc3333");
    const listed = await t.run(member, "/alerts");
    expect(listed).toContain("Active silences");
    expect(listed).toContain("silence 1: context:claude:*");
    // The alert a silence mutes says so where it is listed (issue 18 item 13).
    expect(listed).toMatch(new RegExp(`#${t.ctxAlert.id} [^]*?\n {3}🔕 silenced until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\n`));
    expect(listed).toMatch(new RegExp(`#${t.gwAlert.id} [^]*?\n {3}🔕 silenced until `));
    expect(await t.run(member, "/unsilence 1")).toBe("Silence 1 ended.");
    expect(await t.run(member, "/unsilence 1")).toContain("is not active");
    const afterOne = await t.run(member, "/alerts");
    expect(afterOne).not.toContain("silence 1:");
    expect(afterOne).not.toMatch(new RegExp(`#${t.ctxAlert.id} [^#]*🔕`));
    expect(afterOne).toMatch(new RegExp(`#${t.gwAlert.id} [^#]*🔕`));
    expect(await t.run(member, "/unsilence 3")).toBe("Silence 3 ended.");
    expect(await t.run(member, "/alerts")).not.toContain("🔕");
  });

  it("/silence and /unsilence reject bad input", async () => {
    const t = setup();
    expect(await t.run(member, "/silence context")).toMatch(/give what to silence and for how long\. Usage: \/silence/);
    expect(await t.run(member, "/silence context 2 weeks")).toMatch(/is not a duration like 30m/);
    expect(await t.run(member, "/silence context 90d")).toMatch(/30 days at most/);
    expect(await t.run(member, "/silence nonsense 1h")).toMatch(/neither a check .* nor an alert fingerprint/);
    expect(await t.run(member, "/silence context: 1h")).toMatch(/subject pattern is empty/);
    expect(await t.run(member, "/unsilence x")).toMatch(/give the silence id shown by \/alerts\. Usage:/);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1d")).toBe(86_400_000);
  });

  it("/restart_gateway, /reset_session and /cleanup put requests up for approval; /actions is the audit trail", async () => {
    const t = setup();
    // A non-admin's request goes to the feed, where the admins are; the member is told so.
    const restart = await t.run(member, "/restart_gateway it hangs");
    expect(restart).toBe("Asked the admins to approve a1 (posted in the alert feed). /actions shows where it stands.");
    expect(viewToText(t.feed[0]!)).toContain("Approval needed: a1 Restart the gateway");
    expect(viewToText(t.feed[0]!)).toContain("reason: it hangs");
    expect(await t.run(member, "/restart_gateway")).toBe("Cannot restart gateway: a restart is already pending (a1)");
    expect(await t.run(member, "/reset_session 3f1d9c2e")).toContain("Cannot reset session: its sessions.json was not found");
    expect(await t.run(member, "/reset_session 7d3f")).toContain('"7d3f" matches 2 sessions');
    expect(await t.run(member, "/reset_session nope")).toMatch(/no session matches "nope"\. Usage: \/reset_session/);
    expect(await t.run(member, "/reset_session")).toMatch(/session id or prefix is missing\. Usage:/);
    expect(await t.run(member, "/cleanup")).toBe("Cannot cleanup: no corrupted or stray entries found");
    expect(await t.run(member, `/restart_gateway ${"x".repeat(301)}`)).toMatch(/reason is too long/);
    const audit = await t.run(member, "/actions");
    expect(audit).toMatch(/a1 .* restart_gateway — waiting for approval \(by telegram:7\)/);
    expect(await t.run(member, "/actions all")).toBe("/actions takes no arguments. Usage: /actions");
    expect(runs(t.marker)).toBe(0);
  });

  it("a non-admin's request reaches the admins: posted to the feed, /approve and /deny by number, a press only on its own message", async () => {
    const t = setup();
    const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true, chatId: "555" };
    // Asked in a private chat: the member gets a note, the request with its buttons lands in the feed.
    const asked = await t.inbound.command({ ...member, chatId: "7" }, "restart_gateway", ["hangs"]);
    expect(asked.buttons ?? []).toEqual([]);
    expect(viewToText(asked)).toMatch(/Asked the admins to approve a1/);
    expect(t.feed).toHaveLength(1);
    expect(t.feed[0]!.buttons!.flat().map((b) => b.label)).toEqual(["Approve", "Deny"]);
    expect(t.manager.actionStore.get(1)!.messageRefs).toEqual([{ transport: "telegram", chatId: "-100", messageId: "101" }]);
    expect(await t.run(member, "/actions")).toMatch(/a1 .* waiting for approval .* — \/approve a1 or \/deny a1/);
    // The button's data pressed on some other message does nothing; on the feed message it counts.
    const approve = t.feed[0]!.buttons![0]![0]!.data;
    const elsewhere = await t.inbound.button(admin, approve, { transport: "telegram", chatId: "555", messageId: "9" });
    expect(elsewhere.toast).toMatch(/does not belong to request a1/);
    expect(t.manager.actionStore.get(1)!.status).toBe("pending");
    // /deny by number (admins only); the feed message shows the outcome.
    expect(await t.run(member, "/deny 1")).toBe("/deny is for admins only.");
    expect(await t.run(admin, "/deny x")).toMatch(/not an action number\. Usage: \/deny/);
    expect(await t.run(admin, "/deny 1")).toMatch(/^Denied a1; nothing was run\./);
    expect(await t.run(admin, "/approve 1")).toMatch(/already decided \(denied/);
    // An admin asking in the feed chat itself gets one message there, not two.
    const again = await t.inbound.command({ ...admin, chatId: "-100" }, "restart_gateway", []);
    expect(viewToText(again)).toBe("Requested a2: the approval request is posted in this chat.");
    expect(t.feed).toHaveLength(2);
    // Actions are a<N>, alerts #<N>: "#2" names an alert, so it approves nothing (issue 18 item 4).
    expect(await t.run(admin, "/approve #2")).toMatch(/^#2 is an alert; actions are numbered a<N> \(\/actions lists them\)\. Usage: \/approve <action>/);
    expect(await t.run(admin, "/approve a2")).toMatch(/Approved a2/);
    await t.manager.actions.idle();
    expect(t.manager.actionStore.get(2)!.decidedBy).toBe("telegram:1");
  });

  it("alert buttons: ack, silence, and request the proposed action (approval-gated)", async () => {
    const t = setup();
    expect((await t.inbound.button(member, `ack:${t.ctxAlert.id}`, null)).toast).toContain(`Acknowledged #${t.ctxAlert.id}`);
    expect((await t.inbound.button(member, `sil:${t.ctxAlert.id}:24h`, null)).toast).toMatch(/Silenced #\d+ for 24h \(silence 1/);
    expect((await t.inbound.button(member, `req:${t.ctxAlert.id}`, null)).toast).toMatch(/proposes no action/);
    // The request is posted to the feed for the admins (the member gets a note, not the buttons).
    const req = await t.inbound.button(member, `req:${t.gwAlert.id}`, null);
    expect(req.toast).toMatch(/Asked the admins to approve a1/);
    expect(t.feed[0]!.title).toMatch(/Approval needed: a1 Restart the gateway/);
    expect(t.manager.actionStore.get(1)).toMatchObject({ fingerprint: "cccc3333dddd4444", reason: "gateway down for 4m", status: "pending" });
    expect((await t.inbound.button(member, `req:${t.gwAlert.id}`, null)).toast).toMatch(/already requested \(a1, pending\)/);
    expect((await t.inbound.button(member, "sil:1:5y", null)).toast).toBe("This button is no longer active.");
    expect(runs(t.marker)).toBe(0);
  });

  it("the /session reset button asks for a reset like the command", async () => {
    const t = setup();
    const out = await t.inbound.button(member, "rs:3f1d9c2e-aaaa-4bbb-8ccc-000000000001", null);
    expect(viewToText(out.reply as View)).toContain("sessions.json was not found");
  });

  it("never shows a stack trace when a command throws", async () => {
    const t = setup();
    t.rt.close();
    const text = viewToText(await runCommand({ rt: t.rt, manager: t.manager, caller: member, now }, "sessions", []));
    expect(text).toMatch(/^\/sessions failed \(ref [a-z0-9]+\); the details are in asm's log\.$/);
    expect(t.log.text).toContain("command failed");
  });
});
