import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // the real agent CLIs: opt-in only, `npm run test:real-agents` (vitest.real-agents.config.ts)
    exclude: [...configDefaults.exclude, "tests/real-agents/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
