/**
 * The opt-in end-to-end suite against the REAL agent CLIs (`npm run test:real-agents`; never part of
 * `npm test`, never in CI). Each CLI is the exact release the fixture generators record
 * (tests/fixtures/generate/generate-streams.sh), installed into /tmp/agentcli (`AGENTCLI` overrides) by
 * `bash tests/real-agents/setup.sh`, and talks only to tests/fixtures/generate/fake-model-server.mjs on
 * 127.0.0.1 from a throwaway HOME configured the way the generator configures it. A CLI that is not
 * installed skips its tests with a message saying how to install it; it never fails them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import type { Driver } from "../../src/agents/driver.ts";
import { drivers } from "../../src/agents/drivers.ts";
import { geminiDriverFor } from "../../src/agents/gemini/driver.ts";
import { type Platform, sessionUid } from "../../src/agents/session.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import { Runner } from "../../src/runner/runner.ts";
import { openStore } from "../../src/store/db.ts";
import { type WorkerRequestRow, WorkerRequestStore, type WorkerRow, WorkerStore } from "../../src/store/workers.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../..");
const generate = join(repo, "tests/fixtures/generate");
export const asmBin = join(repo, "bin/asm.mjs");

/** Where setup.sh (and the fixture generators) install node and the CLIs. */
export const AGENTCLI = process.env.AGENTCLI || "/tmp/agentcli";
/** The node the CLIs were recorded with (OpenClaw needs ≥ 22; the others run on it as recorded). */
export const NODE24 = join(AGENTCLI, "node_modules/.bin/node");

/** The installed entry point of each CLI, and whether it is a node script (run with NODE24) or a native binary. */
const entries: Record<Platform, { path: string; node: boolean; pkg: string }> = {
  claude: { path: join(AGENTCLI, "claude/node_modules/.bin/claude"), node: false, pkg: "@anthropic-ai/claude-code" },
  codex: { path: join(AGENTCLI, "codex/node_modules/.bin/codex"), node: true, pkg: "@openai/codex" },
  gemini: { path: join(AGENTCLI, "gemini/node_modules/.bin/gemini"), node: true, pkg: "@google/gemini-cli" },
  opencode: { path: join(AGENTCLI, "opencode/node_modules/.bin/opencode"), node: false, pkg: "opencode-ai" },
  openclaw: { path: join(AGENTCLI, "openclaw/node_modules/.bin/openclaw"), node: true, pkg: "openclaw" },
};

