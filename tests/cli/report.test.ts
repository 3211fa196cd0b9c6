import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openRuntime } from "../../src/store/runtime.ts";
import { seedReportFixture } from "../fixtures/report/seed.ts";
import { runAsm, runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function seeded() {
  const dir = tempDir();
  const env = { HOME: dir, ASM_DB: join(dir, "asm.db") };
  const rt = openRuntime({ env });
  seedReportFixture(rt.db, Date.now());
  rt.close();
  return { dir, env };
}

describe("asm report", () => {
  it("--out writes the PNG (a real asm process: the chart libraries and the font load from the install); --json prints the numbers", async () => {
    const { dir, env } = seeded();
    const out = join(dir, "report.png");
    const wrote = await runAsm(["report", "--since", "7d", "--out", out], { ...env, ASM_LOG_LEVEL: "warn" });
    expect(wrote.stderr).toBe("");
    expect(wrote.code).toBe(0);
    expect(wrote.stdout).toBe(`wrote ${out} (800×${readFileSync(out).readUInt32BE(20)})\n`);
    const png = readFileSync(out);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.readUInt32BE(16)).toBe(800);

    const json = await runAsmInProcess(["report", "--since", "24h", "--json"], env);
    expect(json.code).toBe(0);
    const data = JSON.parse(json.stdout);
    expect(data).toMatchObject({ window: "24h", bucket: "hour" });
    expect(data.context).toHaveLength(5);
    expect(data.usage.length).toBeGreaterThan(0);
    expect(existsSync(join(dir, "asm-report-24h.png"))).toBe(false);
  }, 60_000);

  it("refuses a window it does not draw and an --out that is not a .png", async () => {
    const { env } = seeded();
    const bad = await runAsmInProcess(["report", "--since", "90d"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since must be one of 24h, 7d, 30d");
    const notPng = await runAsmInProcess(["report", "--out", "report.jpg"], env);
    expect(notPng.code).toBe(2);
    expect(notPng.stderr).toContain("--out names a PNG file");
  });
});
