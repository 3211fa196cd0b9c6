#!/usr/bin/env node
// A fake `opencode serve` for tests: an HTTP + SSE server on 127.0.0.1 that replays an exchange the real server
// had with our session (tests/fixtures/streams/opencode/<scenario>.serve.jsonl, recorded by
// tests/fixtures/generate/record-opencode-serve.mjs; the format is described there). It prints the real server's
// listening line with its own port, checks basic auth (user `opencode`, password OPENCODE_SERVER_PASSWORD, as the
// runner sets it), answers each request with the recorded response and writes the recorded events to the event
// stream, in the recorded order.
//
// Requests that change something (POST, PATCH) must come in the recorded order with the recorded decision (the
// permission reply once/reject, the question answer, the prompt text, the create call's permission rules); any
// difference is written to stderr and the fake exits 97, so a test can never pass on a replay that did not happen.
// Reads (GET) that the recording does not have at that point (a reconnect, a status check) are answered from the
// nearest recorded answer to the same path; a new GET /event gets `server.connected` and the events from then on.
//
//   FAKE_SERVE        the .serve.jsonl to replay
//   FAKE_FAST         no recorded gaps (default: keep them, each capped at 200 ms)
//   FAKE_DROP_SSE_AT  close the first event stream after this many events (tests the reconnect)
//   FAKE_GARBAGE      write a line that is not JSON and an SSE comment on each event stream first
//   FAKE_REQUEST_LOG  append every request received here, one JSON line {method, path, body}
//   FAKE_ARGV_LOG     write our argv and environment facts (JSON) here
//   FAKE_EXIT_EARLY   exit with this code before listening (a server that cannot start)
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";

const env = process.env;
const argv = process.argv.slice(2);
const die = (msg) => {
  process.stderr.write(`opencode-serve fake: ${msg}\n`);
  process.exit(97);
};
if (env.FAKE_ARGV_LOG)
  writeFileSync(env.FAKE_ARGV_LOG, JSON.stringify({ argv, cwd: process.cwd(), pwd: env.PWD ?? null, hasPassword: !!env.OPENCODE_SERVER_PASSWORD }));
if (env.FAKE_EXIT_EARLY) {
  process.stderr.write("Error: failed to start server (fake early exit)\n");
  process.exit(Number(env.FAKE_EXIT_EARLY));
}
const flag = (name) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : null);
if (argv[0] !== "serve") die(`expected 'serve' as the first argument, got ${JSON.stringify(argv)}`);
if (flag("--hostname") !== "127.0.0.1") die(`refusing to listen anywhere but 127.0.0.1 (--hostname ${flag("--hostname")})`);
if (!env.OPENCODE_SERVER_PASSWORD) die("no OPENCODE_SERVER_PASSWORD: the server would run without auth");
const expectedAuth = `Basic ${Buffer.from(`opencode:${env.OPENCODE_SERVER_PASSWORD}`).toString("base64")}`;

const entries = readFileSync(env.FAKE_SERVE, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .filter((e) => ["stdout", "stderr", "request", "response", "event", "end"].includes(e.dir));

/** What a write is compared on: the route and the decision it carries. */
function shape(method, path, body) {
  if (/^\/permission\/[^/]+\/reply$/.test(path)) return `${method} ${path} reply=${body?.reply}`;
  if (/\/prompt_async$/.test(path)) return `${method} ${path} ${JSON.stringify({ parts: body?.parts?.map((p) => p.text), model: body?.model ?? null })}`;
  return `${method} ${path} ${JSON.stringify(body ?? null)}`;
}

const inbox = [];
let wake = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextRequest = async () => {
  while (!inbox.length) await new Promise((r) => (wake = r));
  return inbox.shift();
};

/** Live event streams: by the recorded request id that opened them, plus the newest (reconnects). */
const streams = new Map();
let newest = null;
let sent = 0;
let dropped = false;
const openStream = (res) => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  if (env.FAKE_GARBAGE) res.write(": a comment line\n\ndata: {this is not json\n\n");
  newest = res;
  return res;
};
const writeEvent = (res, data) => res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
const answer = (res, status, body) => {
  if (body === null || body === undefined) return res.writeHead(status).end();
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
};

/** `GET /permission` or `/question` (pending requests): those asked and not yet answered up to the next recorded request. */
function waiting(kind, from) {
  const next = entries.findIndex((e, i) => i >= from && e.dir === "request");
  const open = new Map();
  for (const e of entries.slice(0, next < 0 ? entries.length : next)) {
    if (e.dir !== "event") continue;
    if (e.data?.type === `${kind}.asked`) open.set(e.data.properties.id, e.data.properties);
    if (e.data?.type?.startsWith(`${kind}.`) && e.data.type !== `${kind}.asked`) open.delete(e.data.properties?.requestID);
  }
  return [...open.values()];
}

