import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Platform } from "../../src/agents/session.ts";
import {
  type AgentWorld,
  agentWorld,
  type FakeServer,
  fakeLog,
  type InProcess,
  inProcess,
  installedVersion,
  parseJsonOut,
  removeWorld,
  runAsm,
  type SessionJson,
  scrubProcessEnv,
  show,
  skipNotice,
  startFake,
  uidOf,
  until,
  type WorkerJson,
} from "./harness.ts";

export interface SuiteOptions {
  /** Longest a plain turn may take (OpenClaw's `agent` takes ~25 s on a quiet machine). */
  turnMs: number;
  /** The 429 scenario; false to leave it out (with why), e.g. OpenClaw retries 9 times over ~4 minutes. */
  fail429: { ms: number } | { skip: string };
  fail401Ms: number;
  /** Run the interrupt scenario (HANG, then the runner's interrupt). */
  interrupt: boolean;
  /** Something the CLI needs besides the fake (OpenClaw: its Gateway); returns how to stop it. */
  before?: (w: AgentWorld) => Promise<() => Promise<void>>;
  /** Claude: permission prompts through the control protocol, answered through the runner. */
  permissions?: boolean;
}

/**
 * The end-to-end scenarios of one agent against its real CLI: `asm spawn --wait --json` as a child process,
 * the same session found by `asm scan --once --json`, then (in this process, through the Runner API) a
 * resume, the 429 and 401 failures, the interrupt of a hanging turn and, for Claude, a permission prompt
 * allowed and one denied.
 */