/** The installed version of an agent's CLI package, or null. */
export function installedVersion(agent: Platform): string | null {
  const e = entries[agent];
  const pj = join(AGENTCLI, agent, "node_modules", e.pkg, "package.json");
  try {
    return (JSON.parse(readFileSync(pj, "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Null when the agent's CLI (and node 24 for node-script CLIs) is installed, else why it is not. */
export function missing(agent: Platform): string | null {
  const e = entries[agent];
  if (!existsSync(e.path)) return `${agent} CLI not installed at ${e.path}`;
  if (e.node && !existsSync(NODE24)) return `node 24 not installed at ${NODE24}`;
  return null;
}

/** Says, once per file, why an agent's tests are skipped and how to install what is missing. */
export function skipNotice(agent: Platform): boolean {
  const why = missing(agent);
  if (why) {
    console.warn(
      `[real-agents] skipping ${agent}: ${why}.\n  Install the recorded releases with: bash tests/real-agents/setup.sh ${agent}\n  (AGENTCLI=<dir> to install elsewhere)`,
    );
  }
  return why !== null;
}

/** The argv prefix `runner.drivers.<agent>.command` gets. */
export function commandOf(agent: Platform): string[] {
  const e = entries[agent];
  return e.node ? [NODE24, e.path] : [e.path];
}

// ── the fake model server ────────────────────────────────────────────────────

export interface FakeServer {
  url: string;
  log: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts tests/fixtures/generate/fake-model-server.mjs on a free loopback port, logging to `dir`; `env` tunes it (e.g. FAKE_SHELL_COMMAND). */
export async function startFake(dir: string, env: Record<string, string> = {}): Promise<FakeServer> {
  const log = join(dir, "fake-server.log");
  const child = spawn(process.execPath, [join(generate, "fake-model-server.mjs"), "--port", "0", "--log", log], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { PATH: process.env.PATH, HANG_MS: "120000", ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`fake model server did not start: ${seen}`)), 10_000);
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      const m = /LISTENING (\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`fake model server exited ${code}: ${seen}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    child,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}

// ── one agent's world: throwaway HOME, workspace, asm config and store ───────

export interface AgentWorld {
  agent: Platform;
  root: string;
  home: string;
  /** The workspace folder (`runner.workspaces.app`): a tiny project with a README. */
  workspace: string;
  configPath: string;
  dbPath: string;
  /** The asm config as written to `configPath`. */
  configInput: Record<string, unknown>;
  /** The environment every CLI run of this agent gets (also set as `runner.drivers.<agent>.env`). */
  env: Record<string, string>;
}

/** Environment variables of the developer's shell that would point a CLI elsewhere than the fake. */
const LEAKY = /^(ANTHROPIC|CLAUDE|CLAUDECODE|OPENAI|CODEX|GEMINI|GOOGLE|OPENCODE|OPENCLAW|ASM|TELEGRAM|DISCORD)(_|$)/;

/**
 * Vitest's own markers. OpenClaw reads `VITEST` (hundreds of places: it is tested with vitest) and runs in a
 * test mode under it: the in-process runner's OpenClaw runs printed nothing the parser could read while the
 * same runs from `asm spawn` worked. asm in production never has them.
 */
const TEST_RUNNER = /^(VITEST|VITEST_.*|TEST|NODE_ENV|TINYPOOL_.*)$/;

/**
 * Removes from this (forked test) process the variables that would leak into the CLIs the in-process runner
 * starts (the runner passes its environment on); returns how to put them back.
 */
export function scrubProcessEnv(): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) {
    if (LEAKY.test(k) || TEST_RUNNER.test(k)) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  }
  return () => Object.assign(process.env, saved);
}

function agentFiles(agent: Platform, home: string, workspace: string, fake: string): Record<string, string> {
  switch (agent) {
    case "claude":
      return {
        ANTHROPIC_BASE_URL: fake,
        ANTHROPIC_API_KEY: "test-key",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        // one retry, as the recordings: a 429/401 turn ends in seconds
        CLAUDE_CODE_MAX_RETRIES: "1",
      };
    case "codex":
      write(
        join(home, ".codex/config.toml"),
        `model = "gpt-5.5"
model_provider = "fake"

[model_providers.fake]
name = "Fake"
base_url = "${fake}/v1"
env_key = "FAKE_API_KEY"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 1
`,
      );
      return { FAKE_API_KEY: "test-key" };
    case "gemini":
      write(
        join(home, ".gemini/settings.json"),
        JSON.stringify(
          {
            security: { auth: { selectedType: "gemini-api-key" } },
            general: { maxAttempts: 2 },
            privacy: { usageStatisticsEnabled: false },
            telemetry: { enabled: false },
          },
          null,
          2,
        ),
      );
      return { GEMINI_API_KEY: "test-key", GOOGLE_GEMINI_BASE_URL: fake, GEMINI_CLI_TRUST_WORKSPACE: "true" };
    case "opencode":
      write(
        join(home, ".config/opencode/opencode.json"),
        JSON.stringify(
          {
            $schema: "https://opencode.ai/config.json",
            model: "fakeai/fake-coder-1",
            small_model: "fakeai/fake-coder-1",
            autoupdate: false,
            share: "disabled",
            provider: {
              fakeai: {
                npm: "@ai-sdk/openai-compatible",
                name: "Fake AI",
                options: { baseURL: `${fake}/v1`, apiKey: "test-key" },
                models: { "fake-coder-1": { name: "Fake Coder 1", limit: { context: 200000, output: 32000 } } },
              },
            },
          },
          null,
          2,
        ),
      );
      return { OPENCODE_DISABLE_MODELS_FETCH: "1", OPENCODE_DISABLE_AUTOUPDATE: "1", OPENCODE_DISABLE_SHARE: "1" };
    case "openclaw":
      write(
        join(home, ".openclaw/openclaw.json"),
        JSON.stringify(
          {
            agents: { defaults: { model: "fakeai/fake-coder-1", workspace } },
            models: {
              providers: {
                fakeai: {
                  baseUrl: `${fake}/v1`,
                  apiKey: "test-key",
                  api: "openai-completions",
                  models: [{ id: "fake-coder-1", name: "Fake Coder 1", contextWindow: 180000, maxTokens: 32000 }],
                },
              },
            },
          },
          null,
          2,
        ),
      );
      return {};
  }
}

function write(file: string, text: string) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * A fresh root with a throwaway HOME (configured for `agent` against the fake), the workspace
 * `<HOME>/work/demo-app`, and an asm config whose only workspace is `app` and whose driver for `agent` runs
 * the installed CLI with this world's environment. The sources read this HOME only.
 */
export function agentWorld(agent: Platform, fake: string, runner: Record<string, unknown> = {}): AgentWorld {
  const root = mkdtempSync(join(tmpdir(), `asm-real-${agent}-`));
  const home = join(root, "home");
  const workspace = join(home, "work/demo-app");
  mkdirSync(join(root, "tmp"), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, "README.md"), "# demo-app\n\nA tiny fixture project used to generate agent session files.\n");
  const env: Record<string, string> = {
    PATH: `${dirname(NODE24)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: home,
    TERM: "dumb",
    LANG: "C.UTF-8",
    TZ: "UTC",
    NO_COLOR: "1",
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_STATE_HOME: join(home, ".local/state"),
    XDG_CACHE_HOME: join(home, ".cache"),
    TMPDIR: join(root, "tmp"),
    ...agentFiles(agent, home, workspace, fake),
  };
  const dbPath = join(root, "asm.db");
  const configInput = {
    store: { path: dbPath },
    log: { level: "warn" },
    sources: {
      claude: { root: join(home, ".claude/projects") },
      codex: { root: join(home, ".codex") },
      gemini: { root: join(home, ".gemini") },
      opencode: { root: join(home, ".local/share/opencode") },
      openclaw: { root: join(home, ".openclaw") },
    },
    runner: {
      workspaces: { app: workspace },
      drivers: { [agent]: { command: commandOf(agent), env } },
      interruptGraceSeconds: 10,
      stallSeconds: 300,
      ...runner,
    },
  };
  const configPath = join(root, "asm.json");
  writeFileSync(configPath, JSON.stringify(configInput, null, 2));
  return { agent, root, home, workspace, configPath, dbPath, configInput, env };
}

export function removeWorld(w: AgentWorld | undefined): void {
  if (w && !process.env.ASM_REAL_KEEP) rmSync(w.root, { recursive: true, force: true });
}

// ── asm as a child process ───────────────────────────────────────────────────

export interface AsmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `asm <args>` as a real child process with ASM_CONFIG = the world's config and its HOME, nothing of ours. */
export function runAsm(w: AgentWorld, args: string[], timeoutMs = 300_000): Promise<AsmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [asmBin, ...args], {
      // PWD as a shell sets it for asm started in its own folder (not the workspace): the CLIs inherit it.
      env: { ...w.env, PWD: w.root, ASM_CONFIG: w.configPath, ASM_LOG_LEVEL: "warn" },
      cwd: w.root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`asm ${args.join(" ")} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON `asm spawn --wait --json` printed (its last JSON document), with a readable error otherwise. */
export function parseJsonOut<T>(r: AsmResult): T {
  const text = r.stdout.trim();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** What `asm spawn --json` prints (cli/workers.ts `workerJson`). */
export interface WorkerJson {
  id: string;
  agent: string;
  model: string | null;
  status: string;
  sessionId: string | null;
  turns: number;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  costUsd: number | null;
  exitCode: number | null;
  signal: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  resumedFrom: string | null;
  output: string;
}

/** What `asm scan --once --json` prints per session (cli/sessions.ts `sessionJson`), the fields used here. */
export interface SessionJson {
  platform: Platform;
  sessionId: string;
  agentId: string | null;
  path: string | null;
  present: boolean;
  contextTokens: number | null;
}

export const uidOf = (s: SessionJson) => sessionUid(s.platform, s.agentId, s.sessionId);

// ── the runner in this process (resume, permissions, interrupt) ──────────────

export interface InProcess {
  runner: Runner;
  store: WorkerStore;
  requests: WorkerRequestStore;
  asks: WorkerRequestRow[];
  statuses: string[];
  close(): Promise<void>;
}

/**
 * A Runner over the world's store and config, with the real drivers, recording what it tells its listener.
 * `driverFor` replaces the driver of the world's agent (a protocol driver instead of the headless one asm picks).
 */
export function inProcess(w: AgentWorld, driverFor?: (config: Config, w: AgentWorld) => Driver): InProcess {
  const config: Config = configSchema.parse(w.configInput);
  const db = openStore(w.dbPath);
  const store = new WorkerStore(db);
  const requests = new WorkerRequestStore(db);
  const asks: WorkerRequestRow[] = [];
  const statuses: string[] = [];
  const note = (x: WorkerRow) => {
    const s = `${x.id}:${x.status}${x.waitingReason ? `/${x.waitingReason}` : ""}`;
    if (statuses.at(-1) !== s) statuses.push(s);
  };
  const runner = new Runner({
    config,
    log: createLogger({ level: "silent" }),
    store,
    requests,
    // The headless drivers as asm picks them (Gemini's works around its resume faults in the world's HOME).
    drivers: {
      ...drivers,
      gemini: geminiDriverFor(config.runner.drivers.gemini?.env),
      ...(driverFor && { [w.agent]: driverFor(config, w) }),
    } as Record<Platform, Driver>,
    listener: { changed: note, asks: (_x, r) => asks.push(r), turnEnded: note, finished: note },
  });
  return {
    runner,
    store,
    requests,
    asks,
    statuses,
    async close() {
      await runner.stop();
      db.close();
    },
  };
}

/** A TCP port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = createConnection({ port, host: "127.0.0.1" });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });

/**
 * OpenClaw's driver runs `openclaw agent` through the Gateway (no `--local`), so its world needs one: a real
 * `openclaw gateway run` on a free loopback port with token auth, in the world's HOME (`gateway.mode=local`
 * in its openclaw.json, which the CLI reads for the token too). Starting takes ~20 s on a small machine.
 */
export async function startOpenclawGateway(w: AgentWorld): Promise<() => Promise<void>> {
  const port = await freePort();
  const file = join(w.home, ".openclaw/openclaw.json");
  const cfg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  cfg.gateway = { mode: "local", port, bind: "loopback", auth: { mode: "token", token: "test-gateway-token" } };
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  const log = join(w.root, "gateway.log");
  const out = openSync(log, "a");
  const child = spawn(NODE24, [entries.openclaw.path, "gateway", "run"], {
    cwd: w.workspace,
    env: w.env,
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const end = Date.now() + 120_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > end) {
      throw new Error(`the OpenClaw gateway did not start (exit ${child.exitCode}):\n${readFileSync(log, "utf8").slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return async () => {
    if (child.exitCode !== null || !child.pid) return;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, 15_000);
    await gone;
    clearTimeout(t);
  };
}

export async function until(what: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A worker row with its stderr tail, for failure messages. */
export const show = (w: WorkerRow | undefined) =>
  w ? JSON.stringify({ ...w, prompt: w.prompt.slice(0, 80), outputTail: w.outputTail.slice(-300), stderrTail: w.stderrTail.slice(-1500) }, null, 1) : "(none)";

/** The fake server's log lines (one JSON object per request), for asserting what the CLI asked. */
export function fakeLog(f: FakeServer): Record<string, unknown>[] {
  try {
    return readFileSync(f.log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

// ── one protocol driver's suite: the world, the fake and an in-process Runner ─

export interface ProtocolWorldOptions {
  /** The driver under test for the world's agent, from the parsed asm config (e.g. `geminiAcpDriverFor(w.env)`). */
  driver: (config: Config, w: AgentWorld) => Driver;
  /** How long `requestFor` waits for the CLI to ask. */
  turnMs: number;
  /** Merged into the asm config's `runner` section (agentWorld's third argument). */
  runner?: Record<string, unknown>;
  /** The fake model server's environment (startFake's second argument). */
  fakeEnv?: Record<string, string>;
  /**
   * Runs once the world is written, before the Runner is built (e.g. edits the CLI's config, starts a gateway);
   * what it returns runs on teardown after the Runner stops and before the fake does.
   */
  before?: (w: AgentWorld) => Promise<(() => Promise<void>) | undefined>;
  /** beforeAll's timeout in ms (the config's hookTimeout otherwise). */
  setupMs?: number;
}

/** What a protocol suite's tests use; every field is set once beforeAll has run. */
export interface ProtocolWorld extends InProcess {
  world: AgentWorld;
  fake: FakeServer;
  /** The file the fake's USE_SHELL command writes in the workspace. */
  toolFile(): string;
  /** The next request (permission or question) the Runner reports for `x`; fails with `x`'s row if none comes in turnMs. */
  requestFor(x: WorkerRow): Promise<WorkerRequestRow>;
}

/**
 * Registers (call it inside a `describe`) the beforeAll/afterAll of a protocol driver's suite: the process
 * environment scrubbed, a fake model server, `agentWorld(agent)` against it, then an in-process Runner whose
 * driver for `agent` is `options.driver`. Teardown stops them in reverse, puts the environment back, then
 * removes the world and the fake's folder (both kept with ASM_REAL_KEEP).
 */
export function protocolWorld(agent: Platform, options: ProtocolWorldOptions): ProtocolWorld {
  const t = {} as ProtocolWorld;
  let restoreEnv: (() => void) | undefined;
  let fakeDir: string | undefined;
  let stopBefore: (() => Promise<void>) | undefined;
  let ip: InProcess | undefined;
  beforeAll(async () => {
    restoreEnv = scrubProcessEnv();
    fakeDir = mkdtempSync(join(tmpdir(), `asm-real-fake-${agent}-`));
    t.fake = await startFake(fakeDir, options.fakeEnv);
    t.world = agentWorld(agent, t.fake.url, options.runner);
    stopBefore = await options.before?.(t.world);
    ip = inProcess(t.world, options.driver);
    Object.assign(t, ip);
  }, options.setupMs);
  afterAll(async () => {
    await ip?.close();
    await stopBefore?.();
    await t.fake?.stop();
    restoreEnv?.(); // first: ASM_REAL_KEEP is one of the variables scrubbed
    removeWorld(t.world);
    if (fakeDir && !process.env.ASM_REAL_KEEP) rmSync(fakeDir, { recursive: true, force: true });
  });
  t.toolFile = () => join(t.world.workspace, "tool-ran.txt");
  t.requestFor = async (x) => {
    const before = t.asks.length;
    await until(() => t.asks.length > before || t.store.get(x.id)!.status === "failed", options.turnMs, "a request");
    expect(t.asks.length, show(t.store.get(x.id))).toBeGreaterThan(before);
    return t.asks.at(-1)!;
  };
  return t;
}