/** A read the recording does not have here: the nearest recorded answer to the same path (later first). */
function answerRead(got, from) {
  if (got.path === "/event") {
    writeEvent(openStream(got.res), { id: "evt_fake", type: "server.connected", properties: {} });
    return;
  }
  const at = (i) => {
    const e = entries[i];
    if (e?.dir !== "request" || e.method !== "GET" || e.path !== got.path) return null;
    return entries.find((r) => r.dir === "response" && r.id === e.id) ?? null;
  };
  for (let d = 0; d < entries.length; d++) {
    const r = at(from + d) ?? at(from - d);
    if (r) return answer(got.res, r.status, r.body);
  }
  if (got.path === "/session/status") return answer(got.res, 200, {});
  if (got.path === "/permission" || got.path === "/question") return answer(got.res, 200, waiting(got.path.slice(1), from));
  process.stderr.write(`opencode-serve fake: no recorded answer for GET ${got.path}\n`);
  answer(got.res, 404, { name: "NotFoundError", data: { message: `fake: not recorded: ${got.path}` } });
}

let cursor = 0;
let replayDone = false;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = raw;
    }
    if (env.FAKE_REQUEST_LOG) appendFileSync(env.FAKE_REQUEST_LOG, `${JSON.stringify({ method: req.method, path: req.url, body })}\n`);
    if (req.headers.authorization !== expectedAuth) {
      process.stderr.write(`opencode-serve fake: ${req.method} ${req.url} without the right password: 401\n`);
      res.writeHead(401, { "www-authenticate": 'Basic realm="Secure Area"' }).end();
      return;
    }
    const got = { method: req.method, path: req.url, body, res };
    if (replayDone) {
      if (got.method === "GET") return answerRead(got, entries.length - 1);
      die(`request after the end of the recording: ${shape(got.method, got.path, got.body)}`);
    }
    // A read the replay is not about to wait for is answered now (the replay may be writing events for a while).
    const next = entries.slice(cursor).find((e) => e.dir === "request");
    if (got.method === "GET" && (next?.method !== "GET" || next.path !== got.path)) return answerRead(got, cursor);
    inbox.push(got);
    wake?.();
  });
});

server.listen(0, "127.0.0.1", async () => {
  const port = server.address().port;
  const bound = new Map();
  let lastMs = 0;
  for (; cursor < entries.length; cursor++) {
    const e = entries[cursor];
    if (!env.FAKE_FAST && e.dir !== "request") await sleep(Math.min(200, Math.max(0, e.ms - lastMs)));
    lastMs = e.ms;
    switch (e.dir) {
      case "stdout":
        process.stdout.write(`${e.line.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`)}\n`);
        break;
      case "stderr":
        process.stderr.write(`${e.line}\n`);
        break;
      case "request": {
        const want = shape(e.method, e.path, e.body);
        for (;;) {
          const got = await nextRequest();
          if (shape(got.method, got.path, got.body) === want) {
            bound.set(e.id, got);
            break;
          }
          if (got.method === "GET") {
            answerRead(got, cursor);
            continue;
          }
          die(`request differs from the recording:\n  recorded: ${want}\n  received: ${shape(got.method, got.path, got.body)}`);
        }
        break;
      }
      case "response": {
        const got = bound.get(e.id);
        if (!got) break;
        if (e.sse) streams.set(e.id, openStream(got.res));
        else answer(got.res, e.status, e.body);
        break;
      }
      case "event": {
        const res = streams.get(e.stream)?.destroyed ? newest : (streams.get(e.stream) ?? newest);
        if (!res || res.destroyed) break;
        writeEvent(res, e.data);
        if (env.FAKE_DROP_SSE_AT && !dropped && ++sent >= Number(env.FAKE_DROP_SSE_AT)) {
          dropped = true;
          if (newest === res) newest = null;
          res.destroy();
        }
        break;
      }
      case "end":
        streams.get(e.stream)?.end();
        break;
    }
  }
  replayDone = true;
  // Requests that came in after the last recorded one.
  for (const got of inbox.splice(0)) {
    if (got.method === "GET") answerRead(got, entries.length - 1);
    else die(`request after the end of the recording: ${shape(got.method, got.path, got.body)}`);
  }
  // Like the real server: keep running until the runner signals the process group.
});
process.on("SIGTERM", () => process.exit(0));
