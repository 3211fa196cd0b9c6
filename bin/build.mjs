#!/usr/bin/env node
// `npm ci` runs this (the `prepare` script): bundles src/ into dist/ so `asm` starts from plain JavaScript.
// Running from source under tsx costs about 45 MiB more RSS and three times the start-up time. Packages stay
// external (node_modules is beside us); code splitting keeps discord.js and grammY out of a process that
// has no chat token, because their imports live in the chunks that are loaded only when a token is set.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundles `src/main.ts` into `outdir` (replacing what was there). */
export async function build(outdir = join(root, "dist")) {
  const { build: esbuild } = await import("esbuild");
  rmSync(outdir, { recursive: true, force: true });
  await esbuild({
    // Worker threads' entries land beside main.js (dist/scan-thread.js, dist/check-thread.js), where
    // src/lib/thread-entry.ts looks for them.
    entryPoints: {
      main: join(root, "src/main.ts"),
      "scan-thread": join(root, "src/sources/scan-thread.ts"),
      "check-thread": join(root, "src/store/check-thread.ts"),
    },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The Docker build installs dependencies before it copies src/; it runs this again afterwards.
  if (!existsSync(join(root, "src/main.ts"))) {
    console.log("asm build: no src/ yet, nothing to bundle");
  } else {
    await build(process.argv[2]);
  }
}
