import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { processFindings } from "../../src/alerts/lifecycle.ts";
import type { Finding } from "../../src/messages/finding.ts";
import type { TransportName } from "../../src/messages/transport.ts";
import type { Service } from "../../src/monitor/service.ts";
import type { Runtime } from "../../src/store/runtime.ts";
import { tempDir } from "./tmp.ts";

/** The files the real agent CLIs wrote (see tests/fixtures/real/README.md). */
export const realFixtures = fileURLToPath(new URL("../fixtures/real", import.meta.url));

/** Polls until `check` holds: for state that changes inside the service, not at a fake. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Copies the real Claude Code, Codex and Gemini CLI files into a HOME, where the sources look for them. */
export function copyRealFixtures(home: string): void {
  for (const [platform, sub] of [
    ["claude", ".claude"],
    ["codex", ".codex"],
    ["gemini", ".gemini"],
  ] as const) {
    cpSync(join(realFixtures, platform, sub), join(home, sub), { recursive: true });
  }
}

/** A harmless action command: appends a line to `marker`, so a test can count how often it ran. */
export const markerArgv = (marker: string) => [process.execPath, "-e", "require('fs').appendFileSync(process.argv[1], 'ran\\n')", marker];

/**
 * The config every service-level test starts from: the store under `dir`, every agent root under `home`,
 * the gateway probe at `gatewayUrl`, and the marker argv as the restart command.
 */
export function baseTestConfig(dir: string, home: string, marker: string, gatewayUrl: string | null) {
  return {
    store: { path: join(dir, "asm.db") },
    log: { level: "info", pretty: "never" },
    sources: {
      openclaw: { root: join(home, ".openclaw"), legacyRoots: [] },
      claude: { root: join(home, ".claude", "projects"), extraRoots: [] },
      codex: { root: join(home, ".codex") },
      opencode: { root: join(home, ".local/share/opencode") },
      gemini: { root: join(home, ".gemini") },
    },
    // Logs under the temp HOME only: the default also reads OpenClaw's /tmp/openclaw, which is the machine's.
    checks: { gateway: { url: gatewayUrl, timeoutSeconds: 2 }, logs: { files: [join(home, ".openclaw/logs/gateway*.log")] } },
    actions: { verifyTimeoutSeconds: 3, restartGateway: { argv: markerArgv(marker) } },
  };
}

/**
 * The files a service-level end-to-end test starts from: a temp dir, a HOME holding the real fixtures, the
 * marker file of the harmless restart argv, and a config file (`baseTestConfig` with the gateway probe at
 * `gatewayUrl`, plus `extra` on top).
 */
export function e2eWorld(prefix: string, gatewayUrl: string, extra: Record<string, unknown> = {}) {
  const dir = tempDir(prefix);
  const home = join(dir, "home");
  copyRealFixtures(home);
  const marker = join(dir, "marker.txt");
  const configPath = join(dir, "config.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      ...baseTestConfig(dir, home, marker, gatewayUrl),
      // The cycle job would otherwise fire on the next wall-clock minute and post the fixtures' own
      // alerts in the middle of a test; 86399 s is not cron-expressible, so it is a timer from start.
      monitor: { intervalSeconds: 86_399 },
      ...extra,
    }),
  );
  return { dir, home, marker, configPath };
}

/** A critical context finding for the session `claude::<name>`, shaped as the context check reports it. */
export const criticalContext = (name: string, summary = `claude ${name} context at 91%`): Finding => ({
  check: "context",
  subject: `claude::${name}`,
  severity: "critical",
  summary,
  component: `claude ${name}`,
  value: "182k tokens (91%)",
  threshold: "85%",
  action: "Compact or reset the session",
});

/** Runs one context-check cycle of `findings` through the real lifecycle into `transport`'s outbox, and wakes the sender. */
export function contextCycle(service: Service, rt: Runtime, findings: Finding[], transport: TransportName, now = Date.now()): void {
  processFindings(service.monitoring.stores, findings, { now, config: rt.config, transports: [transport], scope: [{ check: "context" }] });
  service.monitoring.sender.kick();
}
