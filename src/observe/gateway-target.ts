import { openClawConfigPath } from "../agents/openclaw/config.ts";
import { localGateway } from "../agents/openclaw/gateway-endpoint.ts";
import type { Config } from "../config/schema.ts";
import type { ProbeTarget } from "./gateway-probe.ts";

/**
 * Whether and where the OpenClaw gateway is watched: a probe target and where it came from, or null with
 * the reason and how to turn watching on (one line a person can act on).
 */
export type GatewayWatch = { target: ProbeTarget; from: "checks.gateway.command" | "checks.gateway.url" | "openclaw.json" } | { target: null; reason: string };

/**
 * The local gateway's readiness URL when openclaw.json says a gateway runs here (`gateway.mode` "local", on
 * `gateway.port`, default 18789; read by `localGateway`, which the gateway workers share). Null when the file is
 * missing or unreadable, or says nothing of a local gateway (a remote one, or none).
 */
export function localGatewayUrl(openclawJson: string): string | null {
  const gw = localGateway(openclawJson);
  return gw ? `${gw.origin}/readyz` : null;
}

/**
 * The gateway probe asm runs: `checks.gateway.command`, else `checks.gateway.url`, else the local gateway
 * openclaw.json declares. With none of them the gateway is not watched (a machine without a gateway must
 * not raise gateway alarms), and the reason says how to turn it on.
 */
export function gatewayWatch(config: Config): GatewayWatch {
  const g = config.checks.gateway;
  if (!g.enabled) return { target: null, reason: "the gateway check is off (checks.gateway.enabled)" };
  if (g.command) return { target: { command: g.command }, from: "checks.gateway.command" };
  if (g.url) return { target: { url: g.url }, from: "checks.gateway.url" };
  const path = openClawConfigPath(config);
  const url = localGatewayUrl(path);
  if (url) return { target: { url }, from: "openclaw.json" };
  return {
    target: null,
    reason: `not watched: ${path} does not say a gateway runs here (gateway.mode "local"); set checks.gateway.url (or .command) to watch one`,
  };
}
