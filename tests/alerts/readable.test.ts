import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { alertView, groupView } from "../../src/alerts/format.ts";
import { readable } from "../../src/alerts/readable.ts";
import { renderSingle } from "../../src/chat/telegram/render.ts";
import type { Finding } from "../../src/messages/finding.ts";
import { viewToText } from "../../src/messages/view.ts";
import type { AlertRecord } from "../../src/store/alerts.ts";
import { tooWide } from "../helpers/phone.ts";

const now = Date.UTC(2026, 11, 5, 3, 0, 0);
const home = homedir();
const uid = "gemini::cfa17fa0-5c2e-4d1a-9f00-123456789abc";
const report: Finding = {
  check: "transcript",
  subject: `session:${uid}`,
  severity: "critical",
  summary: "gemini cfa17fa0-5c2e-4d1a-9f00-123456789abc: its transcript file is missing",
  component: `session ${uid}`,
  value: `${home}/.gemini/tmp/abc/chats/session-cfa17fa0-5c2e-4d1a-9f00-123456789abc.json`,
  threshold: "a transcript file that exists",
  action: "The session store entry is broken: back it up, then remove the entry or reset the session",
};
const alert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 12,
  fingerprint: "aaaa1111bbbb2222",
  check: report.check,
  subject: report.subject,
  severity: "critical",
  status: "firing",
  summary: report.summary,
  report,
  firstSeen: now - 600_000,
  lastSeen: now,
  firedAt: now - 600_000,
  resolvedAt: null,
  lastNotifiedAt: null,
  notifiedSeverity: null,
  ackedBy: null,
  ackedAt: null,
  missed: 0,
  ...over,
});

describe("alert messages read short (issue 18 item 12)", () => {
  it("one severity mark (the transport's), short session ids, ~ for home; a path keeps its file name", () => {
    const view = alertView(alert(), "fire", now);
    const html = renderSingle(view).html;
    expect(html.match(/🔴/g)).toHaveLength(1);
    expect(html.startsWith("🔴 <b>CRITICAL · gemini cfa17fa0: its transcript file is missing</b>")).toBe(true);
    const text = viewToText(view);
    expect(text).toContain("Component: session gemini cfa17fa0\n");
    expect(text).toContain("Current value: ~/.gemini/tmp/abc/chats/session-cfa17fa0-5c2e-4d1a-9f00-123456789abc.json");
    expect(text).not.toContain("gemini::");
    const resolved = renderSingle(alertView(alert({ status: "resolved", resolvedAt: now }), "resolve", now)).html;
    expect(resolved.match(/✅/g)).toHaveLength(1);
    const group = renderSingle(groupView([alert(), alert({ id: 13, severity: "warning" })], now)).html;
    expect(group.startsWith("🔴 <b>2 transcript alerts</b>")).toBe(true);
    // On a phone: the report's sentences wrap; no word (an id, a path under ~) is wider than the screen.
    for (const v of [view, groupView([alert(), alert({ id: 13 })], now)])
      expect(tooWide(v, { wrap: true, allow: (l) => l.includes("~/.gemini/") })).toEqual([]);
  });

  it("readable: uids of every platform, bare UUIDs, home only at a path boundary", () => {
    expect(readable("session openclaw:main:3f1d9c2e-aaaa-4bbb-8ccc-000000000001 and claude::7d3f2a10-1111-4c2e-9a55-0123456789ab", "/home/ada")).toBe(
      "session openclaw/main 3f1d9c2e and claude 7d3f2a10",
    );
    expect(readable("log /home/ada/x.log, not /home/adam/y.log; (/home/ada)", "/home/ada")).toBe("log ~/x.log, not /home/adam/y.log; (~)");
  });
});
