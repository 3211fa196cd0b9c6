import type { Agent, AgentCapabilities } from "./agent.ts";
import { claude } from "./claude/agent.ts";
import { codex } from "./codex/agent.ts";
import { gemini } from "./gemini/agent.ts";
import { openclaw } from "./openclaw/agent.ts";
import { opencode } from "./opencode/agent.ts";
import { type Platform, platforms } from "./session.ts";

/** Every agent asm knows, by platform. Adding one is a folder plus a line here; the type proves it is complete. */
export const agents: Readonly<Record<Platform, Agent>> = { openclaw, claude, codex, opencode, gemini };

/** The agent of a platform. */
export const agentOf = (platform: Platform): Agent => agents[platform];

/** The platforms whose agents have a capability, in registry order (for a store query that asks per platform). */
export const platformsWith = (capability: keyof AgentCapabilities): Platform[] => platforms.filter((p) => agents[p].capabilities[capability]);
