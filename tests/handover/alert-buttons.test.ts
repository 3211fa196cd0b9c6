import { cpSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { blankRecord } from "../../src/agents/session.ts";
import { alertButtons } from "../../src/alerts/format.ts";
import { CoreInbound } from "../../src/chat/dispatch.ts";
import { Manager } from "../../src/core/manager.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { Caller } from "../../src/messages/transport.ts";
import { viewToText } from "../../src/messages/view.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { rig } from "../core/setup.ts";

const fixture = join(
  import.meta.dirname,
  "../fixtures/real/codex/.codex/sessions/2026/11/23/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl",
);
const SID = "01a209f7-4642-7fd2-9938-e1c95f5d15ec";
const admin: Caller = { transport: "telegram", userId: "1", allowed: true, admin: true };
const member: Caller = { transport: "telegram", userId: "2", allowed: true, admin: false };

const open: { manager: Manager; rt: { close(): void } }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.manager.stop();
    o.rt.close();
  }
});

/** A Codex session filling up, in a folder that is (or is not) a configured workspace, and its context alert. */
function setup(workspace: boolean) {
  const base = rig();
  const project = join(base.dir, "demo-app");
  mkdirSync(project);
  base.rt.close();
  const r = rig({
    handover: { memoryDir: join(base.dir, "mem") },
    runner: {
      workspaces: workspace ? { demo: project } : {},
      // The worker itself is not under test here: a CLI that ends at once.
      drivers: { codex: { command: [process.execPath, "-e", "0"], interface: "headless" } },
    },
  });
  const manager = new Manager(r.rt, { probeIntervalMs: 50 });
  open.push({ manager, rt: r.rt });
  const path = join(r.dir, "rollout.jsonl");
  cpSync(fixture, path);
  const s = { ...blankRecord("codex", null, SID, 1), path, project, contextTokens: 245_000, contextWindow: 258_400 };
  r.rt.sessions.upsert(s);
  const finding: Finding = {
    check: "context",
    subject: `session:${s.uid}`,
    severity: "critical",
    summary: "demo-app: context 95%",
    component: `session ${s.uid}`,
    action: "Compact it or start a fresh session",
    details: { uid: s.uid, tokens: 245_000, window: 258_400 },
  };
  const now = Date.now();
  const alert = new AlertStore(r.rt.db).insert({
    fingerprint: "c0ffee",
    check: "context",
    subject: finding.subject,
    severity: "critical",
    status: "firing",
    summary: finding.summary,
    report: finding,
    firstSeen: now,
    lastSeen: now,
    firedAt: now,
    resolvedAt: null,
    lastNotifiedAt: null,
    notifiedSeverity: null,
    ackedBy: null,
    ackedAt: null,
    missed: 0,
  });
  return { r, manager, inbound: new CoreInbound(manager), alert, memoryDir: join(base.dir, "mem") };
}

describe("a context alert's memory buttons", () => {
  it("offers Save memory and Continue as a worker; Save memory writes the memory and says how to continue", async () => {
    const t = setup(false);
    const labels = alertButtons(t.alert)
      .flat()
      .map((b) => `${b.label}=${b.data}`);
    expect(labels).toContain(`Save memory=mem:${t.alert.id}`);
    expect(labels).toContain(`Continue as a worker=cw:${t.alert.id}`);
    const saved = await t.inbound.button(admin, `mem:${t.alert.id}`, null);
    expect(viewToText(saved.reply!)).toContain(`codex resume ${SID}`);
    expect(existsSync(join(t.memoryDir, `codex-${SID}.json`))).toBe(true);
    // The session's folder is not a workspace: no worker can run there, and the press says why.
    const cont = await t.inbound.button(admin, `cw:${t.alert.id}`, null);
    expect(cont.toast).toMatch(/is not a configured workspace/);
    expect(t.manager.workers.store.list()).toEqual([]);
  });

  it("Continue as a worker: an admin starts a worker in the session's workspace with the memory as its first prompt; a member's press asks the admins", async () => {
    const t = setup(true);
    const asked = await t.inbound.button(member, `cw:${t.alert.id}`, null);
    expect(asked.toast).toMatch(/Asked the admins to approve \(request #\d+\)/);
    expect(t.manager.workers.store.list()).toEqual([]);
    const started = await t.inbound.button(admin, `cw:${t.alert.id}`, null);
    expect(viewToText(started.reply!)).toMatch(/^Started w1: continues codex 01a209f7-464/);
    const w = t.manager.workers.store.get("w1")!;
    expect([w.agent, w.workspace]).toEqual(["codex", "demo"]);
    expect(w.prompt).toContain("You are continuing a task from a previous codex session");
    expect(w.prompt).toContain("Hello, summarize this project");
    expect(existsSync(join(t.memoryDir, `codex-${SID}.json`))).toBe(true);
  });
});
