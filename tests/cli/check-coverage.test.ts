import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("asm check says what the context check leaves out (issue 18 item 7)", () => {
  it("counts the checked sessions and names the skipped ones with the reason", async () => {
    const home = tempDir();
    writeClaudeSessions(home, 2);
    writeClaudeSessions(home, 1, new Date(Date.now() - 30 * 3_600_000), "-work-old");
    const config = join(home, "asm.json");
    writeFileSync(config, JSON.stringify({ checks: { gateway: { enabled: false }, logs: { enabled: false } } }));
    const env = { HOME: home, ASM_DB: join(home, "asm.db") };
    const text = (await runAsmInProcess(["check", "--once", "--config", config], env)).stdout;
    expect(text).toContain("context: 2 sessions checked; not checked: 1 idle over 24h");
    expect(text).toContain("  idle: no activity within checks.context.activeWithinHours (chat sessions are always checked)");
    const json = JSON.parse((await runAsmInProcess(["check", "--once", "--json", "--config", config], env)).stdout);
    expect(json.context).toEqual({ checked: 2, notChecked: { gone: 0, ended: 0, idle: 1 } });
  });
});

describe("asm sessions ranks and marks like /sessions (issue 18 item 7)", () => {
  it("a CHECKED column and the same 'not checked' counts", async () => {
    const home = tempDir();
    const [fresh] = writeClaudeSessions(home, 1);
    const [old] = writeClaudeSessions(home, 1, new Date(Date.now() - 30 * 3_600_000), "-work-old");
    const env = { HOME: home, ASM_DB: join(home, "asm.db") };
    expect((await runAsmInProcess(["scan", "--once"], env)).code).toBe(0);
    const text = (await runAsmInProcess(["sessions"], env)).stdout;
    expect(text).toMatch(/CHECKED/);
    expect(text).toMatch(new RegExp(`${fresh!.slice(0, 12)}.* yes `));
    expect(text).toMatch(new RegExp(`${old!.slice(0, 12)}.* no \\(idle\\)`));
    expect(text).toContain("context not checked: 1 idle over 24h (see checks.context in the README)");
  });
});
