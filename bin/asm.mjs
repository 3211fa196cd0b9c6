#!/usr/bin/env -S node --max-semi-space-size=2
// The flag caps V8's young generation at 2 MiB per semi-space (default 16): a cold scan of 10,000 transcripts
// then peaks near 94 MiB RSS instead of 121, at the same speed. `npm start`, the Dockerfile and asm.service
// pass it too (a flag set from inside a running process comes too late); bench/scan.ts reads it from here.
// Runs the bundle that `npm ci` built into dist/ (see build.mjs) when it is at least as new as every file
// under src/; otherwise (an edited checkout, no build yet) runs the TypeScript sources through tsx, so
// there is never a manual build step and never a stale bundle.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = join(root, "dist/main.js");

/** The newest mtime (ms) of any file under `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

function bundleIsFresh() {
  if (!existsSync(bundle)) return false;
  if (!existsSync(join(root, "src"))) return true;
  return statSync(bundle).mtimeMs >= newestMtime(join(root, "src"));
}

let main;
if (bundleIsFresh()) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
