import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alertButtons, alertView, parseAlertButton } from "../../src/alerts/format.ts";
import { type AlertStores, alertStores, type CycleOptions, fingerprint, processFindings } from "../../src/alerts/lifecycle.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { TransportName } from "../../src/messages/transport.ts";
import { viewToText } from "../../src/messages/view.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const minute = 60_000;
const hour = 60 * minute;
const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);

const finding = (subject: string, extra: Partial<Finding> = {}): Finding => ({
  check: "context",
  subject,
  severity: "warning",
  summary: `session ${subject} context at 82%`,
  component: `session ${subject}`,
  value: "164k tokens (82%)",
  threshold: "80%",
  action: "Compact or reset the session",
  ...extra,
});

let db: Db | undefined;
afterEach(() => db?.close());

function setup(alerts: Partial<CycleOptions["config"]["alerts"]> = {}, transports: TransportName[] = ["console", "telegram"]) {
  db = openStore(join(tempDir(), "asm.db"));
  const stores = alertStores(db);
  const config = { alerts: { repeatIntervalMinutes: 240, minFiringSeconds: 0, groupAbove: 5, resolveAfterMissedScans: 1, ...alerts } };
  const cycle = (findings: Finding[], now: number, extra: Partial<CycleOptions> = {}) =>
    processFindings(stores, findings, { now, config, transports, ...extra });
  return { stores, cycle };
}

const rows = (s: AlertStores) => s.outbox.all();
const kinds = (s: AlertStores) => rows(s).map((r) => `${r.transport}:${r.kind}`);

