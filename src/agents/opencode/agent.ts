import { type Agent, inProject, plainAgent } from "../agent.ts";
import { classifyError } from "../error-reason.ts";

export const opencode = {
  ...plainAgent,
  platform: "opencode",
  displayName: "OpenCode",
  resumeCommand: (s) => inProject(s, `opencode --session ${s.sessionId}`),
  classifyError,
} satisfies Agent;
