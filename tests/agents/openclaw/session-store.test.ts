import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { backupPathFor, jsonStorePath, removeJsonStoreEntries, SessionStoreEditError } from "../../../src/agents/openclaw/session-store.ts";
import { CoreInbound } from "../../../src/chat/dispatch.ts";
import { approvalData } from "../../../src/core/action-views.ts";
import { Manager } from "../../../src/core/manager.ts";
import type { Finding } from "../../../src/messages/finding.ts";
import type { Caller } from "../../../src/messages/transport.ts";
import { viewToText } from "../../../src/messages/view.ts";
import { AlertStore } from "../../../src/store/alerts.ts";
import { rig, session } from "../../core/setup.ts";
import { tempDir } from "../../helpers/tmp.ts";

const admin: Caller = { transport: "console", userId: "me", allowed: true, admin: true };

const entry = (sessionId: string, sessionFile: string | null) => ({
  sessionId,
  updatedAt: 1_788_501_234_567,
  chatType: "direct",
  channel: "telegram",
  totalTokens: 96_500,
  contextTokens: 200_000,
  sessionFile,
});

/** An OpenClaw file-era agent folder: sessions.json + transcripts, in the real shapes (FORMATS.md §5). */
function openclawStore(root: string) {
  const dir = join(root, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  const store = {
    "agent:main:main": entry("3f1d9c2e-aaaa-4bbb-8ccc-000000000001", "3f1d9c2e-aaaa-4bbb-8ccc-000000000001.jsonl"),
    "agent:main:telegram:dm:4411": entry("5e0e0e0e-aaaa-4bbb-8ccc-000000000002", null),
    "agent:main:telegram:group:-100123": entry("6f0f0f0f-aaaa-4bbb-8ccc-000000000003", "gone.jsonl"),
  };
  writeFileSync(join(dir, "sessions.json"), JSON.stringify(store, null, 2));
  const transcript = join(dir, "3f1d9c2e-aaaa-4bbb-8ccc-000000000001.jsonl");
  writeFileSync(
    transcript,
    `${JSON.stringify({ type: "session", version: 3, id: "3f1d9c2e-aaaa-4bbb-8ccc-000000000001", timestamp: "2026-09-02T07:40:00.000Z", cwd: "/home/dev" })}\n`,
  );
  return { dir, storePath: join(dir, "sessions.json"), transcript, store };
}

describe("removeJsonStoreEntries", () => {
  it("backs up first, removes only the given keys with an atomic write, and leaves transcripts", () => {
    const { dir, storePath, transcript } = openclawStore(tempDir());
    const before = readFileSync(storePath, "utf8");
    const now = new Date(2026, 10, 23, 20, 5, 9);
    const r = removeJsonStoreEntries(storePath, ["agent:main:main", "agent:main:nope"], now);
    expect(r.backupPath).toBe(join(dir, "sessions.json.bak-20261123-200509"));
    expect(readFileSync(r.backupPath, "utf8")).toBe(before);
    expect(r.removed).toEqual(["agent:main:main"]);
    expect(r.missing).toEqual(["agent:main:nope"]);
    const after = JSON.parse(readFileSync(storePath, "utf8"));
    expect(Object.keys(after)).toEqual(["agent:main:telegram:dm:4411", "agent:main:telegram:group:-100123"]);
    expect(existsSync(transcript)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // The same second again: the backup gets a new name instead of overwriting the first.
    expect(backupPathFor(storePath, now)).toBe(`${r.backupPath}-2`);
  });

  it("refuses a store that is not valid JSON and changes nothing", () => {
    const dir = tempDir();
    const path = join(dir, "sessions.json");
    writeFileSync(path, '{"agent:main:main": {');
    expect(() => removeJsonStoreEntries(path, ["agent:main:main"])).toThrow(SessionStoreEditError);
    expect(() => removeJsonStoreEntries(path, ["agent:main:main"])).toThrow(/not valid JSON/);
    expect(readFileSync(path, "utf8")).toBe('{"agent:main:main": {');
    expect(readdirSync(dir)).toEqual(["sessions.json"]);
    expect(() => removeJsonStoreEntries(join(dir, "missing.json"), ["x"])).toThrow(/not readable \(ENOENT\)/);
  });
});

describe("jsonStorePath (where a file-era session's entry lives)", () => {
  it("prefers the store the scan recorded, then the one beside the transcript, then the agent's folder under the root; null when none exists", () => {
    const root = tempDir();
    const agentStore = join(root, "agents", "ops", "sessions", "sessions.json");
    mkdirSync(join(root, "agents", "ops", "sessions"), { recursive: true });
    writeFileSync(agentStore, "{}");
    const elsewhere = join(tempDir(), "sessions.json");
    writeFileSync(elsewhere, "{}");
    const beside = join(tempDir(), "t.jsonl");
    writeFileSync(join(beside, "..", "sessions.json"), "{}");
    const s = (extra: Record<string, unknown>, path: string | null, agentId: string | null) => ({ extra, path, agentId });
    expect(jsonStorePath(root, s({ storePath: elsewhere }, beside, "ops"))).toBe(elsewhere);
    expect(jsonStorePath(root, s({ storePath: join(root, "missing.json") }, beside, "ops"))).toBe(join(beside, "..", "sessions.json"));
    expect(jsonStorePath(root, s({}, null, "ops"))).toBe(agentStore);
    expect(jsonStorePath(root, s({}, null, null))).toBeNull(); // agent "main" has no store here
  });
});

describe("reset and cleanup through the approval workflow", () => {
  function setup(config: Record<string, unknown> = {}) {
    const r = rig(config);
    const oc = openclawStore(r.rt.config.sources.openclaw.root);
    const [main, dm, group] = Object.entries(oc.store).map(([key, e]) =>
      session({
        platform: "openclaw",
        sessionId: e.sessionId,
        sessionKey: key,
        path: e.sessionFile ? join(oc.dir, e.sessionFile) : null,
        extra: {
          storage: "json",
          sessionFile: e.sessionFile,
          transcriptProblem: e.sessionFile === null ? "null-path" : e.sessionFile === "gone.jsonl" ? "missing-file" : null,
        },
      }),
    );
    for (const s of [main!, dm!, group!]) r.rt.sessions.upsert(s);
    const manager = new Manager(r.rt, { probeIntervalMs: 50 });
    return { ...r, ...oc, manager, inbound: new CoreInbound(manager), main: main!, dm: dm!, group: group! };
  }
  const open: { manager: Manager; rt: { close(): void } }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.manager.stop();
      o.rt.close();
    }
  });

  it("/reset_session edits sessions.json after approval: entry gone, backup present, transcript kept", async () => {
    const t = setup();
    open.push(t);
    const view = await t.inbound.command(admin, "reset_session", ["3f1d9c2e", "context", "full"]);
    expect(viewToText(view)).toContain(`edit: ${t.storePath}`);
    expect(viewToText(view)).toContain("remove entry agent:main:main");
    expect(JSON.parse(readFileSync(t.storePath, "utf8"))["agent:main:main"]).toBeDefined();
    const a = t.manager.actionStore.get(1)!;
    expect(a).toMatchObject({ kind: "reset_session", target: t.main.uid, reason: "context full" });
    // A second request while one is open is refused, not queued twice.
    expect(viewToText(await t.inbound.command(admin, "reset_session", ["3f1d9c2e"]))).toMatch(/already pending \(a1\)/);
    await t.inbound.button(admin, approvalData(a, true), null);
    await t.manager.actions.idle();
    const done = t.manager.actionStore.get(1)!;
    // The memory is saved before the entry goes (issue 16): a file the operators' tools read, and a row /memory shows.
    const memoryFile = join(t.rt.config.handover.memoryDir, `openclaw-${t.main.sessionId}.json`);
    expect(done).toMatchObject({ status: "succeeded", verifyNote: `memory saved to ${memoryFile}; entries gone, backup present` });
    expect(JSON.parse(readFileSync(memoryFile, "utf8"))).toMatchObject({ platform: "openclaw", sessionId: t.main.sessionId });
    expect(JSON.parse(readFileSync(t.storePath, "utf8"))["agent:main:main"]).toBeUndefined();
    expect(readdirSync(t.dir).some((f) => /^sessions\.json\.bak-\d{8}-\d{6}$/.test(f))).toBe(true);
    expect(existsSync(t.transcript)).toBe(true);
  });

  it("a reset approved after the entry already went changes nothing and says so", async () => {
    const t = setup();
    open.push(t);
    await t.inbound.command(admin, "reset_session", ["3f1d9c2e"]);
    const doc = JSON.parse(readFileSync(t.storePath, "utf8"));
    delete doc["agent:main:main"];
    writeFileSync(t.storePath, JSON.stringify(doc));
    const before = readFileSync(t.storePath, "utf8");
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, true), null);
    await t.manager.actions.idle();
    expect(t.manager.actionStore.get(1)!).toMatchObject({
      status: "succeeded",
      verifyNote: expect.stringMatching(/^memory saved to .*; the entries were already gone; nothing was changed$/),
    });
    expect(readFileSync(t.storePath, "utf8")).toBe(before);
  });

  it("refuses sessions in OpenClaw's SQLite store and sessions of other agents", async () => {
    const t = setup();
    open.push(t);
    t.rt.sessions.upsert({ ...t.main, extra: { storage: "sqlite" } });
    expect(viewToText(await t.inbound.command(admin, "reset_session", [t.main.sessionId]))).toMatch(/SQLite store, which asm never writes/);
    t.rt.sessions.upsert(session({ platform: "claude", sessionId: "99999999-0000-4000-8000-000000000000" }));
    expect(viewToText(await t.inbound.command(admin, "reset_session", ["99999999"]))).toMatch(/only OpenClaw sessions can be reset/);
    expect(t.manager.actionStore.recent()).toEqual([]);
  });

  it("with an argv configured, only the validated session key reaches the command", async () => {
    const dir = tempDir();
    const marker = join(dir, "argv.txt");
    const t = setup({
      actions: {
        resetSession: { argv: [process.execPath, "-e", "require('fs').appendFileSync(process.argv[1], process.argv[2] + '\\n')", marker, "{target}"] },
      },
    });
    open.push(t);
    await t.inbound.command(admin, "reset_session", ["6f0f0f0f", "$(rm -rf ~)"]);
    const a = t.manager.actionStore.get(1)!;
    expect(a.reason).toBe("$(rm -rf ~)");
    await t.inbound.button(admin, approvalData(a, true), null);
    await t.manager.actions.idle();
    expect(readFileSync(marker, "utf8")).toBe("agent:main:telegram:group:-100123\n");
    expect(t.manager.actionStore.get(1)!.status).toBe("succeeded");
  });

  it("/cleanup lists corrupted entries and removes them from sessions.json after approval", async () => {
    const t = setup();
    open.push(t);
    const view = viewToText(await t.inbound.command(admin, "cleanup", []));
    expect(view).toContain("[null-path]");
    expect(view).toContain("[missing-file]");
    expect(view).toContain("remove entry agent:main:telegram:dm:4411");
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, true), null);
    await t.manager.actions.idle();
    expect(t.manager.actionStore.get(1)!.status).toBe("succeeded");
    expect(Object.keys(JSON.parse(readFileSync(t.storePath, "utf8")))).toEqual(["agent:main:main"]);
  });

  it("/cleanup also offers stray sessions the duplicates check reported, and a proposal removes just that one", async () => {
    const t = setup();
    open.push(t);
    const alerts = new AlertStore(t.rt.db);
    const stray: Finding = {
      check: "duplicates",
      subject: `session:${t.main.uid}`,
      severity: "warning",
      summary: "stray session: telegram:dm:4411 lives in agent main, but bindings route it to work",
      component: `session ${t.main.uid}`,
      action: "Back up and remove the stray session",
      proposedAction: { kind: "cleanup", target: t.main.uid },
    };
    const now = Date.now();
    alerts.insert({
      fingerprint: "feedfacefeedface",
      check: "duplicates",
      subject: stray.subject,
      severity: "warning",
      status: "firing",
      summary: stray.summary,
      report: stray,
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
    const view = viewToText(await t.inbound.command(admin, "cleanup", []));
    expect(view).toContain("[stray: stray session: telegram:dm:4411");
    expect(view).toContain("remove entry agent:main:main");
    expect(viewToText(await t.inbound.command(admin, "cleanup", []))).toMatch(/already pending \(a1\)/);
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, false), null);

    const feed = { sent: [] as string[] };
    t.manager.feed.attach([
      {
        name: "console",
        start: async () => {},
        stop: async () => {},
        send: async (v) => {
          feed.sent.push(viewToText(v));
          return { transport: "console", chatId: "c", messageId: String(feed.sent.length) };
        },
        edit: async () => {},
      },
    ]);
    const [proposed] = await t.manager.handleProposedActions([stray]);
    expect(proposed).toMatchObject({ kind: "cleanup", target: t.main.uid, status: "pending" });
    expect(feed.sent[0]).toContain("remove entry agent:main:main");
    expect(feed.sent[0]).not.toContain("agent:main:telegram:dm:4411");
    await t.inbound.button(admin, approvalData(proposed!, true), null);
    await t.manager.actions.idle();
    expect(Object.keys(JSON.parse(readFileSync(t.storePath, "utf8")))).toEqual(["agent:main:telegram:dm:4411", "agent:main:telegram:group:-100123"]);
  });

  it("a cleanup argv that names an entry runs once per entry with its validated key", async () => {
    const dir = tempDir();
    const marker = join(dir, "argv.txt");
    const t = setup({
      actions: { cleanup: { argv: [process.execPath, "-e", "require('fs').appendFileSync(process.argv[1], process.argv[2] + '\\n')", marker, "{target}"] } },
    });
    open.push(t);
    await t.inbound.command(admin, "cleanup", []);
    await t.inbound.button(admin, approvalData(t.manager.actionStore.get(1)!, true), null);
    await t.manager.actions.idle();
    expect(t.manager.actionStore.get(1)!.status).toBe("succeeded");
    expect(readFileSync(marker, "utf8").split("\n").filter(Boolean).sort()).toEqual(["agent:main:telegram:dm:4411", "agent:main:telegram:group:-100123"]);
  });
});
