import { type Agent, inProject, plainAgent } from "../agent.ts";
import { classifyError } from "../error-reason.ts";

export const gemini = {
  ...plainAgent,
  platform: "gemini",
  displayName: "Gemini CLI",
  resumeCommand: (s) => inProject(s, `gemini --resume ${s.sessionId}`),
  classifyError,
} satisfies Agent;
