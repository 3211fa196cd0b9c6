import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleTransport } from "../../../src/chat/console/transport.ts";
import { CoreInbound } from "../../../src/chat/dispatch.ts";
import { Manager } from "../../../src/core/manager.ts";
import { rig } from "../../core/setup.ts";
import { seedReportFixture } from "../../fixtures/report/seed.ts";

const done: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const d of done.splice(0)) await d();
});

describe("/report on the console", () => {
  it("writes the picture under report.dir and prints its path", async () => {
    const core = rig();
    seedReportFixture(core.rt.db, Date.now());
    const manager = new Manager(core.rt);
    done.push(async () => {
      await manager.stop();
      core.rt.close();
    });
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += d));
    const dir = join(core.dir, "pictures");
    const transport = new ConsoleTransport({ in: Object.assign(new PassThrough(), { isTTY: false }), out, imageDir: dir });
    await transport.start(new CoreInbound(manager));

    await transport.handleLine("/report 7d");
    const path = /picture \(800×\d+, context % .*\): (\S+asm-report-7d\.png)$/m.exec(text)?.[1];
    expect(path, text).toBeDefined();
    expect(path!.startsWith(dir)).toBe(true);
    expect(existsSync(path!)).toBe(true);
    expect(readFileSync(path!).subarray(1, 4).toString()).toBe("PNG");
    expect(text).toMatch(/Report, last 7d · \S+\n\ntokens /);

    // A second report is a new file, not the first one overwritten.
    await transport.handleLine("/report 24h");
    const paths = [...text.matchAll(/picture \(.*\): (\S+)$/gm)].map((m) => m[1]);
    expect(new Set(paths).size).toBe(2);
    await transport.stop();
  }, 60_000);
});
