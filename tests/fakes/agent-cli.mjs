#!/usr/bin/env node
// A small fake agent CLI for tests: replays an exchange a real CLI had (tests/fixtures/streams/<agent>/
// <scenario>.exchange.jsonl, recorded by tests/fixtures/generate/generate-streams.sh), byte for byte on
// stdout, and waits for what the real driver wrote on stdin before going on. When what arrives differs
// from the recording (we deny where the recording allowed), it says so on stderr and exits 97, so a test
// can never pass on a replay that did not happen.
//
//   FAKE_EXCHANGE      the exchange file (a CLI driven on stdin while it runs), or:
//   FAKE_STDOUT        a recorded stdout (one-shot CLIs: the prompt is read from stdin to its end first),
//                      with FAKE_STDERR_FILE and FAKE_EXIT (the recorded exit code)
//   FAKE_STDIN_LOG     append every stdin line received here
//   FAKE_ARGV_LOG      write our argv (JSON) here
//   FAKE_IGNORE_SIGINT ignore SIGINT (a child that does not stop when asked)
//   FAKE_HANG_AT       "stdout line number" after which the fake goes silent forever
//   FAKE_FAST          do not keep the recorded timing (default: keep gaps, capped at 200 ms)
//   FAKE_EXIT_EARLY    exit with this code before printing anything (a CLI that crashes at start)
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";

const env = process.env;
if (env.FAKE_ARGV_LOG) writeFileSync(env.FAKE_ARGV_LOG, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), worker: env.ASM_WORKER_ID ?? null }));
if (env.FAKE_IGNORE_SIGINT) process.on("SIGINT", () => {});
if (env.FAKE_EXIT_EARLY) {
  process.stderr.write("fatal: could not start (fake early exit)\n");
  process.exit(Number(env.FAKE_EXIT_EARLY));
}
if (env.FAKE_STDOUT) {
  let input = "";
  process.stdin.on("data", (c) => (input += c));
  await new Promise((r) => process.stdin.on("end", r).on("error", r));
  if (env.FAKE_STDIN_LOG) appendFileSync(env.FAKE_STDIN_LOG, input);
  const lines = readFileSync(env.FAKE_STDOUT, "utf8").split("\n").filter(Boolean);
  for (const [n, l] of lines.entries()) {
    process.stdout.write(`${l}\n`);
    if (env.FAKE_HANG_AT && n + 1 >= Number(env.FAKE_HANG_AT)) await new Promise(() => {});
  }
  if (env.FAKE_STDERR_FILE) process.stderr.write(readFileSync(env.FAKE_STDERR_FILE, "utf8"));
  process.exit(Number(env.FAKE_EXIT ?? 0));
}
const entries = readFileSync(env.FAKE_EXCHANGE, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));

const inbox = [];
let eof = false;
let wake = null;
let buf = "";
process.stdin.on("data", (c) => {
  buf += c.toString("utf8");
  for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!line.trim()) continue;
    if (env.FAKE_STDIN_LOG) appendFileSync(env.FAKE_STDIN_LOG, `${line}\n`);
    inbox.push(line);
  }
  wake?.();
});
process.stdin.on("end", () => {
  eof = true;
  wake?.();
});
process.stdin.on("error", () => {});

const next = async () => {
  for (;;) {
    if (inbox.length) return inbox.shift();
    if (eof) return null;
    await new Promise((r) => (wake = r));
    wake = null;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shape = (line) => {
  try {
    const d = JSON.parse(line);
    // JSON-RPC (Codex app-server, Gemini ACP): a request or notification by its method, a response by the
    // decision it carries, so a replay fails when we answer differently from the recording.
    if (typeof d.method === "string") return `rpc:${d.method}`;
    if (d && typeof d === "object" && "id" in d && ("result" in d || "error" in d)) {
      const r = d.result ?? {};
      return `rpc-response/${d.error ? "error" : (r.decision ?? r.outcome?.optionId ?? r.outcome?.outcome ?? r.action ?? "ok")}`;
    }
    return d.type === "control_response"
      ? `control_response/${d.response?.response?.behavior}`
      : d.type === "control_request"
        ? `control_request/${d.request?.subtype}`
        : (d.type ?? "text");
  } catch {
    return "text";
  }
};

let lastMs = 0;
let outLines = 0;
let exitCode = 0;
const exitEntry = entries.find((e) => e.dir === "driver" && /^exit code=/.test(e.line));
if (exitEntry) exitCode = Number(/code=(-?\d+|null)/.exec(exitEntry.line)[1]) || 0;
const skipToClose = () => {
  const i = entries.findIndex((e) => e.dir === "driver" && /closing stdin/.test(e.line));
  return i;
};

for (let i = 0; i < entries.length; i++) {
  const e = entries[i];
  if (!env.FAKE_FAST) await sleep(Math.min(200, Math.max(0, e.ms - lastMs)));
  lastMs = e.ms;
  if (e.dir === "stdout") {
    process.stdout.write(`${e.line}\n`);
    outLines++;
    if (env.FAKE_HANG_AT && outLines >= Number(env.FAKE_HANG_AT)) await new Promise(() => {});
  } else if (e.dir === "stderr") {
    process.stderr.write(`${e.line}\n`);
  } else if (e.dir === "stdin") {
    const want = shape(e.line);
    const got = await next();
    if (got === null) {
      // Our side closed stdin where the recording went on: continue from where the recording closed it.
      const j = skipToClose();
      if (j > i) {
        i = j;
        continue;
      }
      break;
    }
    if (shape(got) !== want) {
      process.stderr.write(`fake: expected ${want} on stdin, got ${shape(got)}: ${got.slice(0, 200)}\n`);
      process.exit(97);
    }
  } else if (e.dir === "driver" && /closing stdin/.test(e.line)) {
    while ((await next()) !== null) {}
  }
}
process.exit(exitCode);
