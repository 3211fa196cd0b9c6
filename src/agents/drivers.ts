import type { Config } from "../config/schema.ts";
import { claudeDriver } from "./claude/driver.ts";
import { codexAppServerDriver } from "./codex/app-server.ts";
import { codexDriver } from "./codex/driver.ts";
import type { Driver } from "./driver.ts";
import { geminiAcpDriver, geminiAcpDriverFor } from "./gemini/acp.ts";
import { geminiDriver, geminiDriverFor } from "./gemini/driver.ts";
import { openclawDriver } from "./openclaw/driver.ts";
import { openclawDriverFor } from "./openclaw/gateway.ts";
import { opencodeDriver } from "./opencode/driver.ts";
import { opencodeServeDriver } from "./opencode/serve.ts";
import type { Platform } from "./session.ts";

/**
 * The headless worker driver of each agent: one-shot runs (`exec`, `run`, `-p`) that cannot ask a person.
 * Claude's is already interactive (its control protocol rides on the same stream-json process).
 */
export const drivers: Readonly<Partial<Record<Platform, Driver>>> = {
  claude: claudeDriver,
  codex: codexDriver,
  gemini: geminiDriver,
  opencode: opencodeDriver,
  openclaw: openclawDriver,
};

/**
 * The driver of each agent that speaks its interactive protocol, so permission requests and questions reach
 * the chat (issue "agents that ask"): picked when `runner.drivers.<agent>.interface` is `protocol`.
 */
export const protocolDrivers: Readonly<Partial<Record<Platform, Driver>>> = {
  claude: claudeDriver,
  codex: codexAppServerDriver,
  gemini: geminiAcpDriver,
  opencode: opencodeServeDriver,
};

/**
 * The driver each agent's workers run with under this config: its protocol driver unless set to `headless` or it
 * has none. OpenClaw's protocol is its gateway, used when one is configured (else its CLI).
 */
export function driversFor(config: Config): Readonly<Partial<Record<Platform, Driver>>> {
  const out: Partial<Record<Platform, Driver>> = {};
  for (const [agent, headless] of Object.entries(drivers) as [Platform, Driver][]) {
    const headlessChosen = config.runner.drivers[agent as keyof typeof config.runner.drivers]?.interface === "headless";
    // Gemini's finds the chat files of a session it resumes in the HOME its workers get.
    const protocol =
      agent === "openclaw" ? openclawDriverFor(config) : agent === "gemini" ? geminiAcpDriverFor(config.runner.drivers.gemini?.env) : protocolDrivers[agent];
    // Headless Gemini works around its resume faults in the same chat files.
    const oneShot = agent === "gemini" ? geminiDriverFor(config.runner.drivers.gemini?.env) : headless;
    out[agent] = headlessChosen ? oneShot : (protocol ?? oneShot);
  }
  return out;
}
