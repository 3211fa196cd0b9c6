#!/usr/bin/env node
// OpenClaw gateway bridge: the small process an OpenClaw gateway worker runs (openclawGatewayDriver).
//
// The runner owns a child process and reads its stdout lines; the gateway is a WebSocket, so this script
// holds the socket, does the connect handshake itself (the token never leaves this process), then relays:
//   gateway frame (text)  ->  one JSON line on stdout
//   one JSON line on stdin (a `{"type":"req",…}` frame)  ->  a frame to the gateway
// Its own lines carry a `bridge` key: `{"bridge":"ready", server, protocol, scopes}` once
// the gateway said hello-ok, `{"bridge":"error", code, message}` right before it exits non-zero.
//
// Environment (never argv: the token must not show in `ps`):
//   ASM_OPENCLAW_GATEWAY_URL     ws://127.0.0.1:18789 (loopback only: a token is never sent elsewhere)
//   ASM_OPENCLAW_GATEWAY_TOKEN   gateway.auth.token (or the password of gateway.auth.mode "password")
//   ASM_OPENCLAW_GATEWAY_DEVICE  optional: a file keeping this client's Ed25519 device key (created 0600),
//                                so the gateway pairs one device instead of a new one per run
// Exit codes: 0 stdin ended (we closed), 2 cannot connect, 3 the gateway refused the handshake (bad token,
// NOT_PAIRED, …; a refusal marked retryable, "gateway starting", is retried within the connect timeout), 4 the
// gateway closed the connection after hello, 5 bad configuration.
//
// Protocol facts (OpenClaw 2026.9.6, docs/gateway/protocol/*.md and packages/gateway-client in its dist):
// the gateway first sends `connect.challenge {nonce, ts}`; the client answers with the `connect` request
// (protocol 4) carrying `auth.token` and a `device` signed over
// "v3|deviceId|clientId|mode|role|scopes,…|signedAt|token|nonce|platform|deviceFamily" (Ed25519, base64url;
// deviceId = sha256 hex of the raw public key). Without a device the gateway clears an operator's scopes.
// Plain Node (20+) and `ws` (Node 20 has no global WebSocket).

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import WebSocket from "ws";

const PROTOCOL = 4;
const CLIENT_ID = "gateway-client";
const CLIENT_MODE = "backend";
const ROLE = "operator";
/**
 * read: sessions, waits; write: agent runs and aborts; approvals: answering exec approvals. admin: OpenClaw 2026.9.6
 * shows an agent run's exec approval only to admin clients (or devices named as its reviewers), and with no
 * client to show it to, the run's exec is denied ("Headless runs cannot wait for interactive exec approval"); a
 * model override on `agent` needs it too. `openclaw agent` asks for the same scope on a local gateway, with the
 * same shared token.
 */
const SCOPES = ["operator.admin", "operator.read", "operator.write", "operator.approvals"];
/** The whole handshake, retries of a gateway that is still starting included. */
const CONNECT_TIMEOUT_MS = Number(process.env.ASM_OPENCLAW_GATEWAY_CONNECT_TIMEOUT_MS || 60000);
const CHALLENGE_WAIT_MS = 5000;
/** Gateway broadcasts that are never about a worker's run (the session would read and drop them). */
const NOISE = new Set(["tick", "health", "presence", "heartbeat", "skills.changed", "chat.metadata.changed", "sessions.changed", "chat", "task"]);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
/** Says why on stdout (for the session) and stderr (for a person), then exits. Never prints the token. */
let dead = false;
function die(code, errCode, message) {
  if (dead) return;
  dead = true;
  out({ bridge: "error", code: errCode, message });
  process.stderr.write(`openclaw gateway bridge: ${message}\n`);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 50).unref();
  if (ws && ws.readyState <= 1) ws.terminate();
}

const url = process.env.ASM_OPENCLAW_GATEWAY_URL ?? "";
const token = process.env.ASM_OPENCLAW_GATEWAY_TOKEN ?? "";
// Drop the secret from this process's environment: nothing we spawn or print can carry it on.
delete process.env.ASM_OPENCLAW_GATEWAY_TOKEN;
let ws = null;

function checkedUrl(raw) {
  let u;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") return null;
  if (!LOOPBACK.has(u.hostname)) return null;
  return u;
}

/** This client's device key: from the file when given (made once), else a fresh one for this run. */
function deviceKey() {
  const file = process.env.ASM_OPENCLAW_GATEWAY_DEVICE;
  if (file && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8"));
    return { publicKey: createPublicKey(saved.publicKeyPem), privateKey: createPrivateKey(saved.privateKeyPem) };
  }
  const pair = generateKeyPairSync("ed25519");
  if (file) {
    const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" });
    const privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" });
    writeFileSync(file, JSON.stringify({ publicKeyPem, privateKeyPem }), { mode: 0o600 });
  }
  return pair;
}

function deviceParams(key, nonce, signedAt) {
  // The raw 32-byte key is the tail of its SPKI DER encoding.
  const raw = key.publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  const deviceId = createHash("sha256").update(raw).digest("hex");
  const platform = process.platform;
  const payload = ["v3", deviceId, CLIENT_ID, CLIENT_MODE, ROLE, SCOPES.join(","), String(signedAt), token, nonce, platform, ""].join("|");
  return {
    platform,
    device: {
      id: deviceId,
      publicKey: raw.toString("base64url"),
      signature: sign(null, Buffer.from(payload, "utf8"), key.privateKey).toString("base64url"),
      signedAt,
      nonce,
    },
  };
}

