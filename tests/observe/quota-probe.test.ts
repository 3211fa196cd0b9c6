import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeProbe, latestQuotaReadings, pickPath, probeAllQuotas, probeQuota, type QuotaProbeConfig } from "../../src/observe/quota-probe.ts";
import { openStore } from "../../src/store/db.ts";
import { SeriesStore } from "../../src/store/series.ts";
import { cfg } from "../helpers/checks.ts";
import { answerLate, type LoopbackServer, loopbackServer } from "../helpers/http.ts";
import { tempDir } from "../helpers/tmp.ts";

let server: LoopbackServer;
let base: string;
const SECRET = "test-key-4242";

beforeAll(async () => {
  server = await loopbackServer((req, res) => {
    if (req.headers["x-api-key"] !== SECRET && req.url !== "/open") {
      res.statusCode = 401;
      return res.end('{"error":"unauthorized"}');
    }
    if (req.url?.startsWith("/quota")) return res.end(JSON.stringify({ data: { plans: [{ remaining: 37 }], text: "12" } }));
    if (req.url === "/open") return res.end("not json");
    if (req.url === "/slow") return answerLate(req, res, "{}");
    res.statusCode = 404;
    res.end();
  });
  base = server.base;
});
afterAll(() => server.close());

const probe = (over: Partial<QuotaProbeConfig>): QuotaProbeConfig => ({
  name: "minimax",
  url: null,
  headersFromEnv: {},
  jsonPath: null,
  command: null,
  limit: null,
  minRemaining: 100,
  ...over,
});
const env = { MINIMAX_KEY: SECRET };

describe("pickPath", () => {
  it("follows dots and array indexes, with or without $.", () => {
    const doc = { a: { b: [{ c: 5 }] } };
    expect(pickPath(doc, "a.b.0.c")).toBe(5);
    expect(pickPath(doc, "$.a.b.0.c")).toBe(5);
    expect(pickPath(doc, "a.x.c")).toBeUndefined();
  });
});

describe("probeQuota over HTTP", () => {
  const auth = { headersFromEnv: { "x-api-key": "MINIMAX_KEY" } };
  const cases: { name: string; p: Partial<QuotaProbeConfig>; remaining: number | null; error: string | RegExp | null; env?: Record<string, string> }[] = [
    { name: "reads the number at the path", p: { ...auth, url: `/quota`, jsonPath: "data.plans.0.remaining" }, remaining: 37, error: null },
    { name: "a numeric string counts", p: { ...auth, url: `/quota`, jsonPath: "data.text" }, remaining: 12, error: null },
    { name: "a path to nothing", p: { ...auth, url: `/quota`, jsonPath: "data.nope" }, remaining: null, error: "data.nope is not a number" },
    { name: "a missing credential is named", p: { ...auth, url: `/quota` }, remaining: null, error: /MINIMAX_KEY \(header x-api-key\) is not set/, env: {} },
    { name: "wrong credentials", p: { ...auth, url: `/quota` }, remaining: null, error: "HTTP 401", env: { MINIMAX_KEY: "wrong" } },
    { name: "not JSON", p: { url: `/open` }, remaining: null, error: "answer is not JSON" },
    { name: "too slow", p: { ...auth, url: `/slow` }, remaining: null, error: "no answer in 300 ms" },
    { name: "nothing configured", p: {}, remaining: null, error: "neither url nor command is configured" },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const p = c.p.url ? { ...c.p, url: `${base}${c.p.url}` } : c.p;
      const r = await probeQuota(probe(p), c.env ?? env, 300, 7);
      expect(r.remaining).toBe(c.remaining);
      expect(r.at).toBe(7);
      if (c.error === null) expect(r.error).toBeNull();
      else expect(r.error).toMatch(c.error);
    });
  }

  it("never shows a query string (it may carry a key)", () => {
    expect(describeProbe(probe({ url: "https://api.example.test/v1/quota?key=sk-123", jsonPath: "a.b" }))).toBe("https://api.example.test/v1/quota a.b");
  });
});

describe("probeQuota by command", () => {
  const node = process.execPath;
  it("reads the printed number", async () => {
    expect(await probeQuota(probe({ command: [node, "-e", "console.log(' 1234.5 ')"] }), {}, 10_000)).toMatchObject({ remaining: 1234.5, error: null });
  });
  it("output that is not a number", async () => {
    expect(await probeQuota(probe({ command: [node, "-e", "console.log('lots')"] }), {}, 10_000)).toMatchObject({
      remaining: null,
      error: "command did not print a number",
    });
  });
  it("a failing command", async () => {
    expect(await probeQuota(probe({ command: [node, "-e", "process.exit(2)"] }), {}, 10_000)).toMatchObject({ remaining: null, error: "exit 2" });
  });
});

describe("probeAllQuotas", () => {
  it("records readings and reads the latest back for cycles that do not probe", async () => {
    const db = openStore(join(tempDir(), "asm.db"));
    const series = new SeriesStore(db);
    const config = cfg({
      checks: {
        quota: {
          probes: [
            { name: "a", url: `${base}/quota`, headersFromEnv: { "x-api-key": "MINIMAX_KEY" }, jsonPath: "data.plans.0.remaining", limit: 1000 },
            { name: "b", command: [process.execPath, "-e", "process.exit(1)"] },
          ],
          minRemaining: 42,
        },
      },
    });
    await probeAllQuotas(config, series, env, 5_000, 100);
    const probed = await probeAllQuotas(config, series, env, 5_000, 200);
    const latest = latestQuotaReadings(config, series);
    expect(latest).toEqual(probed);
    expect(latest.map((r) => [r.name, r.remaining, r.error, r.at, r.limit, r.minRemaining])).toEqual([
      ["a", 37, null, 200, 1000, 42],
      ["b", null, "exit 1", 200, null, 42],
    ]);
    db.close();
  });
});
