import { spawn, spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

/**
 * The peer the cold scan is measured against (issue 19): ccusage, the fastest tool that reads the same agent
 * files. Its npm release (20.x) is a thin Node launcher (`ccusage/src/cli.js`) that spawns a native binary from
 * the optional dependency `@ccusage/ccusage-<platform>-<arch>`; the bench runs that binary directly, so the
 * figures are the native program's own, not the launcher's Node process (which would hide the child's memory).
 */

/** A ccusage binary found on this machine, or why there is none (the comparison is then skipped, never guessed). */
export type Peer = { found: true; bin: string; version: string; via: string } | { found: false; why: string };

/** One run of the peer, measured from outside as the bench has no way into a foreign process. */
export interface PeerMeasure {
  /** spawn to exit, as seen by the parent. */
  wallMs: number;
  /** the largest VmHWM seen in /proc/<pid>/status, sampled every few ms until the process exits. */
  maxRssMiB: number;
  /** sessions in its JSON output, by agent: proof it read the corpus, and of what it read. */
  sessions: Record<string, number>;
}

/** Raised when the peer fails or prints something the bench cannot read: a wrong comparison is worse than none. */
export class PeerRunError extends Error {
  constructor(
    readonly bin: string,
    readonly args: string[],
    readonly detail: string,
  ) {
    super(`${bin} ${args.join(" ")}: ${detail}`);
  }
}

const nativePackage = `@ccusage/ccusage-${process.platform}-${process.arch}`;
const nativeSubpath = process.platform === "win32" ? "bin/ccusage.exe" : "bin/ccusage";

/** The native binary shipped next to a ccusage launcher (or this repo's devDependency), if installed. */
function nativeBeside(from: string): string | undefined {
  try {
    return createRequire(from).resolve(`${nativePackage}/${nativeSubpath}`);
  } catch {
    return undefined;
  }
}

const isScript = (path: string) => readFileSync(path).subarray(0, 2).toString() === "#!";

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {}
  }
  return undefined;
}

/**
 * Finds ccusage's native binary: `CCUSAGE=/path` (the binary, or a launcher whose native package sits beside it),
 * else this repo's devDependency, else `ccusage` on PATH.
 */
export function findCcusage(env: NodeJS.ProcessEnv = process.env): Peer {
  const candidates: [string, string][] = [];
  if (env.CCUSAGE) candidates.push([env.CCUSAGE, "CCUSAGE"]);
  else {
    const dev = nativeBeside(join(import.meta.dirname, "../package.json"));
    if (dev) candidates.push([dev, "devDependency"]);
    const path = onPath("ccusage");
    if (path) candidates.push([path, "PATH"]);
  }
  if (candidates.length === 0)
    return {
      found: false,
      why: `no ccusage: not installed (npm ci installs the devDependency; ${nativePackage} is not published for this platform?), not on PATH, CCUSAGE unset`,
    };
  const problems: string[] = [];
  for (const [given, via] of candidates) {
    if (!existsSync(given)) {
      problems.push(`${via}: ${given} does not exist`);
      continue;
    }
    let bin = realpathSync(given);
    if (isScript(bin)) {
      const native = nativeBeside(bin);
      if (!native) {
        problems.push(`${via}: ${given} is a launcher script and ${nativePackage} is not installed beside it (measuring the launcher would miss its child)`);
        continue;
      }
      bin = native;
    }
    // npm unpacks the binary without its x bit; ccusage's own launcher sets it the same way on first run.
    if ((statSync(bin).mode & 0o111) === 0) chmodSync(bin, 0o755);
    const v = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (v.status !== 0) {
      problems.push(`${via}: ${bin} --version failed (${v.status ?? v.error?.message}): ${v.stderr.trim().slice(0, 200)}`);
      continue;
    }
    return { found: true, bin, version: v.stdout.trim(), via };
  }
  return { found: false, why: problems.join("; ") };
}

/** Peak RSS so far of a live process (VmHWM never decreases), or undefined once it has exited. */
function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the peer once with HOME set to the corpus and nothing else that could point it elsewhere (CLAUDE_CONFIG_DIR,
 * CODEX_HOME, XDG_* and the like are dropped). Output is parsed for its session count by agent.
 */
export function measurePeer(bin: string, args: string[], home: string): Promise<PeerMeasure> {
  const env = { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC", NO_COLOR: "1", LANG: "C.UTF-8" };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    let peakKiB = 0;
    const sample = () => {
      const k = child.pid === undefined ? undefined : vmHwmKiB(child.pid);
      if (k !== undefined && k > peakKiB) peakKiB = k;
    };
    const timer = setInterval(sample, 2);
    child.on("error", (e) => {
      clearInterval(timer);
      reject(new PeerRunError(bin, args, e.message));
    });
    // "exit", not "close": the process is gone here; stdout may still be draining into `out`.
    let wallMs = 0;
    child.on("exit", () => {
      wallMs = performance.now() - t0;
      clearInterval(timer);
    });
    child.on("close", (code) => {
      if (code !== 0) return reject(new PeerRunError(bin, args, `exit ${code}: ${Buffer.concat(err).toString().slice(-500)}`));
      let sessions: Record<string, number>;
      try {
        // `ccusage session` prints { session: [{ agent, … }] }; `ccusage claude session` prints { sessions: [{ … }] }.
        const json = JSON.parse(Buffer.concat(out).toString()) as { session?: unknown; sessions?: unknown };
        const rows = json.session ?? json.sessions;
        if (!Array.isArray(rows)) throw new Error("no session array");
        sessions = {};
        for (const r of rows as { agent?: string }[]) sessions[r.agent ?? "claude"] = (sessions[r.agent ?? "claude"] ?? 0) + 1;
      } catch (e) {
        return reject(new PeerRunError(bin, args, `unreadable JSON output: ${(e as Error).message}`));
      }
      if (peakKiB === 0) return reject(new PeerRunError(bin, args, "exited before its memory could be sampled"));
      resolve({ wallMs, maxRssMiB: peakKiB / 1024, sessions });
    });
  });
}