function main() {
  const u = checkedUrl(url);
  if (!u) return die(5, "BAD_URL", `refusing gateway URL ${JSON.stringify(url)}: a ws:// or wss:// URL on loopback is required`);
  if (!token) return die(5, "NO_TOKEN", "no gateway token (gateway.auth.token) was given");
  let key;
  try {
    key = deviceKey();
  } catch (err) {
    return die(5, "DEVICE_KEY", `cannot read or write the device key file: ${err.message}`);
  }
  let ready = false;
  let sentConnect = false;
  /** A refusal the gateway says is passing ("gateway starting; retry shortly"): this socket's close is not the end. */
  let retrying = false;
  let connectId = "";
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  const timer = setTimeout(() => {
    if (!ready) die(2, "CONNECT_TIMEOUT", `no hello from the gateway at ${u.origin} within ${CONNECT_TIMEOUT_MS} ms`);
  }, CONNECT_TIMEOUT_MS);

  const sendConnect = (nonce, ts) => {
    if (sentConnect) return;
    sentConnect = true;
    const { platform, device } = deviceParams(key, nonce, ts);
    ws.send(
      JSON.stringify({
        type: "req",
        id: connectId,
        method: "connect",
        params: {
          minProtocol: PROTOCOL,
          maxProtocol: PROTOCOL,
          client: { id: CLIENT_ID, displayName: "agent-session-manager", version: "1", platform, mode: CLIENT_MODE },
          role: ROLE,
          scopes: SCOPES,
          // Without this capability (or operator.admin) the gateway never sends this client exec.approval.requested.
          caps: ["exec-approvals"],
          auth: { token },
          userAgent: "agent-session-manager",
          device,
        },
      }),
    );
  };

  let challengeTimer = null;
  let attempt = 0;
  const open = () => {
    attempt += 1;
    sentConnect = false;
    connectId = `connect-${process.pid}-${attempt}`;
    ws = new WebSocket(u.href, { handshakeTimeout: CONNECT_TIMEOUT_MS, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.on("open", () => {
      // Gateways before connect.challenge existed never send one: sign with our own clock then.
      challengeTimer = setTimeout(() => sendConnect("", Date.now()), CHALLENGE_WAIT_MS);
    });
    ws.on("message", (data) => {
      const text = data.toString("utf8");
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        return;
      }
      if (!ready) {
        if (frame?.type === "event" && frame.event === "connect.challenge") {
          clearTimeout(challengeTimer);
          const p = frame.payload ?? {};
          sendConnect(String(p.nonce ?? ""), Number.isInteger(p.ts) && p.ts >= 0 ? p.ts : Date.now());
          return;
        }
        if (frame?.type === "res" && frame.id === connectId) {
          if (!frame.ok) {
            const e = frame.error ?? {};
            const code = e.details?.code ?? e.code ?? "CONNECT_REFUSED";
            const wait = Math.max(250, Number(e.retryAfterMs) || 1000);
            if (e.retryable === true && Date.now() + wait < deadline) {
              // A gateway that has just started takes connections before it takes clients (2026.9.6: UNAVAILABLE,
              // retryable, retryAfterMs 500): try again within the connect timeout.
              retrying = true;
              ws.terminate();
              setTimeout(open, wait);
              return;
            }
            clearTimeout(timer);
            return die(3, String(code), `the gateway refused the connection: ${e.message ?? code}`);
          }
          clearTimeout(timer);
          ready = true;
          const hello = frame.payload ?? {};
          out({
            bridge: "ready",
            protocol: hello.protocol ?? null,
            server: hello.server ?? null,
            scopes: hello.auth?.scopes ?? null,
          });
          startRelay();
        }
        return;
      }
      // Presence, health and keepalive broadcasts say nothing about a worker's run: not relayed.
      if (frame?.type === "event" && NOISE.has(frame.event)) return;
      // One frame, one line: re-serialised so a pretty-printed frame cannot span lines.
      out(frame);
    });
    ws.on("error", (err) => {
      if (!ready && !retrying) die(2, "CONNECT_FAILED", `cannot connect to the gateway at ${u.origin}: ${err.code ?? err.message}`);
    });
    ws.on("close", (code, reason) => {
      clearTimeout(challengeTimer);
      if (retrying) {
        retrying = false;
        return;
      }
      clearTimeout(timer);
      if (closing) return process.exit(0);
      if (!ready)
        return die(2, "CLOSED", `the gateway at ${u.origin} closed the connection during the handshake (${code}${reason?.length ? ` ${reason}` : ""})`);
      die(4, "CLOSED", `the gateway closed the connection (${code}${reason?.length ? ` ${reason}` : ""})`);
    });
  };
  open();
}

let closing = false;
function startRelay() {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (!line.trim()) return;
    let frame;
    try {
      frame = JSON.parse(line);
    } catch {
      process.stderr.write("openclaw gateway bridge: skipped a stdin line that is not JSON\n");
      return;
    }
    // Only requests travel out; `connect` is ours alone (a second one would re-authenticate the socket).
    if (frame?.type !== "req" || typeof frame.method !== "string" || frame.method === "connect") {
      process.stderr.write("openclaw gateway bridge: skipped a stdin line that is not a request frame\n");
      return;
    }
    ws.send(JSON.stringify(frame));
  });
  rl.on("close", () => {
    closing = true;
    ws.close(1000, "done");
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

for (const sig of ["SIGTERM", "SIGINT"])
  process.on(sig, () => {
    closing = true;
    if (ws && ws.readyState <= 1) ws.close(1000, "stopped");
    setTimeout(() => process.exit(0), 500).unref();
  });

main();
