import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error bin/build.mjs is plain JavaScript with no type declarations
import { build } from "../../bin/build.mjs";
import { version } from "../../src/lib/version.ts";
import { tempDir } from "../helpers/tmp.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the repo (under node_modules/.cache) so the bundle finds package.json and config/ like dist/ does,
// and away from dist/, which child-process tests running at the same time may be loading.
const outdir = join(root, "node_modules/.cache", `asm-bundle-test-${process.pid}`);

/** Runs the bundle's `main(args)` in a child node and reports which chat libraries it loaded. */
function runBundle(args: string[], env: Record<string, string> = {}) {
  const script = `
    import { createRequire } from "node:module";
    const { main } = await import(${JSON.stringify(pathToFileURL(join(outdir, "main.js")).href)});
    process.exitCode = await main(${JSON.stringify(args)});
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/(discord\\.js|grammy)\\//.test(k));
    process.stderr.write("\\nLOADED " + loaded.length);
  `;
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ASM_|TELEGRAM_|DISCORD_)/.test(k)));
  return spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: tempDir(),
    env: { ...base, HOME: tempDir(), ...env },
    encoding: "utf8",
  });
}

describe("the bundle `npm ci` builds (bin/build.mjs)", () => {
  beforeAll(async () => {
    await build(outdir);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("runs the CLI: version from package.json, defaults from config/", () => {
    const v = runBundle(["--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const check = runBundle(["config", "check"], { ASM_DB: join(tempDir(), "asm.db") });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/"intervalSeconds": 60/);
  });

  it("loads no chat library in a process without chat tokens", () => {
    const r = runBundle(["scan", "--once"], { ASM_DB: join(tempDir(), "asm.db") });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/LOADED 0$/);
  });
});
