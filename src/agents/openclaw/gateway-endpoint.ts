import { readFileSync } from "node:fs";
import type { Config } from "../../config/schema.ts";
import { parseJson5ish } from "../../lib/json5.ts";
import { openClawConfigPath } from "./config.ts";

/** The local gateway openclaw.json declares: where it listens, and its shared secret when the file holds one. */
export interface LocalGateway {
  /** `http://host:port` (no path). */
  origin: string;
  /** `gateway.auth.token` (mode token) or `gateway.auth.password` (mode password), as a plain string; else null. */
  secret: string | null;
}

/** Where a gateway worker connects: the WebSocket URL and the secret the bridge authenticates with. */
export interface GatewayEndpoint {
  /** `ws://127.0.0.1:18789` style. */
  url: string;
  /** Never logged; travels to the bridge in its environment only. */
  token: string;
}

/** OpenClaw's default gateway port (`--port` > `OPENCLAW_GATEWAY_PORT` > `gateway.port` > 18789). */
const defaultPort = 18789;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v : null);

/**
 * The local gateway openclaw.json declares: OpenClaw's gateway refuses to start unless `gateway.mode` is
 * "local", on `gateway.port` (default 18789), bound to loopback unless `bind` is "custom". Null when the file is
 * missing or unreadable, or says nothing of a local gateway (a remote one, or none). The secret is null when
 * the config holds a secret reference (an object) rather than the value.
 */
export function localGateway(openclawJson: string): LocalGateway | null {
  let doc: unknown;
  try {
    doc = parseJson5ish(readFileSync(openclawJson, "utf8"));
  } catch {
    return null;
  }
  const gw = isObject(doc) && isObject(doc.gateway) ? doc.gateway : null;
  if (gw?.mode !== "local") return null;
  const port = typeof gw.port === "number" && Number.isInteger(gw.port) && gw.port > 0 && gw.port < 65536 ? gw.port : defaultPort;
  const host = gw.bind === "custom" && typeof gw.host === "string" && gw.host ? gw.host : "127.0.0.1";
  const auth = isObject(gw.auth) ? gw.auth : {};
  const secret = auth.mode === "password" ? nonEmpty(auth.password) : (nonEmpty(auth.token) ?? nonEmpty(auth.password));
  return { origin: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, secret };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * The gateway OpenClaw workers should run through, or null (then they keep the one-shot CLI). The same
 * gateway the health check watches (`checks.gateway.url`, else the local one openclaw.json declares), as a
 * WebSocket URL, with the secret from openclaw.json. Null when: the check is off, it probes by command, no
 * gateway is declared, openclaw.json holds no plain secret, or the gateway is not on loopback (the bridge never
 * sends the token off the machine).
 */
export function openclawGatewayEndpoint(config: Config): GatewayEndpoint | null {
  const g = config.checks.gateway;
  if (!g.enabled || g.command) return null;
  const local = localGateway(openClawConfigPath(config));
  if (!local?.secret) return null;
  let origin: URL;
  try {
    origin = new URL(g.url ?? local.origin);
  } catch {
    return null;
  }
  if (!LOOPBACK.has(origin.hostname)) return null;
  const ws = origin.protocol === "https:" ? "wss:" : "ws:";
  return { url: `${ws}//${origin.host}`, token: local.secret };
}
