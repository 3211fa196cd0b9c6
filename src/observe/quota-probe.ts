import { execa } from "execa";
import type { Config } from "../config/schema.ts";
import type { SeriesStore } from "../store/series.ts";
import type { QuotaReading } from "./observations.ts";

export type QuotaProbeConfig = Config["checks"]["quota"]["probes"][number];

/** The series name quota readings are kept under (subject = probe name). */
export const QUOTA_SERIES = "quota";

/** A probe answered, but not with a number we can use. */
export class QuotaProbeError extends Error {
  constructor(
    readonly probe: string,
    readonly reason: string,
  ) {
    super(`quota probe ${probe}: ${reason}`);
    this.name = "QuotaProbeError";
  }
}

/** Follows a dot path ("data.quota.remaining", "items.0.left"; a leading "$." is allowed) into JSON. */
export function pickPath(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const part of path
    .replace(/^\$\.?/, "")
    .split(".")
    .filter(Boolean)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** A number, or a string that is exactly one (what providers and scripts print). */
function asNumber(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** The probe as people read it; a URL loses its query string, which may carry a key. */
export function describeProbe(p: QuotaProbeConfig): string {
  if (p.url) {
    const u = URL.canParse(p.url) ? new URL(p.url) : null;
    return `${u ? `${u.origin}${u.pathname}` : "(invalid URL)"}${p.jsonPath ? ` ${p.jsonPath}` : ""}`;
  }
  return p.command ? `command ${p.command[0]}` : "unconfigured";
}

async function readRemaining(p: QuotaProbeConfig, env: Record<string, string | undefined>, timeoutMs: number): Promise<number> {
  if (p.url) {
    const headers: Record<string, string> = {};
    for (const [header, variable] of Object.entries(p.headersFromEnv)) {
      const value = env[variable];
      if (!value) throw new QuotaProbeError(p.name, `environment variable ${variable} (header ${header}) is not set`);
      headers[header] = value;
    }
    let res: Response;
    try {
      res = await fetch(p.url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new QuotaProbeError(p.name, e.name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : (e.cause?.code ?? e.message));
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new QuotaProbeError(p.name, `HTTP ${res.status}`);
    }
    let doc: unknown;
    try {
      doc = await res.json();
    } catch {
      throw new QuotaProbeError(p.name, "answer is not JSON");
    }
    const value = p.jsonPath ? pickPath(doc, p.jsonPath) : doc;
    const n = asNumber(value);
    if (n === null) throw new QuotaProbeError(p.name, `${p.jsonPath ?? "the answer"} is not a number`);
    return n;
  }
  if (p.command) {
    const [file, ...args] = p.command;
    const r = await execa(file!, args, { timeout: timeoutMs, reject: false, stdin: "ignore" });
    if (r.timedOut) throw new QuotaProbeError(p.name, `no answer in ${timeoutMs} ms`);
    if (r.exitCode !== 0) throw new QuotaProbeError(p.name, r.exitCode === undefined ? (r.shortMessage ?? "failed to start") : `exit ${r.exitCode}`);
    const n = asNumber(String(r.stdout));
    if (n === null) throw new QuotaProbeError(p.name, "command did not print a number");
    return n;
  }
  throw new QuotaProbeError(p.name, "neither url nor command is configured");
}

/**
 * Runs one quota probe; never throws (a failure is a reading with `error`). `defaultMinRemaining` is the
 * section's `minRemaining`, for a probe that sets none.
 */
export async function probeQuota(
  p: QuotaProbeConfig,
  env: Record<string, string | undefined>,
  timeoutMs: number,
  now = Date.now(),
  defaultMinRemaining = 100,
): Promise<QuotaReading> {
  const base = { name: p.name, limit: p.limit, minRemaining: p.minRemaining ?? defaultMinRemaining, source: describeProbe(p), at: now };
  try {
    return { ...base, remaining: await readRemaining(p, env, timeoutMs), error: null };
  } catch (err) {
    return { ...base, remaining: null, error: err instanceof QuotaProbeError ? err.reason : String((err as Error)?.message ?? err) };
  }
}

/** Runs every configured probe and records each reading in the `quota` series. */
export async function probeAllQuotas(
  config: Config,
  series: SeriesStore,
  env: Record<string, string | undefined>,
  timeoutMs: number,
  now = Date.now(),
): Promise<QuotaReading[]> {
  const q = config.checks.quota;
  const readings = await Promise.all(q.probes.map((p) => probeQuota(p, env, timeoutMs, now, q.minRemaining)));
  for (const r of readings) {
    series.add({
      name: QUOTA_SERIES,
      subject: r.name,
      ts: r.at,
      value: r.remaining,
      ok: r.error === null,
      extra: { limit: r.limit, minRemaining: r.minRemaining, source: r.source, error: r.error },
    });
  }
  return readings;
}

/** The newest recorded reading of each configured probe (for cycles that do not probe). */
export function latestQuotaReadings(config: Config, series: SeriesStore): QuotaReading[] {
  const names = new Set(config.checks.quota.probes.map((p) => p.name));
  return series
    .latestBySubject(QUOTA_SERIES)
    .filter((pt) => names.has(pt.subject))
    .map((pt) => {
      const x = pt.extra ?? {};
      return {
        name: pt.subject,
        remaining: pt.value,
        limit: typeof x.limit === "number" ? x.limit : null,
        minRemaining: typeof x.minRemaining === "number" ? x.minRemaining : config.checks.quota.minRemaining,
        source: typeof x.source === "string" ? x.source : "probe",
        at: pt.ts,
        error: typeof x.error === "string" ? x.error : null,
      };
    });
}
