/**
 * Child process for tests/lib/sqlite-readonly.test.ts: reads an agent store through openAgentDb as the
 * user the test chose (root can write through any mode, so the test runs this as `nobody`). Prints one JSON
 * line: whether the store's folder was writable after all, the rows each read saw, or the error.
 * argv: <store path> <reads> — with reads > 1, it waits for a line on stdin between reads (the test
 * changes the store in between).
 */
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { openAgentDb } from "../../src/lib/sqlite-readonly.ts";

const [path, readsArg = "1"] = process.argv.slice(2) as [string, string?];
const probe = join(dirname(path), ".write-probe");
let writable = false;
try {
  writeFileSync(probe, "");
  rmSync(probe);
  writable = true;
} catch {}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const reads: unknown[] = [];
for (let i = 0; i < Number(readsArg); i++) {
  if (i > 0) await lines.next();
  try {
    const db = openAgentDb(path);
    try {
      reads.push(db.prepare("SELECT name FROM session ORDER BY name").pluck().all());
    } finally {
      db.close();
    }
  } catch (err) {
    reads.push({ error: (err as Error).message });
  }
  if (i < Number(readsArg) - 1) process.stdout.write("read\n");
}
process.stdout.write(`${JSON.stringify({ writable, reads })}\n`);
process.exit(0);
