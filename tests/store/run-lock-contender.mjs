// One contender of tests/store/run-lock-race.test.ts: opens the store and claims the run lock at the
// same instant (argv: db path, a file whose appearance says "go"; "ready" on stdout once loaded), prints
// "claimed" or the error's name and message, and holds a claim while the other contenders try.
import { register } from "tsx/esm/api";

register();
const { openStore } = await import("../../src/store/db.ts");
const { KvStore } = await import("../../src/store/kv.ts");
const { claimRun } = await import("../../src/store/run-lock.ts");
const { existsSync } = await import("node:fs");
const [path, go] = process.argv.slice(2);
console.log("ready");
while (!existsSync(go)) await new Promise((r) => setImmediate(r));
try {
  const db = openStore(path);
  claimRun(db, new KvStore(db), path);
  console.log("claimed");
  await new Promise((r) => setTimeout(r, 500));
} catch (err) {
  console.log(`${err.name}: ${err.message}`);
}
