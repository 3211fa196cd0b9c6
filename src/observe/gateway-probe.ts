import { execa } from "execa";
import type { SeriesStore } from "../store/series.ts";
import type { ProbeSample } from "./observations.ts";

/** How to probe: an HTTP GET (2xx = up) or a command run without a shell (exit 0 = up). */
export type ProbeTarget = { url: string } | { command: string[] };

/** The series name probe results are kept under. */
export const GATEWAY_SERIES = "gateway";

/** The probe target as people read it. */
export const describeTarget = (t: ProbeTarget) => ("url" in t ? `GET ${t.url}` : t.command.join(" "));

/** Last bytes of a command's output, for the sample's detail. */
const tail = (s: string, n = 200) => (s.length > n ? `…${s.slice(-n)}` : s).trim();

/**
 * Probes once and returns the sample; never throws. HTTP: fetch with an abort timeout, any 2xx is up.
 * Command: execa with argv (no shell) and a timeout, exit code 0 is up.
 */
export async function probeOnce(target: ProbeTarget, timeoutMs: number, now = Date.now()): Promise<ProbeSample> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  if ("url" in target) {
    try {
      const res = await fetch(target.url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
      await res.body?.cancel();
      const ok = res.status >= 200 && res.status < 300;
      return { ts: now, ok, latencyMs: latency(), detail: `HTTP ${res.status}`, answered: true };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
      // fetch's own message is always "fetch failed"; the cause says why (ECONNREFUSED, or "bad port" for
      // ports the fetch standard blocks, such as 6000 or 6667).
      const why = e.cause?.code ?? (e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message);
      return { ts: now, ok: false, latencyMs: null, detail: timedOut ? `no answer in ${timeoutMs} ms` : why, answered: false };
    }
  }
  const [file, ...args] = target.command;
  if (!file) return { ts: now, ok: false, latencyMs: null, detail: "empty probe command", answered: false };
  const r = await execa(file, args, { timeout: timeoutMs, reject: false, stdin: "ignore", all: true });
  if (r.timedOut) return { ts: now, ok: false, latencyMs: null, detail: `no answer in ${timeoutMs} ms`, answered: false };
  if (r.failed && r.exitCode === undefined) return { ts: now, ok: false, latencyMs: null, detail: r.shortMessage ?? "failed to start", answered: false };
  // A health command's non-zero exit says "unreachable", not "starting": only success counts as an answer.
  return {
    ts: now,
    ok: r.exitCode === 0,
    latencyMs: latency(),
    detail: r.exitCode === 0 ? "exit 0" : `exit ${r.exitCode}${r.all ? `: ${tail(String(r.all))}` : ""}`,
    answered: r.exitCode === 0,
  };
}

/** Probes the gateway and appends the result to the `gateway` series (value = latency ms, ok = up). */
export async function probeGateway(series: SeriesStore, target: ProbeTarget, timeoutMs: number, now = Date.now()): Promise<ProbeSample> {
  const sample = await probeOnce(target, timeoutMs, now);
  series.add({
    name: GATEWAY_SERIES,
    subject: "",
    ts: sample.ts,
    value: sample.latencyMs,
    ok: sample.ok,
    extra: { detail: sample.detail, answered: sample.answered ?? null, target: describeTarget(target) },
  });
  return sample;
}
