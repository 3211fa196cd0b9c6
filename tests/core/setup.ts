import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { SessionRecord } from "../../src/agents/session.ts";
import { openRuntime, type Runtime } from "../../src/store/runtime.ts";
import { session as sessionRow } from "../helpers/checks.ts";
import { baseTestConfig } from "../helpers/e2e.ts";
import { loopbackServer } from "../helpers/http.ts";
import { tempDir } from "../helpers/tmp.ts";

/** A harmless action command: appends "ran" to the marker file, so tests can count runs. */
export { markerArgv } from "../helpers/e2e.ts";

/** How many times the marker command ran. */
export const runs = (marker: string) => (existsSync(marker) ? readFileSync(marker, "utf8").split("\n").filter(Boolean).length : 0);

/** A gateway health endpoint on loopback; `healthy` can be flipped. */
export async function healthServer(): Promise<{ url: string; server: Server; state: { healthy: boolean }; close: () => Promise<void> }> {
  const state = { healthy: true };
  const { server, base, close } = await loopbackServer((req, res) => {
    res.writeHead(req.url === "/readyz" && state.healthy ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: state.healthy }));
  });
  return { url: `${base}/readyz`, server, state, close };
}

/** Collects everything written, for asserting on console output. */
export class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

export interface TestRig {
  dir: string;
  home: string;
  marker: string;
  rt: Runtime;
  log: Capture;
}

/** A runtime on a temp store with a test config: the marker argv for restarts, roots under a temp HOME. */
export function rig(config: Record<string, unknown> = {}, gatewayUrl: string | null = null): TestRig {
  const dir = tempDir("asm-core-");
  const home = join(dir, "home");
  const marker = join(dir, "marker.txt");
  const file = join(dir, "config.json");
  const base = baseTestConfig(dir, home, marker, gatewayUrl);
  writeFileSync(file, JSON.stringify(merge(base, config)));
  const log = new Capture();
  const rt = openRuntime({ configPath: file, env: { HOME: home }, logStream: log });
  return { dir, home, marker, rt, log };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object" && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A session row as a source would write it, with figures from `now` (defaults for the core's tests). */
export function session(over: Partial<SessionRecord> & Pick<SessionRecord, "platform" | "sessionId">, now = Date.now()): SessionRecord {
  return sessionRow({
    kind: "session",
    firstActivity: now - 3_600_000,
    lastActivity: now - 60_000,
    messageCount: 4,
    path: null,
    sizeBytes: 1000,
    contextTokens: 50_000,
    contextPercent: 25,
    inputTokens: 100,
    outputTokens: 200,
    scannedAt: now,
    ...over,
  });
}
