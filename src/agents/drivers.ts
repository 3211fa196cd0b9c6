import { claudeDriver } from "./claude/driver.ts";
import { codexDriver } from "./codex/driver.ts";
import type { Driver } from "./driver.ts";
import { geminiDriver } from "./gemini/driver.ts";
import { openclawDriver } from "./openclaw/driver.ts";
import { opencodeDriver } from "./opencode/driver.ts";
import type { Platform } from "./session.ts";

/** The worker driver of each agent that has one. Adding one is a `driver.ts` in its folder and a line here. */
export const drivers: Readonly<Partial<Record<Platform, Driver>>> = {
  claude: claudeDriver,
  codex: codexDriver,
  gemini: geminiDriver,
  opencode: opencodeDriver,
  openclaw: openclawDriver,
};
