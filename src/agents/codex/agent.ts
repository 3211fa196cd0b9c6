import { type Agent, plainAgent } from "../agent.ts";
import { classifyError } from "../error-reason.ts";

export const codex = {
  ...plainAgent,
  platform: "codex",
  displayName: "Codex",
  resumeCommand: (s) => `codex resume ${s.sessionId}`,
  classifyError,
} satisfies Agent;
