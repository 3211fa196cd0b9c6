import type { Config } from "../config/schema.ts";
import { OpencodeSource } from "./opencode.ts";
import type { Source } from "./source.ts";

/** The enabled sources, one per agent platform. */
export function createSources(config: Config): Source[] {
  const sources: Source[] = [];
  if (config.sources.opencode.enabled) sources.push(OpencodeSource.fromConfig(config));
  void config;
  return sources;
}
