import { statSync } from "node:fs";
import type { Runtime } from "../runtime.ts";
import { watchedLocations } from "../sources/locations.ts";
import { latestVersion, schemaVersion } from "../store/db.ts";

export type HealthStatus = "ok" | "degraded";

export interface HealthItem {
  name: string;
  status: HealthStatus | "info";
  detail: string;
}

export interface HealthReport {
  status: HealthStatus;
  items: HealthItem[];
}

/** A one-shot health report from the store: exit 0 when ok, 1 when degraded. */
export function healthReport(rt: Runtime, now = Date.now()): HealthReport {
  const items: HealthItem[] = [];
  const version = schemaVersion(rt.db);
  items.push({
    name: "store",
    status: version === latestVersion ? "ok" : "degraded",
    detail: `${rt.config.store.path} (schema v${version}, ${sizeOf(rt.config.store.path)})`,
  });
  const last = rt.kv.get<{ at: number; durationMs: number; errors: string[] }>("scan.last");
  const staleAfter = rt.config.monitor.intervalSeconds * 3 * 1000;
  if (!last) items.push({ name: "scan", status: "info", detail: "no scan yet" });
  else {
    const age = now - last.at;
    const stale = age > staleAfter;
    items.push({
      name: "scan",
      status: stale || last.errors.length ? "degraded" : "ok",
      detail: `last ${Math.round(age / 1000)}s ago in ${Math.round(last.durationMs)} ms${last.errors.length ? `, ${last.errors.length} error(s): ${last.errors[0]}` : ""}${stale ? " (stale)" : ""}`,
    });
  }
  for (const loc of watchedLocations(rt.config)) {
    items.push({ name: `source ${loc.platform}`, status: loc.exists ? "ok" : "info", detail: `${loc.path}${loc.exists ? "" : " (not present)"}` });
  }
  items.push({ name: "sessions", status: "info", detail: `${rt.sessions.count()} present` });
  return { status: items.some((i) => i.status === "degraded") ? "degraded" : "ok", items };
}

function sizeOf(path: string): string {
  try {
    return `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`;
  } catch {
    return "size unknown";
  }
}