export function realAgentSuite(agent: Platform, opts: SuiteOptions): void {
  // Only under vitest.real-agents.config.ts (which sets ASM_REAL_AGENTS), never by accident in `npm test`.
  const skip = !process.env.ASM_REAL_AGENTS || skipNotice(agent);
  describe.skipIf(skip)(`${agent} ${installedVersion(agent) ?? ""} (real CLI, fake model server)`, () => {
    let fake: FakeServer;
    let w: AgentWorld;
    let ip: InProcess;
    let first: WorkerJson | undefined;
    let stopBefore: (() => Promise<void>) | undefined;
    let restoreEnv: (() => void) | undefined;

    beforeAll(async () => {
      restoreEnv = scrubProcessEnv();
      fake = await startFake(mkdtempSync(join(tmpdir(), `asm-real-fake-${agent}-`)));
      w = agentWorld(agent, fake.url);
      if (opts.before) stopBefore = await opts.before(w);
    }, 180_000);
    afterAll(async () => {
      await ip?.close();
      await stopBefore?.();
      await fake?.stop();
      if (fake) rmSync(join(fake.log, ".."), { recursive: true, force: true });
      removeWorld(w);
      restoreEnv?.();
    });

    const runner = () => {
      ip ??= inProcess(w);
      return ip;
    };

    it("asm spawn --wait --json (a child process) runs the CLI to completed with its session id and tokens", { timeout: opts.turnMs + 30_000 }, async () => {
      const r = await runAsm(w, ["spawn", "--wait", "--json", agent, "app", "Hello, summarize this project"], opts.turnMs + 20_000);
      const j = parseJsonOut<WorkerJson>(r);
      first = j;
      expect(j.status, `${r.stdout}\n${r.stderr}`).toBe("completed");
      expect(r.code).toBe(0);
      // A CLI that exits when its input ends says 0; one that serves until stopped (opencode serve) ends by our SIGTERM.
      expect(j.exitCode === 0 || (j.exitCode === null && j.signal === "SIGTERM"), `exit ${j.exitCode} ${j.signal}`).toBe(true);
      expect(j.sessionId).toBeTruthy();
      expect(j.turns).toBe(1);
      expect(j.tokens.input + j.tokens.cacheRead + j.tokens.cacheWrite).toBeGreaterThan(0);
      expect(j.tokens.output).toBeGreaterThan(0);
      expect(j.output).toMatch(/Fake reply/);
      expect(j.errorClass).toBeNull();
    });

    it("asm scan --once --json finds that session under the worker's own session uid", { timeout: 60_000 }, async () => {
      expect(first, "needs the spawn above").toBeDefined();
      const row = runner().store.get(first!.id)!;
      expect(row.sessionUid).toBeTruthy();
      const r = await runAsm(w, ["scan", "--once", "--json"], 50_000);
      const sessions = parseJsonOut<SessionJson[]>(r);
      const same = sessions.filter((s) => s.sessionId === first!.sessionId);
      expect(same.length, `sessions found: ${JSON.stringify(sessions.map((s) => [uidOf(s), s.path]))}`).toBeGreaterThan(0);
      expect(same.map(uidOf)).toContain(row.sessionUid);
    });

    it("resume through the Runner: a new worker linked to the first continues the same agent session", { timeout: opts.turnMs + 30_000 }, async () => {
      expect(first, "needs the spawn above").toBeDefined();
      const { runner: rn, store } = runner();
      const b = rn.resume(first!.id, "Hello again, do you remember what I asked first?", "test");
      const done = await rn.waitFor(b.id);
      expect(done.status, show(done)).toBe("completed");
      expect(done.resumedFrom).toBe(first!.id);
      expect(done.sessionId).toBe(first!.sessionId);
      expect(done.turns).toBe(1);
      expect(done.outputTail).toMatch(/Fake reply/);
      expect(store.get(first!.id)!.status).toBe("completed");
    });

    if ("skip" in opts.fail429) {
      it.skip(`FAIL429 (${opts.fail429.skip})`, () => {});
    } else {
      const ms = opts.fail429.ms;
      it("a 429 from the model fails the worker as rate_limit", { timeout: ms + 30_000 }, async () => {
        const { runner: rn } = runner();
        const x = rn.spawn({ agent, workspace: "app", prompt: "FAIL429 this request is rate limited" });
        const done = await rn.waitFor(x.id);
        expect(done.status, show(done)).toBe("failed");
        expect(done.errorClass, show(done)).toBe("rate_limit");
      });
    }

    if (opts.interrupt) {
      it("interrupting a hanging turn ends the worker as interrupted", { timeout: opts.turnMs + 60_000 }, async () => {
        const { runner: rn, store } = runner();
        const hangs = fakeLog(fake).filter((l) => l.hang).length;
        const x = rn.spawn({ agent, workspace: "app", prompt: "HANG write a long answer slowly" });
        await until(() => fakeLog(fake).filter((l) => l.hang).length > hangs || store.get(x.id)!.status === "failed", opts.turnMs, "the model call to hang");
        expect(store.get(x.id)!.status, show(store.get(x.id))).not.toBe("failed");
        await new Promise((r) => setTimeout(r, 1500));
        const t0 = Date.now();
        rn.interrupt(x.id);
        const done = await rn.waitFor(x.id);
        expect(done.status, show(done)).toBe("interrupted");
        // Stopped by the CLI itself (protocol interrupt or SIGINT), not only by the grace SIGKILL.
        expect(Date.now() - t0, show(done)).toBeLessThan(9_500);
      });
    }

    if (opts.permissions) {
      const toolFile = () => join(w.workspace, "tool-ran.txt");
      it("a permission prompt (USE_SHELL) allowed through runner.answer: the tool runs and the turn completes", { timeout: opts.turnMs + 30_000 }, async () => {
        const { runner: rn, asks, requests, store } = runner();
        rmSync(toolFile(), { force: true });
        const before = asks.length;
        const x = rn.spawn({ agent, workspace: "app", prompt: "USE_SHELL: write a file, then show the README" });
        await until(() => asks.length > before || store.get(x.id)!.status === "failed", opts.turnMs, "a permission request");
        const r = asks.at(-1)!;
        expect(r.workerId).toBe(x.id);
        expect(r.kind).toBe("permission");
        expect(r.payload.tool).toBe("Bash");
        expect(String(r.payload.detail)).toContain("echo tool-ran");
        expect(store.get(x.id)!.status).toBe("waiting-for-input");
        expect(store.get(x.id)!.waitingReason).toBe("permission");
        expect(requests.decide(r.id, r.nonce, "allowed", "test", Date.now())).toBe(true);
        expect(rn.answer(r, true)).toBe(true);
        const done = await rn.waitFor(x.id);
        expect(done.status, show(done)).toBe("completed");
        expect(done.denied).toEqual([]);
        expect(existsSync(toolFile())).toBe(true);
      });

      it("a permission prompt denied through runner.answer: the tool does not run, the denial is reported", { timeout: opts.turnMs + 30_000 }, async () => {
        const { runner: rn, asks, requests, store } = runner();
        rmSync(toolFile(), { force: true });
        const before = asks.length;
        const x = rn.spawn({ agent, workspace: "app", prompt: "FORCE_SHELL: write a file, then show the README" });
        await until(() => asks.length > before || store.get(x.id)!.status === "failed", opts.turnMs, "a permission request");
        const r = asks.at(-1)!;
        expect(r.payload.tool).toBe("Bash");
        expect(requests.decide(r.id, r.nonce, "denied", "test", Date.now())).toBe(true);
        expect(rn.answer(r, false, "Denied from the real-agents test")).toBe(true);
        const done = await rn.waitFor(x.id);
        expect(done.status, show(done)).toBe("completed");
        expect(done.denied).toContain("Bash");
        expect(existsSync(toolFile())).toBe(false);
      });
    }

    // Last: OpenClaw's Gateway disables the provider key for about a minute after a 401.
    it("a 401 from the model fails the worker as auth", { timeout: opts.fail401Ms + 30_000 }, async () => {
      const { runner: rn } = runner();
      const x = rn.spawn({ agent, workspace: "app", prompt: "FAIL401 this request has a bad API key" });
      const done = await rn.waitFor(x.id);
      expect(done.status, show(done)).toBe("failed");
      expect(done.errorClass, show(done)).toBe("auth");
    });
  });
}
