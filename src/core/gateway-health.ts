import { closeSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { basename } from "node:path";
import type { Config } from "../config/schema.ts";
import { type ProbeTarget, probeOnce } from "../observe/gateway-probe.ts";
import { gatewayWatch } from "../observe/gateway-target.ts";
import { expandLogGlobs } from "../observe/log-tail.ts";

/** One look at the gateway: healthy or not, and a short reason a person can read. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export type GatewayProbe = () => Promise<ProbeResult>;

/**
 * The probe that verifies a restart: the checks' own gateway probe (`checks.gateway.command` run
 * without a shell, else an HTTP GET of `checks.gateway.url` or of the local gateway openclaw.json
 * declares; 2xx / exit 0 = healthy). Never throws.
 */
export function gatewayProbe(config: Config): GatewayProbe {
  const c = config.checks.gateway;
  return async () => {
    const watch = gatewayWatch(config);
    if (!watch.target) return { ok: false, detail: `no gateway probe: ${watch.reason}` };
    const target: ProbeTarget = watch.target;
    const where = "url" in target ? target.url : target.command.join(" ");
    const sample = await probeOnce(target, c.timeoutSeconds * 1000);
    return { ok: sample.ok, detail: `${where}: ${sample.detail}` };
  };
}

/**
 * Probes until healthy or `timeoutMs` has passed; returns the last result. An aborted `signal`
 * (asm is stopping) ends the wait early with the last result, so a stop never waits out the timeout.
 */
export async function waitUntilHealthy(probe: GatewayProbe, timeoutMs: number, intervalMs = 1000, signal?: AbortSignal): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await probe();
    if (r.ok || signal?.aborted || Date.now() + intervalMs > deadline) return r;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, intervalMs);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * The last lines of the newest gateway log among the configured log files (`checks.logs.paths`), for a repair
 * worker's prompt: a file named like the gateway's wins, else the newest. Null when there is none.
 */
export function gatewayLogTail(config: Config, now: number, maxLines = 40): { path: string; lines: string[] } | null {
  const files = expandLogGlobs(config.checks.logs.files, now)
    .map((path) => {
      try {
        return { path, st: statSync(path) };
      } catch {
        return null;
      }
    })
    .filter((f): f is { path: string; st: Stats } => f?.st.isFile() === true)
    .sort((a, b) => Number(/gateway/i.test(basename(b.path))) - Number(/gateway/i.test(basename(a.path))) || b.st.mtimeMs - a.st.mtimeMs);
  const f = files[0];
  if (!f) return null;
  const fd = openSync(f.path, "r");
  try {
    const size = Math.min(f.st.size, 16 * 1024);
    const buf = Buffer.alloc(size);
    readSync(fd, buf, 0, size, f.st.size - size);
    const lines = buf
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim());
    return { path: f.path, lines: lines.slice(-maxLines).map((l) => (l.length > 300 ? `${l.slice(0, 299)}…` : l)) };
  } finally {
    closeSync(fd);
  }
}
