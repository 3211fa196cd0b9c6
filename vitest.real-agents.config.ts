import { defineConfig } from "vitest/config";

/**
 * `npm run test:real-agents`: asm's runner end to end against the REAL agent CLIs, offline, against the fake
 * model server (tests/real-agents/harness.ts). Opt-in, never part of `npm test` (vitest.config.ts excludes
 * tests/real-agents/) and never in CI. One file per agent, one at a time: the CLIs are heavy.
 * `npm run test:real-agents -- claude` runs one agent.
 */
export default defineConfig({
  test: {
    include: ["tests/real-agents/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    env: { ASM_REAL_AGENTS: "1" },
  },
});
