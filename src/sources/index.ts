import type { Config } from "../config/schema.ts";
import { ClaudeCodeSource } from "./claude.ts";
import { CodexSource } from "./codex.ts";
import { GeminiSource } from "./gemini.ts";
import { OpenClawSource } from "./openclaw.ts";
import { OpencodeSource } from "./opencode.ts";
import type { Source } from "./source.ts";

/** The enabled sources, one per agent platform. */
export function createSources(config: Config): Source[] {
  const sources: Source[] = [];
  if (config.sources.claude.enabled) sources.push(new ClaudeCodeSource(config));
  if (config.sources.codex.enabled) sources.push(new CodexSource(config));
  if (config.sources.openclaw.enabled) sources.push(OpenClawSource.fromConfig(config));
  if (config.sources.opencode.enabled) sources.push(OpencodeSource.fromConfig(config));
  if (config.sources.gemini.enabled) sources.push(GeminiSource.fromConfig(config));
  void config;
  return sources;
}
