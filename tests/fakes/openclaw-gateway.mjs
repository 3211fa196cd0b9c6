#!/usr/bin/env node
// A fake OpenClaw gateway: a WebSocket server on 127.0.0.1 that replays one recorded exchange of the real
// gateway (tests/fixtures/streams/openclaw/gateway-*.exchange.jsonl, recorded through gateway-bridge.mjs by
// tests/fixtures/generate/openclaw-gateway-driver.ts against OpenClaw 2026.9.6).
//
// Per connection it does what the real gateway did before the recording starts: `connect.challenge`, then
// checks the `connect` request — the token, protocol 4, and the device signature over the v3 payload
// (Ed25519, as OpenClaw verifies it) — and answers hello-ok, or a refusal shaped like the real one
// (`details.code` AUTH_TOKEN_MISMATCH). Then it replays: the recorded gateway frames up to the next request we
// sent, waits for that request, compares it by method (and the decision of an `exec.approval.resolve`), and
// goes on. Request ids, the run id (= our idempotency key) and the session id are mapped from the recording to
// what the client sends now. A request that differs from the recording closes the socket with 4097 and is kept
// in `mismatches` (as a process: exit 97).
//
// In-process: `const gw = await startFakeGateway({ exchange, token, startingFor? })` → {url, requests, mismatches,
// close()}; `startingFor: n` refuses the first n connects as a starting gateway does (retryable UNAVAILABLE).
// As a process: FAKE_EXCHANGE=… FAKE_TOKEN=… node openclaw-gateway.mjs → prints "LISTENING <port>".

import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The recorded script: `send` = frames the gateway sent, `expect` = a request the client sent. */
function scriptOf(path) {
  const items = [];
  let ready = false;
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    if (!raw.trim()) continue;
    const rec = JSON.parse(raw);
    if (rec.dir !== "stdin" && rec.dir !== "stdout") continue;
    const msg = JSON.parse(rec.line);
    if (rec.dir === "stdout" && typeof msg.bridge === "string") {
      if (msg.bridge === "ready") ready = true;
      continue;
    }
    if (!ready && rec.dir === "stdout") continue;
    items.push(rec.dir === "stdin" ? { expect: msg } : { send: msg });
  }
  return items;
}

/** Checks the connect request as OpenClaw does; returns an error shape or null. */
function checkConnect(params, token, nonce) {
  const refuse = (code, message) => ({ code: "INVALID_REQUEST", message, details: { code } });
  if (params?.minProtocol > 4 || params?.maxProtocol < 4) return refuse("PROTOCOL_MISMATCH", "protocol mismatch");
  if (params?.auth?.token !== token) return refuse("AUTH_TOKEN_MISMATCH", "unauthorized: gateway token mismatch (provide gateway auth token)");
  const d = params.device;
  if (!d) return refuse("NOT_PAIRED", "device identity required");
  const raw = Buffer.from(d.publicKey ?? "", "base64url");
  const id = createHash("sha256").update(raw).digest("hex");
  const payload = [
    "v3",
    d.id,
    params.client?.id,
    params.client?.mode,
    params.role,
    (params.scopes ?? []).join(","),
    String(d.signedAt),
    token,
    d.nonce,
    (params.client?.platform ?? "").toLowerCase(),
    "",
  ].join("|");
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), type: "spki", format: "der" });
    ok = id === d.id && d.nonce === nonce && verify(null, Buffer.from(payload, "utf8"), key, Buffer.from(d.signature ?? "", "base64url"));
  } catch {
    ok = false;
  }
  return ok ? null : refuse("DEVICE_AUTH_SIGNATURE_INVALID", "device signature invalid");
}

/**
 * Starts the fake on 127.0.0.1 (a free port). `exchange`: the recording; `token`: the gateway's token.
 * `requests` collects every request frame the client sent after hello (the connect request is not kept).
 */
export async function startFakeGateway({ exchange, token, startingFor = 0 }) {
  const script = scriptOf(exchange);
  const requests = [];
  const mismatches = [];
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (ws) => {
    const nonce = `nonce-${Math.random().toString(36).slice(2)}`;
    let authed = false;
    let cursor = 0;
    const ids = new Map(); // recorded request id → the client's
    const subst = new Map(); // recorded run id / session id → the client's
    const sendFrame = (frame) => {
      let text = JSON.stringify(frame.type === "res" && ids.has(frame.id) ? { ...frame, id: ids.get(frame.id) } : frame);
      for (const [from, to] of subst) text = text.split(from).join(to);
      ws.send(text);
    };
    const pump = () => {
      while (cursor < script.length && script[cursor].send) sendFrame(script[cursor++].send);
    };
    ws.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce, ts: Date.now() } }));
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString("utf8"));
      if (!authed) {
        if (frame.method !== "connect") return ws.close(1008, "connect first");
        if (startingFor > 0) {
          // What 2026.9.6 answers while it starts: retryable UNAVAILABLE, then close 1013.
          startingFor -= 1;
          ws.send(
            JSON.stringify({
              type: "res",
              id: frame.id,
              ok: false,
              error: { code: "UNAVAILABLE", message: "gateway starting; retry shortly", retryable: true, retryAfterMs: 100 },
            }),
          );
          return ws.close(1013, "gateway starting");
        }
        const error = checkConnect(frame.params, token, nonce);
        if (error) {
          ws.send(JSON.stringify({ type: "res", id: frame.id, ok: false, error }));
          return ws.close(1008, "unauthorized");
        }
        authed = true;
        ws.send(
          JSON.stringify({
            type: "res",
            id: frame.id,
            ok: true,
            payload: {
              type: "hello-ok",
              protocol: 4,
              server: { version: "2026.9.6", connId: "fake" },
              features: { methods: [], events: [] },
              snapshot: {},
              auth: { role: "operator", scopes: frame.params.scopes },
              policy: { maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: 15000 },
            },
          }),
        );
        return pump();
      }
      requests.push(frame);
      const want = script[cursor]?.expect;
      const same = want && want.method === frame.method && (frame.method !== "exec.approval.resolve" || want.params?.decision === frame.params?.decision);
      if (!same) {
        mismatches.push({ expected: want ?? null, got: frame });
        return ws.close(4097, "request differs from the recording");
      }
      cursor++;
      ids.set(want.id, frame.id);
      if (want.method === "agent") {
        if (want.params.idempotencyKey && frame.params.idempotencyKey) subst.set(want.params.idempotencyKey, frame.params.idempotencyKey);
        if (want.params.sessionId && frame.params.sessionId) subst.set(want.params.sessionId, frame.params.sessionId);
      }
      pump();
    });
  });
  const { port } = wss.address();
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    requests,
    mismatches,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const gw = await startFakeGateway({ exchange: process.env.FAKE_EXCHANGE, token: process.env.FAKE_TOKEN ?? "" });
  process.stdout.write(`LISTENING ${gw.port}\n`);
  setInterval(() => {
    if (gw.mismatches.length) {
      process.stderr.write(`fake gateway: ${JSON.stringify(gw.mismatches[0])}\n`);
      process.exit(97);
    }
  }, 100);
}
