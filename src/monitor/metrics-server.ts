import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { HealthReport } from "../core/health.ts";
import type { Logger } from "../lib/log.ts";
import type { AsmMetrics } from "./metrics.ts";

/** The running endpoint: where it listens, and how to stop it. */
export interface MetricsServer {
  /** "127.0.0.1:9464" as bound (the real port when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** `metrics.listen`: "host:port" ("[::1]:9464" for IPv6). */
  listen: string;
  /** Scrapers must send `Authorization: Bearer <token>` for /metrics (from ASM_METRICS_TOKEN); never logged. */
  token?: string | null | undefined;
  health(): HealthReport;
  log: Logger;
}

/** Thrown when `metrics.listen` is not host:port. */
export class MetricsListenError extends Error {
  constructor(listen: string, reason: string) {
    super(`metrics.listen "${listen}": ${reason}`);
    this.name = "MetricsListenError";
  }
}

/** "127.0.0.1:9464" → { host, port }; "[::1]:9464" → { host: "::1", port }. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^\s:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) throw new MetricsListenError(listen, 'expected host:port, e.g. "127.0.0.1:9464"');
  return { host: (m[1] ?? m[2])!, port };
}

function authorized(req: IncomingMessage, token: string | null | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(String(req.headers.authorization ?? ""));
  const want = Buffer.from(`Bearer ${token}`);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * Serves `GET /metrics` (Prometheus text, bearer token when one is set) and `GET /healthz` (200 "ok" or
 * 503 with the degraded items' names, as `asm health` exits 0 or 1; no details, no token needed, so a
 * plain liveness probe can call it).
 */
export async function serveMetrics(metrics: AsmMetrics, options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = parseListen(options.listen);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      const report = options.health();
      const bad = report.items.filter((i) => i.status === "degraded").map((i) => i.name);
      res.writeHead(report.status === "ok" ? 200 : 503, { "content-type": "text/plain; charset=utf-8" });
      res.end(report.status === "ok" ? "ok\n" : `degraded: ${bad.join(", ")}\n`);
      return;
    }
    if (path === "/metrics") {
      if (!authorized(req, options.token)) {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="asm"', "content-type": "text/plain" }).end("unauthorized\n");
        return;
      }
      const body = await metrics.text();
      res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      options.log.error({ err, url: req.url }, "metrics request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("error; see asm's log\n");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  options.log.info({ address, auth: options.token ? "bearer" : "none" }, "metrics endpoint listening");
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
