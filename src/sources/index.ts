import type { Config } from "../config/schema.ts";
import type { Source } from "./source.ts";

/** The enabled sources, one per agent platform. */
export function createSources(config: Config): Source[] {
  const sources: Source[] = [];
  void config;
  return sources;
}
