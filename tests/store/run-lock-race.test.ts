import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.ts";

/** One `asm run`'s start, reduced to what races: open the store, claim the run lock (see the script). */
const script = fileURLToPath(new URL("./run-lock-contender.mjs", import.meta.url));

/** Starts a contender; `ready` resolves once it waits for the go file, `outcome` with what it printed after. */
function contender(path: string, go: string) {
  const child = spawn(process.execPath, [script, path, go], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  child.stdout.on("data", (d) => {
    out += d;
    if (out.includes("ready\n")) ready();
  });
  child.stderr.on("data", (d) => (out += d));
  const outcome = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => {
      ready();
      resolve(out.replace("ready\n", "").trim());
    });
  });
  return { ready: isReady, outcome };
}

describe("two `asm run` started at the same instant on a new database", () => {
  it("exactly one takes the run lock; the others are told another run holds it (never a migration error or 'locked')", { timeout: 120_000 }, async () => {
    const dir = tempDir("asm-race-");
    for (let round = 0; round < 4; round++) {
      const path = join(dir, `asm-${round}.db`);
      const go = join(dir, `go-${round}`);
      const runs = [contender(path, go), contender(path, go), contender(path, go)];
      await Promise.all(runs.map((r) => r.ready));
      writeFileSync(go, "");
      const outcomes = await Promise.all(runs.map((r) => r.outcome));
      expect(
        outcomes.filter((o) => o === "claimed"),
        outcomes.join("\n"),
      ).toHaveLength(1);
      expect(
        outcomes.filter((o) => o.startsWith("AlreadyRunningError: another asm run")),
        outcomes.join("\n"),
      ).toHaveLength(2);
    }
  });
});
