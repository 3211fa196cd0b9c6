import { existsSync } from "node:fs";
import type { Platform } from "../agents/session.ts";
import type { Config } from "../config/schema.ts";

export interface WatchedLocation {
  platform: Platform;
  path: string;
  exists: boolean;
}

/** The agent folders asm watches, enabled sources only, with whether each exists right now. */
export function watchedLocations(config: Config): WatchedLocation[] {
  const s = config.sources;
  const out: WatchedLocation[] = [];
  const add = (platform: Platform, enabled: boolean, paths: string[]) => {
    if (!enabled) return;
    for (const path of paths) out.push({ platform, path, exists: existsSync(path) });
  };
  add("openclaw", s.openclaw.enabled, [s.openclaw.root, ...s.openclaw.legacyRoots]);
  add("claude", s.claude.enabled, [s.claude.root, ...s.claude.extraRoots]);
  add("codex", s.codex.enabled, [s.codex.root]);
  add("opencode", s.opencode.enabled, [s.opencode.root]);
  add("gemini", s.gemini.enabled, [s.gemini.root]);
  return out;
}