describe("alert lifecycle", () => {
  it("fingerprints by check + subject only: values and severity are annotations", () => {
    const a = fingerprint(finding("claude::s1"));
    expect(fingerprint(finding("claude::s1", { value: "190k", severity: "critical" }))).toBe(a);
    expect(fingerprint(finding("claude::s2"))).not.toBe(a);
    expect(fingerprint({ check: "transcript", subject: "claude::s1" })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it("with host.name set, the host is part of the fingerprint (the same problem on two hosts is two alerts)", () => {
    const f = finding("claude::s1");
    expect(fingerprint(f, null)).toBe(fingerprint(f));
    expect(fingerprint(f, "build-1")).not.toBe(fingerprint(f));
    expect(fingerprint(f, "build-1")).not.toBe(fingerprint(f, "build-2"));
    const { stores } = setup();
    const config = { alerts: { repeatIntervalMinutes: 240, minFiringSeconds: 0, groupAbove: 5, resolveAfterMissedScans: 1 }, host: { name: "build-1" } };
    processFindings(stores, [f], { now: t0, config: config as CycleOptions["config"], transports: ["console"] });
    expect(stores.alerts.open().map((a) => a.fingerprint)).toEqual([fingerprint(f, "build-1")]);
  });

  it("fires once per transport, then stays quiet while still firing", () => {
    const { stores, cycle } = setup();
    const r1 = cycle([finding("claude::s1")], t0);
    expect(r1.outcomes.map((o) => o.change)).toEqual(["fired"]);
    expect(kinds(stores)).toEqual(["console:fire", "telegram:fire"]);
    const view = rows(stores)[0]!.view;
    const text = viewToText(view);
    for (const field of [
      "Time: 2026-11-23 12:00 UTC",
      "Type: context",
      "Severity: warning",
      "Component: session claude s1",
      "Current value: 164k tokens (82%)",
      "Threshold: 80%",
      "Recommended action: Compact or reset the session",
      "Status: firing",
    ]) {
      expect(text).toContain(field);
    }
    expect(view.silent, "a warning does not ring").toBe(true);
    // Same finding with a new value: annotations update, nothing is sent.
    const r2 = cycle([finding("claude::s1", { value: "170k tokens (85%)" })], t0 + minute);
    expect(r2.outcomes.map((o) => o.change)).toEqual(["unchanged"]);
    expect(r2.enqueued).toBe(0);
    expect(stores.alerts.open()[0]!.report.value).toBe("170k tokens (85%)");
    expect(stores.alerts.open()).toHaveLength(1);
  });

  it("dedups the same fingerprint within one cycle, keeping the more severe", () => {
    const { stores, cycle } = setup({}, ["console"]);
    cycle([finding("s1"), finding("s1", { severity: "critical" })], t0);
    expect(stores.alerts.open()).toHaveLength(1);
    expect(stores.alerts.open()[0]!.severity).toBe("critical");
    expect(rows(stores)[0]!.view.silent, "critical notifies").toBe(false);
  });

  it("sends one reminder after repeatInterval, then waits another interval", () => {
    const { stores, cycle } = setup({ repeatIntervalMinutes: 240 }, ["console"]);
    cycle([finding("s1")], t0);
    expect(cycle([finding("s1")], t0 + 239 * minute).enqueued).toBe(0);
    const r = cycle([finding("s1")], t0 + 240 * minute);
    expect(r.outcomes[0]!.change).toBe("repeated");
    expect(kinds(stores)).toEqual(["console:fire", "console:repeat"]);
    expect(viewToText(rows(stores)[1]!.view)).toContain("still firing for 4h (reminder)");
    expect(cycle([finding("s1")], t0 + 241 * minute).enqueued).toBe(0);
    expect(cycle([finding("s1")], t0 + 480 * minute).enqueued).toBe(1);
  });

  it("ack stops reminders until the alert resolves, and is single-use", () => {
    const { stores, cycle } = setup({ repeatIntervalMinutes: 60 }, ["console"]);
    cycle([finding("s1")], t0);
    const id = stores.alerts.open()[0]!.id;
    expect(stores.alerts.ack(id, "telegram:42", t0 + minute)).toBe(true);
    expect(stores.alerts.ack(id, "telegram:43", t0 + minute), "a second click does nothing").toBe(false);
    expect(stores.alerts.get(id)!.ackedBy).toBe("telegram:42");
    expect(cycle([finding("s1")], t0 + 5 * hour).enqueued).toBe(0);
    // Escalation is news, not a reminder: it still goes out.
    expect(cycle([finding("s1", { severity: "critical" })], t0 + 6 * hour).outcomes[0]!.change).toBe("escalated");
    cycle([], t0 + 7 * hour);
    expect(stores.alerts.ack(id, "telegram:42", t0 + 8 * hour), "resolved alerts cannot be acked").toBe(false);
    // The next occurrence is a new alert with reminders again.
    cycle([finding("s1")], t0 + 9 * hour);
    expect(cycle([finding("s1")], t0 + 10 * hour).outcomes[0]!.change).toBe("repeated");
  });

  it("escalates with a new message when severity goes up, not when it goes down", () => {
    const { stores, cycle } = setup({}, ["console"]);
    cycle([finding("s1")], t0);
    const up = cycle([finding("s1", { severity: "critical" })], t0 + minute);
    expect(up.outcomes[0]!.change).toBe("escalated");
    const esc = rows(stores)[1]!;
    expect(esc.kind).toBe("escalate");
    expect(viewToText(esc.view)).toContain("escalated from warning to critical");
    expect(esc.view.silent).toBe(false);
    expect(cycle([finding("s1", { severity: "warning" })], t0 + 2 * minute).enqueued, "down is quiet").toBe(0);
    expect(cycle([finding("s1", { severity: "critical" })], t0 + 3 * minute).outcomes[0]!.change, "up again is news").toBe("escalated");
  });

  it("resolves an alert absent from its check's cycle with a silent edit, keeping other checks' alerts", () => {
    const { stores, cycle } = setup({}, ["console"]);
    cycle([finding("s1"), finding("log:/x", { check: "logs" })], t0);
    // Pretend the fire went out, so there is a message to edit.
    for (const r of rows(stores))
      stores.outbox.markSent([r.id], { transport: "console", chatId: "c", messageId: String(r.id) }, t0, { alertIds: r.alertIds, grouped: false });
    const r = cycle([finding("log:/x", { check: "logs" })], t0 + 10 * minute, { scope: [{ check: "context" }, { check: "logs" }] });
    expect(r.outcomes.find((o) => o.alert.subject === "s1")!.change).toBe("resolved");
    const resolve = rows(stores).at(-1)!;
    expect(resolve.kind).toBe("resolve");
    expect(resolve.view.title).toMatch(/RESOLVED/);
    expect(resolve.view.silent).toBe(true);
    expect(resolve.view.buttons).toEqual([]);
    expect(viewToText(resolve.view)).toContain("after 10m");
    expect(stores.alerts.open().map((a) => a.subject)).toEqual(["log:/x"]);
    // A cycle that does not cover a check does not resolve its alerts.
    cycle([], t0 + 11 * minute, { scope: [{ check: "context" }] });
    expect(stores.alerts.open().map((a) => a.subject)).toEqual(["log:/x"]);
    cycle([], t0 + 12 * minute, { scope: [{ check: "logs", subjectPrefix: "job:" }] });
    expect(stores.alerts.open().map((a) => a.subject)).toEqual(["log:/x"]);
  });

  it("an alert nobody checks any more closes saying why, never as RESOLVED", () => {
    const { stores, cycle } = setup({ resolveAfterMissedScans: 2 }, ["console"]);
    cycle(
      [finding("session:claude::s1", { severity: "critical", summary: "s1 at 95%" }), finding("log:/x", { check: "logs" }), finding("session:claude::s2")],
      t0,
    );
    for (const r of rows(stores))
      stores.outbox.markSent([r.id], { transport: "console", chatId: "c", messageId: String(r.id) }, t0, { alertIds: r.alertIds, grouped: false });
    // s1 left the activity window, the logs check was turned off; s2 is still checked and went away.
    const notChecked = (a: { check: string; subject: string }) =>
      a.subject === "session:claude::s1" ? ("inactive" as const) : a.check === "logs" ? ("check-off" as const) : null;
    const r = cycle([], t0 + 10 * minute, { notChecked });
    const change = (subject: string) => r.outcomes.find((o) => o.alert.subject === subject)!.change;
    // Closed at once (no misses to wait out: it will not be reported again while nobody looks).
    expect([change("session:claude::s1"), change("log:/x"), change("session:claude::s2")]).toEqual(["resolved", "resolved", "unchanged"]);
    const views = rows(stores)
      .filter((x) => x.kind === "resolve")
      .map((x) => x.view);
    const s1 = views.find((v) => v.title!.includes("s1 at 95%"))!;
    expect(s1.title).toBe("NO LONGER ACTIVE — NOT CHECKED · s1 at 95%");
    expect(viewToText(s1)).toContain("Status: no longer active — not checked at 2026-11-23 12:10 UTC after 10m; the last state is shown above");
    expect(s1.tone).toBe("info");
    const logs = views.find((v) => v.title!.includes("log:/x"))!;
    expect(logs.title).toMatch(/^CHECK TURNED OFF · /);
    for (const v of views) expect(viewToText(v)).not.toMatch(/RESOLVED|resolved/);
    // A problem that went away still reads RESOLVED.
    cycle([], t0 + 11 * minute, { notChecked });
    const s2 = rows(stores)
      .filter((x) => x.kind === "resolve")
      .at(-1)!.view;
    expect(s2.title).toMatch(/^RESOLVED · session session:claude s2/);
  });

  it("needs resolveAfterMissedScans misses in a row to resolve", () => {
    const { stores, cycle } = setup({ resolveAfterMissedScans: 2 }, ["console"]);
    cycle([finding("s1")], t0);
    cycle([], t0 + minute);
    expect(stores.alerts.open()).toHaveLength(1);
    cycle([finding("s1")], t0 + 2 * minute);
    cycle([], t0 + 3 * minute);
    expect(stores.alerts.open()).toHaveLength(1);
    cycle([], t0 + 4 * minute);
    expect(stores.alerts.open()).toHaveLength(0);
  });

  it("resolved before it was posted: the queued fire is cancelled and nothing is said", () => {
    const { stores, cycle } = setup({}, ["console", "telegram"]);
    cycle([finding("s1")], t0);
    // Telegram delivered, the console did not get to it.
    const tg = rows(stores).find((r) => r.transport === "telegram")!;
    stores.outbox.markSent([tg.id], { transport: "telegram", chatId: "-100", messageId: "7" }, t0, { alertIds: tg.alertIds, grouped: false });
    expect(cycle([], t0 + minute).outcomes[0]!.change, "telegram saw it").toBe("resolved");
    expect(rows(stores).map((r) => `${r.transport}:${r.kind}:${r.status}`)).toEqual([
      "console:fire:cancelled",
      "telegram:fire:sent",
      "telegram:resolve:pending",
    ]);
  });

  it("an alert whose message went nowhere yet resolves as unposted", () => {
    const { stores, cycle } = setup({}, ["console"]);
    cycle([finding("s1")], t0);
    expect(cycle([], t0 + minute).outcomes[0]!.change).toBe("resolved-unposted");
    expect(rows(stores).map((r) => r.status)).toEqual(["cancelled"]);
  });

  it("damps flapping: nothing is posted before minFiringSeconds, and a flap that ends first is never posted", () => {
    const { stores, cycle } = setup({ minFiringSeconds: 120 }, ["console"]);
    expect(cycle([finding("flappy")], t0).outcomes[0]!.change).toBe("new-pending");
    expect(cycle([finding("flappy")], t0 + minute).outcomes[0]!.change).toBe("unchanged");
    expect(cycle([], t0 + 90_000).outcomes[0]!.change).toBe("resolved-unposted");
    expect(rows(stores)).toEqual([]);
    cycle([finding("steady")], t0 + 2 * minute);
    expect(rows(stores)).toEqual([]);
    expect(cycle([finding("steady")], t0 + 4 * minute).outcomes[0]!.change).toBe("fired");
    expect(kinds(stores)).toEqual(["console:fire"]);
  });

  it("silences by fingerprint until they end, then the alert is posted", () => {
    const { stores, cycle } = setup({}, ["console"]);
    const fp = fingerprint(finding("s1"));
    const s = stores.silences.add({ fingerprint: fp, endsAt: t0 + hour, createdBy: "telegram:42", reason: "known", now: t0 });
    const r = cycle([finding("s1"), finding("s2")], t0 + minute);
    expect(r.outcomes.map((o) => [o.alert.subject, o.change, o.silencedBy])).toEqual([
      ["s1", "silenced", s.id],
      ["s2", "fired", undefined],
    ]);
    expect(cycle([finding("s1"), finding("s2")], t0 + 59 * minute).enqueued).toBe(0);
    const after = cycle([finding("s1"), finding("s2")], t0 + hour);
    expect(after.outcomes.find((o) => o.alert.subject === "s1")!.change, "the silence expired by itself").toBe("fired");
    expect(stores.silences.active(t0 + hour)).toEqual([]);
  });

  it("silences by check and subject pattern, and can be expired early", () => {
    const { stores, cycle } = setup({}, ["console"]);
    const s = stores.silences.add({ check: "context", subjectPattern: "claude::*", endsAt: t0 + hour, createdBy: "console", now: t0 });
    const r = cycle([finding("claude::a"), finding("claude::b"), finding("codex::c"), finding("claude::d", { check: "transcript" })], t0);
    expect(r.outcomes.map((o) => `${o.alert.check}/${o.alert.subject}:${o.change}`)).toEqual([
      "context/claude::a:silenced",
      "context/claude::b:silenced",
      "context/codex::c:fired",
      "transcript/claude::d:fired",
    ]);
    expect(stores.silences.expire(s.id, t0 + minute)).toBe(true);
    expect(stores.silences.expire(s.id, t0 + minute)).toBe(false);
    expect(
      cycle([finding("claude::a"), finding("claude::b"), finding("codex::c"), finding("claude::d", { check: "transcript" })], t0 + 2 * minute).enqueued,
    ).toBe(2);
    expect(() => stores.silences.add({ endsAt: t0 + hour, createdBy: "x", now: t0 })).toThrow(/fingerprint or a check/);
    expect(() => stores.silences.add({ check: "context", endsAt: t0, createdBy: "x", now: t0 })).toThrow(/end after/);
  });

  it("groups many new alerts of one check into one message per check", () => {
    const { stores, cycle } = setup({ groupAbove: 5 }, ["console", "telegram"]);
    const many = Array.from({ length: 7 }, (_, i) => finding(`claude::s${i}`));
    const r = cycle([...many, finding("log:/x", { check: "logs" })], t0);
    expect(r.outcomes.filter((o) => o.change === "fired")).toHaveLength(8);
    expect(kinds(stores)).toEqual(["console:group", "telegram:group", "console:fire", "telegram:fire"]);
    const group = rows(stores)[0]!;
    expect(group.alertIds).toHaveLength(7);
    expect(group.view.title).toBe("7 context alerts");
    expect(viewToText(group.view)).toContain("[warning] session claude s3 context at 82% — 164k tokens (82%)");
    // Their reminders come as one message too.
    const later = cycle([...many, finding("log:/x", { check: "logs" })], t0 + 4 * hour);
    expect(later.enqueued).toBe(4);
    expect(
      rows(stores)
        .slice(4)
        .map((r) => `${r.transport}:${r.kind}:${r.alertIds.length}`),
    ).toEqual(["console:group:7", "telegram:group:7", "console:repeat:1", "telegram:repeat:1"]);
    expect(rows(stores)[4]!.view.title).toBe("7 context alerts still firing (reminder)");
    // Exactly groupAbove new alerts are still sent one by one.
    const five = Array.from({ length: 5 }, (_, i) => finding(`codex::t${i}`, { check: "quota" }));
    expect(cycle([...many, finding("log:/x", { check: "logs" }), ...five], t0 + 4 * hour + minute, {}).enqueued).toBe(10);
  });

  it("offers the buttons that apply, each ≤ 64 bytes and decodable", () => {
    const { stores, cycle } = setup({}, ["console"]);
    cycle([finding("gateway", { check: "gateway", severity: "critical", proposedAction: { kind: "restart_gateway" } }), finding("s1")], t0);
    const [gw, s1] = stores.alerts.open();
    const buttons = alertButtons(gw!).flat();
    expect(buttons.map((b) => [b.label, b.data])).toEqual([
      ["Request restart", `req:${gw!.id}`],
      ["Ack", `ack:${gw!.id}`],
      ["Silence 1h", `sil:${gw!.id}:1h`],
      ["Silence 24h", `sil:${gw!.id}:24h`],
    ]);
    expect(
      alertButtons(s1!)
        .flat()
        .map((b) => b.label),
    ).toEqual(["Ack", "Silence 1h", "Silence 24h"]);
    for (const b of buttons) expect(Buffer.byteLength(b.data)).toBeLessThanOrEqual(64);
    expect(parseAlertButton(`sil:${gw!.id}:24h`)).toEqual({ kind: "silence", alertId: gw!.id, durationMs: 86_400_000, label: "24h" });
    expect(parseAlertButton("ack:12")).toEqual({ kind: "ack", alertId: 12 });
    expect(parseAlertButton("req:12")).toEqual({ kind: "request", alertId: 12 });
    for (const bad of ["sil:12:2h", "ack:12:1h", "ack:x", "act:1:abc", "ack:1;rm"]) expect(parseAlertButton(bad)).toBeUndefined();
    stores.alerts.ack(s1!.id, "console", t0);
    expect(
      alertButtons(stores.alerts.get(s1!.id)!)
        .flat()
        .map((b) => b.label),
      "no Ack once acked",
    ).toEqual(["Silence 1h", "Silence 24h"]);
    expect(alertView(stores.alerts.get(s1!.id)!, "fire", t0).sections[0]!.lines).toContain("Acknowledged by console");
  });
});
