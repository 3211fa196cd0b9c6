import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { exitCodes } from "../../src/cli/errors.ts";
import { loadConfig } from "../../src/config/load.ts";
import { gatewayWatch } from "../../src/observe/gateway-target.ts";
import { tempDir } from "../helpers/tmp.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const lines = dockerfile
  .replace(/\\\n\s*/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const readme = readFileSync(join(root, "README.md"), "utf8");
const section = (title: string) => readme.slice(readme.indexOf(`## ${title}`), readme.indexOf("\n## ", readme.indexOf(`## ${title}`) + 3));

/** The runtime stage's environment: every `ENV K=V …` after the last FROM. */
function imageEnv(): Record<string, string> {
  const runtime = lines.slice(lines.findLastIndex((l) => l.startsWith("FROM ")));
  const env: Record<string, string> = {};
  for (const l of runtime.filter((x) => x.startsWith("ENV "))) {
    for (const [, k, v] of l.slice(4).matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
  }
  return env;
}

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

describe("the image's runtime settings", () => {
  it("checks its health with asm health, which never creates the database", () => {
    const check = lines.find((l) => l.startsWith("HEALTHCHECK "));
    expect(check).toBeDefined();
    expect(check).toMatch(/--start-period=\d+s/);
    const cmd = JSON.parse(check!.slice(check!.indexOf("CMD ") + 4)) as string[];
    expect(cmd).toEqual(["node", "bin/asm.mjs", "health"]);
  });

  it("is a valid configuration with the gateway check off (127.0.0.1 is the container) and the database in /data", () => {
    const env = imageEnv();
    expect(env.HOME).toBe("/home/node");
    const { config } = loadConfig({ env });
    expect(config.store.path).toBe("/data/asm.db");
    expect(config.checks.gateway.enabled).toBe(false);
    expect(gatewayWatch(config)).toMatchObject({ target: null, reason: expect.stringContaining("off") });
    // The README's way back: host networking and the check turned on finds the gateway openclaw.json declares.
    const on = loadConfig({ env: { ...env, ASM_CHECKS__GATEWAY__ENABLED: "true", ASM_CHECKS__GATEWAY__URL: "http://192.168.1.10:18789/readyz" } }).config;
    expect(gatewayWatch(on)).toMatchObject({ target: { url: "http://192.168.1.10:18789/readyz" } });
    expect(section("Docker")).toContain("--network host -e ASM_CHECKS__GATEWAY__ENABLED=true");
  });

  it("the README's docker run mounts the agents under the image's HOME, the data at ASM_DB's folder, as the agents' uid", () => {
    const env = imageEnv();
    const docker = section("Docker");
    const targets = [...docker.matchAll(/-v "[^":]+:([^":]+)(?::ro)?"/g)].map((m) => m[1]!);
    expect(targets).toContain("/data");
    expect(env.ASM_DB!.startsWith("/data/")).toBe(true);
    for (const t of targets.filter((x) => x !== "/data")) expect(t.startsWith(`${env.HOME}/`), t).toBe(true);
    expect(docker).toContain('--user "$(id -u):$(id -g)"');
  });
});

describe("asm.service", () => {
  const unit = readFileSync(join(root, "asm.service"), "utf8");

  it("restarts on failure but not on bad config or an unusable database, and runs the bin that exists", () => {
    expect(unit).toMatch(/^Restart=on-failure$/m);
    const prevented = unit
      .match(/^RestartPreventExitStatus=(.*)$/m)?.[1]
      ?.split(/\s+/)
      .map(Number);
    expect(prevented).toEqual([exitCodes.config, exitCodes.store]);
    expect(unit).toMatch(/^ExecStart=.*bin\/asm\.mjs run$/m);
    expect(existsSync(join(root, "bin/asm.mjs"))).toBe(true);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
  });

  it("the README's install line writes it with the absolute node in use and the clone's folder", () => {
    const sed = section("Running as a service")
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.startsWith("sed "));
    expect(sed).toBeDefined();
    const home = tempDir("asm-unit-");
    execFileSync("mkdir", ["-p", join(home, ".config/systemd/user")]);
    // PATH as an nvm/fnm/volta shell has it: node found only through a folder systemd never sees.
    execFileSync("bash", ["-c", sed!], { cwd: root, env: { HOME: home, PATH: `${join(process.execPath, "..")}:/usr/bin:/bin` } });
    const written = readFileSync(join(home, ".config/systemd/user/asm.service"), "utf8");
    const exec = written.match(/^ExecStart=(\S+) (.*)$/m)!;
    expect(exec[1]).toBe(process.execPath);
    accessSync(exec[1]!, constants.X_OK);
    expect(exec[2]).toBe(unit.match(/^ExecStart=\/usr\/bin\/env node (.*)$/m)![1]);
    expect(written).toMatch(new RegExp(`^WorkingDirectory=${root.replace(/\/$/, "")}$`, "m"));
    expect(written.replace(/^(ExecStart|WorkingDirectory)=.*$/gm, "")).toBe(unit.replace(/^(ExecStart|WorkingDirectory)=.*$/gm, ""));
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
