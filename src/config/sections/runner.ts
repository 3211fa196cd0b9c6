import { z } from "zod";
import { argv } from "./common.ts";

const driver = z
  .strictObject({
    command: argv.nullable().default(null).describe("Program (and fixed leading arguments) to run; null = the agent's own name on PATH"),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment for this agent's workers"),
    permissionMode: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)
      .nullable()
      .default(null)
      .describe("The agent's own permission/approval mode for workers (Claude: default|acceptEdits|plan|bypassPermissions; Gemini: default|auto_edit|yolo)"),
    model: z.string().min(1).nullable().default(null).describe("Model id workers of this agent ask for by default; null = the CLI's default"),
  })
  .prefault({});

/** Managed workers: agent CLIs `asm` starts from the chat (`/spawn`) or the CLI (`asm spawn`). */
export const runnerSection = z
  .strictObject({
    workspaces: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a workspace name is letters, digits, '_', '.', '-'"), z.string().min(1))
      .default({})
      .describe("Workspace name → absolute folder; workers run only in these (`~` allowed)"),
    drivers: z
      .strictObject({ claude: driver, codex: driver, gemini: driver, opencode: driver, openclaw: driver })
      .prefault({})
      .describe("Per agent CLI: command prefix, extra env, permission mode, default model"),
    maxConcurrent: z.number().int().min(1).max(64).default(3).describe("Workers running at once; the rest queue"),
    interruptGraceSeconds: z.number().positive().default(5).describe("After an interrupt, SIGKILL the process group if it has not stopped"),
    stallSeconds: z.number().positive().default(600).describe("A running turn with no event for this long fails as `timeout`"),
    repairAgent: z
      .enum(["claude", "codex", "gemini", "opencode"])
      .default("claude")
      .describe("The agent a gateway repair worker runs (the runbook: 'failed more than 3 times → trigger Claude Code repair')"),
    permissionTimeoutMinutes: z.number().positive().default(30).describe("A permission request nobody answers is denied after this long"),
  })
  .prefault({});
