import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/tmp.ts";

/**
 * The layer rules of .dependency-cruiser.cjs (what `npm run deps`, part of `npm test`, enforces), run on a small
 * tree with one of each mistake: they must catch an upward import, a cycle, a folder that is in no layer and a
 * check that runs I/O, and let a downward import (and a check naming an observer's type) through.
 */

const repo = join(import.meta.dirname, "..");
const depcruise = join(repo, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function tree(files: Record<string, string>): string {
  const root = tempDir("asm-layers-");
  copyFileSync(join(repo, ".dependency-cruiser.cjs"), join(root, ".dependency-cruiser.cjs"));
  writeFileSync(
    join(root, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", allowImportingTsExtensions: true, noEmit: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function violations(root: string): Promise<string[]> {
  const out = await promisify(execFile)(process.execPath, [depcruise, "src", "--config", ".dependency-cruiser.cjs", "--output-type", "json"], {
    cwd: root,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const found = (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  return found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe("the layer rules (npm run deps)", () => {
  it("fail an upward import, a cycle, a folder outside the layers and I/O in checks; pass a downward import", async () => {
    const root = tree({
      "src/lib/base.ts": "export const base = 1;\n",
      "src/chat/down.ts": 'import { base } from "../lib/base.ts";\nexport const down = base;\n',
      "src/lib/up.ts": 'import { down } from "../chat/down.ts";\nexport const up = down;\n',
      "src/core/a.ts": 'import { b } from "./b.ts";\nexport const a = () => b();\n',
      "src/core/b.ts": 'import { a } from "./a.ts";\nexport const b = () => a();\n',
      "src/extra/x.ts": 'import { base } from "../lib/base.ts";\nexport const x = base;\n',
      "src/monitor/m.ts": 'import { x } from "../extra/x.ts";\nexport const m = x;\n',
      "src/observe/o.ts": 'import { readFileSync } from "node:fs";\nexport type O = { n: number };\nexport const read = () => readFileSync("/dev/null");\n',
      "src/checks/typed.ts": 'import type { O } from "../observe/o.ts";\nexport const pure = (o: O) => o.n;\n',
      "src/checks/runs.ts": 'import { read } from "../observe/o.ts";\nexport const impure = () => read();\n',
      "src/checks/io.ts": 'import { statSync } from "node:fs";\nexport const io = () => statSync("/");\n',
    });
    const found = await violations(root);
    expect(found.filter((v) => !v.startsWith("no-circular"))).toEqual([
      "checks-are-pure: src/checks/io.ts → fs",
      "checks-are-pure: src/checks/runs.ts → src/observe/o.ts",
      "every-folder-is-a-layer: src/extra/x.ts → src/lib/base.ts",
      "every-folder-is-a-layer: src/monitor/m.ts → src/extra/x.ts",
      "lib-imports-down: src/lib/up.ts → src/chat/down.ts",
    ]);
    // The cycle is reported once, from whichever of its modules the cruise meets first.
    expect(found.filter((v) => v.startsWith("no-circular"))).toEqual([expect.stringMatching(/^no-circular: src\/core\/[ab]\.ts → src\/core\/[ab]\.ts$/)]);
  }, 60_000);
});
