import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_SERIES, probeGateway, probeOnce } from "../../src/observe/gateway-probe.ts";
import { openStore } from "../../src/store/db.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { answerLate, type LoopbackServer, loopbackServer } from "../helpers/http.ts";
import { tempDir } from "../helpers/tmp.ts";

let server: LoopbackServer;
let base: string;

beforeAll(async () => {
  server = await loopbackServer((req, res) => {
    if (req.url === "/readyz") return res.end('{"ok":true}');
    if (req.url === "/broken") {
      res.statusCode = 500;
      return res.end("internal");
    }
    if (req.url === "/slow") return answerLate(req, res, "late");
    res.statusCode = 404;
    res.end();
  });
  base = server.base;
});
afterAll(() => server.close());

describe("probeOnce over HTTP", () => {
  it("a 2xx answer is up, with its latency", async () => {
    const s = await probeOnce({ url: `${base}/readyz` }, 2_000, 1);
    expect(s).toMatchObject({ ts: 1, ok: true, detail: "HTTP 200", answered: true });
    expect(s.latencyMs).toBeGreaterThanOrEqual(0);
  });
  it("a 500 is down", async () => {
    expect(await probeOnce({ url: `${base}/broken` }, 2_000)).toMatchObject({ ok: false, detail: "HTTP 500", answered: true });
  });
  it("no answer within the timeout is down", async () => {
    expect(await probeOnce({ url: `${base}/slow` }, 200)).toMatchObject({ ok: false, latencyMs: null, detail: "no answer in 200 ms", answered: false });
  });
  it("nobody listening is down, with the error code", async () => {
    const closed = await loopbackServer(() => {});
    await closed.close();
    expect(await probeOnce({ url: `${closed.base}/readyz` }, 2_000)).toMatchObject({ ok: false, detail: "ECONNREFUSED", answered: false });
  });
  it("a port fetch refuses to use is down, and says so instead of only 'fetch failed'", async () => {
    expect(await probeOnce({ url: "http://127.0.0.1:6000/health" }, 2_000)).toMatchObject({ ok: false, detail: "fetch failed: bad port", answered: false });
  });
});

describe("probeOnce by command", () => {
  const node = process.execPath;
  it("exit 0 is up", async () => {
    expect(await probeOnce({ command: [node, "-e", "console.log('{\"ok\":true}')"] }, 10_000)).toMatchObject({ ok: true, detail: "exit 0" });
  });
  it("a non-zero exit is down and keeps the output's tail", async () => {
    const s = await probeOnce({ command: [node, "-e", "console.error('gateway unreachable'); process.exit(3)"] }, 10_000);
    expect(s).toMatchObject({ ok: false, answered: false });
    expect(s.detail).toMatch(/^exit 3: gateway unreachable/);
  });
  it("a command that hangs is killed at the timeout", async () => {
    expect(await probeOnce({ command: [node, "-e", "setTimeout(() => {}, 60000)"] }, 300)).toMatchObject({ ok: false, detail: "no answer in 300 ms" });
  });
  it("arguments are not interpreted by a shell", async () => {
    const s = await probeOnce({ command: [node, "-e", "process.exit(process.argv[1] === '$(echo hi); ls' ? 0 : 1)", "$(echo hi); ls"] }, 10_000);
    expect(s.ok).toBe(true);
  });
  it("a program that does not exist is down, not thrown", async () => {
    const s = await probeOnce({ command: ["/nonexistent/openclaw", "health"] }, 2_000);
    expect(s.ok).toBe(false);
    expect(s.detail).toMatch(/ENOENT|nonexistent/);
  });
});

describe("probeGateway", () => {
  it("records each result in the gateway series", async () => {
    const db = openStore(join(tempDir(), "asm.db"));
    const series = new SeriesStore(db);
    await probeGateway(series, { url: `${base}/readyz` }, 2_000, 1_000);
    await probeGateway(series, { url: `${base}/broken` }, 2_000, 2_000);
    const points = series.since(GATEWAY_SERIES, "", 0);
    expect(points.map((p) => [p.ts, p.ok])).toEqual([
      [1_000, true],
      [2_000, false],
    ]);
    expect(points[1]!.extra).toEqual({ detail: "HTTP 500", answered: true, target: `GET ${base}/broken` });
    expect(series.lastOk(GATEWAY_SERIES, "")!.ts).toBe(1_000);
    db.close();
  });
});
