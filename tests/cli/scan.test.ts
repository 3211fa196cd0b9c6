import { appendFileSync, cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runAsm, runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const fixtures = join(import.meta.dirname, "../fixtures");

/** A HOME holding the real Claude Code and Codex files, and the hand-made Claude cases. */
function home() {
  const dir = tempDir();
  cpSync(join(fixtures, "real/claude/.claude"), join(dir, ".claude"), { recursive: true });
  cpSync(join(fixtures, "claude/projects"), join(dir, ".claude/projects"), { recursive: true });
  cpSync(join(fixtures, "real/codex/.codex"), join(dir, ".codex"), { recursive: true });
  // The agents' own location variables of the shell running the tests must not add roots.
  return { HOME: dir, ASM_DB: join(dir, "asm.db"), CLAUDE_CONFIG_DIR: "", CODEX_HOME: "" };
}

const bytesOf = (stdout: string, platform: string) => {
  const line = stdout.split("\n").find((l) => l.startsWith(platform));
  const m = /(\d+) bytes/.exec(line ?? "");
  if (!m) throw new Error(`no ${platform} line in:\n${stdout}`);
  return Number(m[1]);
};

describe("asm scan --once", () => {
  it("--json prints one object per session with the agreed fields", async () => {
    const env = home();
    const r = await runAsm(["scan", "--once", "--json"], env);
    expect(r.code).toBe(0);
    const sessions = JSON.parse(r.stdout) as Record<string, unknown>[];
    const claude = sessions.filter((s) => s.platform === "claude");
    const codex = sessions.filter((s) => s.platform === "codex");
    expect(claude).toHaveLength(7);
    expect(codex).toHaveLength(2);
    for (const s of sessions) {
      for (const key of [
        "platform",
        "sessionId",
        "agentId",
        "kind",
        "path",
        "model",
        "contextTokens",
        "contextWindow",
        "contextPercent",
        "updatedAt",
        "sizeBytes",
        "parseErrors",
      ]) {
        expect(s).toHaveProperty(key);
      }
      expect(typeof s.updatedAt === "string" && !Number.isNaN(Date.parse(s.updatedAt as string))).toBe(true);
    }
    expect(sessions.find((s) => s.sessionId === "163916ff-775e-4222-8a81-8acc7c4cfe27")).toMatchObject({
      kind: "session",
      agentId: null,
      model: "claude-opus-5-5",
      contextTokens: 30833,
      contextWindow: 200000,
      contextPercent: 15.4,
      parseErrors: 0,
    });
    expect(sessions.find((s) => s.sessionId === "agent-a5f0c1")).toMatchObject({ kind: "subagent", parent: "claude::7d3f2a10-1111-4c2e-9a55-0123456789ab" });
    expect(sessions.find((s) => s.sessionId === "01a209f7-4642-7fd2-9938-e1c95f5d15ec")).toMatchObject({ contextTokens: 27816, contextWindow: 258400 });
  }, 120_000);

  // In-process through main(): the same code path without four process start-ups (the first test runs the binary).
  it("a repeat scan reads 0 bytes; an append reads only the new bytes and counts them once", async () => {
    const env = home();
    const first = await runAsmInProcess(["scan", "--once"], env);
    expect(first.code).toBe(0);
    expect(bytesOf(first.stdout, "claude")).toBeGreaterThan(0);
    const again = await runAsmInProcess(["scan", "--once"], env);
    expect(bytesOf(again.stdout, "claude")).toBe(0);
    expect(bytesOf(again.stdout, "codex")).toBe(0);

    const path = join(env.HOME, ".claude/projects/-home-dev-caf--app/9e9e9e9e-2222-4c2e-9a55-0123456789ab.jsonl");
    const line = readFileSync(path, "utf8").split("\n")[0]!;
    const extra = `${line.replace('"uuid":"e1"', '"uuid":"e3"').replace("10:00:00.000Z", "10:05:00.000Z")}\n`;
    appendFileSync(path, extra);
    const third = await runAsmInProcess(["scan", "--once"], env);
    expect(bytesOf(third.stdout, "claude")).toBe(Buffer.byteLength(extra));
    const list = JSON.parse((await runAsmInProcess(["sessions", "--json", "--platform", "claude"], env)).stdout) as Record<string, unknown>[];
    expect(list.find((s) => s.sessionId === "9e9e9e9e-2222-4c2e-9a55-0123456789ab")).toMatchObject({ messageCount: 2, state: "unknown" }); // a prompt days ago with no answer: not claimed to run
  }, 120_000);
});
