import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { writeClaudeSessions } from "../helpers/claude-sessions.ts";
import { runAsm, runAsmInProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("asm check --once", () => {
  it("prints the findings and the alerts they produced, records them, and is idempotent", async () => {
    const home = tempDir();
    const ids = writeClaudeSessions(home, 2);
    const db = join(home, "asm.db");
    const config = join(home, "asm.json");
    writeFileSync(
      config,
      // Logs off: the default also reads OpenClaw's /tmp/openclaw logs, which belong to the machine, not the test.
      JSON.stringify({ checks: { transcript: { maxBytes: 1000, sizePlatforms: ["claude"] }, gateway: { enabled: false }, logs: { enabled: false } } }),
    );
    const env = { HOME: home, ASM_DB: db };
    const first = await runAsm(["check", "--once", "--json", "--config", config], env);
    expect(first.stderr).not.toMatch(/unexpected error/);
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    const transcript = out.findings.filter((f: { check: string }) => f.check === "transcript");
    expect(transcript.map((f: { subject: string }) => f.subject).sort()).toEqual(ids.map((id) => `session:claude::${id}`).sort());
    const alerts = out.alerts.filter((a: { check: string }) => a.check === "transcript");
    expect(alerts).toHaveLength(2);
    for (const a of alerts) expect(a).toMatchObject({ status: "firing", change: "fired", severity: "warning" });
    expect(out.outbox).toEqual({ enqueued: out.alerts.length, transports: ["console"] });

    // The repeats run in-process through main() (same code path, no process start-up).
    const again = JSON.parse((await runAsmInProcess(["check", "--once", "--json", "--config", config], env)).stdout);
    expect(again.alerts.map((a: { change: string }) => a.change)).toEqual(out.alerts.map(() => "unchanged"));
    expect(again.alerts.map((a: { id: number }) => a.id)).toEqual(out.alerts.map((a: { id: number }) => a.id));
    expect(again.outbox.enqueued).toBe(0);

    // Recorded for the bot: the alerts and one queued console message each, not sent by check.
    const store = openStore(db);
    expect((store.prepare("SELECT COUNT(*) AS n FROM alerts WHERE status = 'firing'").get() as { n: number }).n).toBe(out.alerts.length);
    expect(store.prepare("SELECT DISTINCT transport, kind, status FROM outbox").all()).toEqual([{ transport: "console", kind: "fire", status: "pending" }]);
    store.close();

    const text = await runAsmInProcess(["check", "--once", "--config", config], env);
    expect(text.stdout).toMatch(/\d+ findings/);
    expect(text.stdout).toContain(`transcript    claude`);
  });
});
