import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const lines = dockerfile
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

/** No Docker engine runs on our machines: check what the Dockerfile refers to instead. */
describe("Dockerfile", () => {
  const froms = lines.filter((l) => l.startsWith("FROM "));

  it("is multi-stage on a maintained LTS Node, not Node 20", () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.split(/\s+/)[1]!;
      expect(image).toMatch(/^node:(22|24)\b/);
    }
    const stages = froms.map((f) => f.match(/\bAS\s+(\S+)/i)?.[1]);
    for (const line of lines.filter((l) => l.includes("--from="))) {
      expect(stages).toContain(line.match(/--from=(\S+)/)![1]);
    }
  });

  it("copies only files that exist", () => {
    for (const line of lines.filter((l) => l.startsWith("COPY ") && !l.includes("--from="))) {
      const parts = line.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) expect(existsSync(join(root, src)), `${src} in: ${line}`).toBe(true);
    }
  });

  it("runs as non-root with a /data volume and an entrypoint that exists", () => {
    expect(lines).toContain("USER node");
    expect(dockerfile).toMatch(/VOLUME \["\/data"\]/);
    expect(dockerfile).toMatch(/ASM_DB=\/data\/asm\.db/);
    const entry = JSON.parse(lines.find((l) => l.startsWith("ENTRYPOINT "))!.slice("ENTRYPOINT ".length)) as string[];
    expect(existsSync(join(root, entry.at(-1)!))).toBe(true);
    const cmd = JSON.parse(lines.find((l) => l.startsWith("CMD "))!.slice(4)) as string[];
    expect(cmd).toEqual(["run"]);
  });

  it("installs what the runtime needs: tsx is a runtime dependency, the addon builds in the build stage", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(pkg.dependencies["better-sqlite3"]).toBeDefined();
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/apt-get install .*g\+\+/);
  });

  it("has what `prepare` needs before npm ci, and bundles once src/ is copied", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const script = pkg.scripts.prepare.split(/\s+/)[1] as string;
    expect(pkg.dependencies.esbuild, "the bundler must survive --omit=dev").toBeDefined();
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(new RegExp(`^COPY ${script.split("/")[0]} `))).toBeGreaterThan(-1);
    expect(at(new RegExp(`^COPY ${script.split("/")[0]} `))).toBeLessThan(at(/npm ci/));
    expect(at(/^COPY src /)).toBeLessThan(at(new RegExp(`^RUN node ${script.replace(".", "\\.")}$`)));
  });
});

describe("asm.service", () => {
  it("restarts on failure and runs the bin that exists", () => {
    const unit = readFileSync(join(root, "asm.service"), "utf8");
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^ExecStart=.*bin\/asm\.mjs run$/m);
    expect(existsSync(join(root, "bin/asm.mjs"))).toBe(true);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
  });
});

describe("node flags", () => {
  it("are the same wherever asm is started: the bin's shebang, npm start, the Dockerfile and asm.service", () => {
    const shebang = readFileSync(join(root, "bin/asm.mjs"), "utf8").split("\n", 1)[0]!;
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node( --[a-z-]+=\S+)+$/);
    const flags = shebang.split(/\s+/).filter((w) => w.startsWith("--"));
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.scripts.start).toBe(`node ${flags.join(" ")} bin/asm.mjs run`);
    const entry = JSON.parse(lines.find((l) => l.startsWith("ENTRYPOINT "))!.slice("ENTRYPOINT ".length)) as string[];
    expect(entry).toEqual(["node", ...flags, "bin/asm.mjs"]);
    const unit = readFileSync(join(root, "asm.service"), "utf8");
    expect(unit).toContain(`ExecStart=/usr/bin/env node ${flags.join(" ")} bin/asm.mjs run`);
  });
});
