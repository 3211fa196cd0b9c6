import { z } from "zod";
import { argv } from "./common.ts";

/** One auto-response rule: requests it matches are allowed without a person (up to the cap). */
const autoRule = z.strictObject({
  allow: z
    .enum(["read", "edit", "command"])
    .describe("read: reading files inside the workspace; edit: changing files inside the workspace; command: the listed commands"),
  commands: z
    .array(z.string().regex(/^[^;&|`$<>(){}\n]+$/, "a command prefix is plain words, no shell operators"))
    .default([])
    .describe('For allow: command — command prefixes allowed, word by word ("npm test" allows "npm test -- x", not "npm testing")'),
});

const autoRespond = z
  .strictObject({
    rules: z.array(autoRule).default([]).describe("Requests these rules match are answered without a person; none = every request asks"),
    maxAutoResponds: z.number().int().min(0).default(20).describe("Auto-responses per worker; past this every request waits for a person"),
  })
  .prefault({});

const driver = z
  .strictObject({
    command: argv.nullable().default(null).describe("Program (and fixed leading arguments) to run; null = the agent's own name on PATH"),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment for this agent's workers"),
    permissionMode: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)
      .nullable()
      .default(null)
      .describe(
        "The agent's own permission/approval mode for workers; null = ask before every command or file change (Claude: default|acceptEdits|plan|bypassPermissions; Codex: default|untrusted|read-only|workspace-write|on-request|never|yolo; Gemini: default|auto_edit|yolo|plan; OpenCode: default|acceptEdits|auto|reject)",
      ),
    model: z.string().min(1).nullable().default(null).describe("Model id workers of this agent ask for by default; null = the CLI's default"),
    interface: z
      .enum(["protocol", "headless"])
      .default("protocol")
      .describe(
        "protocol: the agent's interactive protocol (Claude's control protocol, Codex app-server, Gemini --acp, OpenCode serve, OpenClaw's gateway when one runs), so permission prompts and questions reach the chat; headless: the one-shot CLI (exec, run, -p), which cannot ask",
      ),
    autoRespond: autoRespond.describe("Requests answered without a person, capped per worker"),
  })
  .prefault({});

const modelEntry = z.strictObject({
  driver: z.enum(["claude", "codex", "gemini", "opencode", "openclaw"]).describe("The agent CLI that runs this model"),
  model: z.string().min(1).describe("The model argument that CLI takes"),
  contextWindow: z.number().int().positive().optional().describe("Its window, when the CLI does not report it"),
  tier: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Models sharing a tier swap places in the fallback order by their measured failure rate, then speed, over the last day; untiered models keep theirs",
    ),
});

/** The operators' runbook chain (`spawn_with_fallback`): model ids as they name them, each mapped to a CLI. */
const defaultModels = {
  "openai-codex/gpt-5.2": { driver: "codex", model: "gpt-5.2", contextWindow: 400_000 },
  "anthropic/claude-sonnet-4-5": { driver: "claude", model: "claude-sonnet-4-5", contextWindow: 200_000 },
  "google-gemini-3-pro": { driver: "gemini", model: "gemini-3-pro-preview", contextWindow: 1_048_576 },
  "anthropic/claude-haiku-4-5": { driver: "claude", model: "claude-haiku-4-5", contextWindow: 200_000 },
} as const;

const fallbackSection = z
  .strictObject({
    maxRetries: z.number().int().min(0).max(20).default(3).describe("Retries of one model for a transient error (overloaded, 5xx, timeout) before moving on"),
    retryDelaySeconds: z.number().min(0).default(5),
    timeoutSeconds: z.number().positive().default(30).describe("A worker with no sign of life (no init event) within this long counts as a timeout"),
    rateLimitRetryMaxSeconds: z.number().min(0).default(60).describe("Retry a rate-limited model only when its reset is at most this far away; else move on"),
    breakerFailures: z.number().int().min(1).default(3).describe("Failures in a row that open a model's circuit breaker"),
    cooloffMinutes: z.array(z.number().positive()).min(1).default([1, 5, 25, 60]).describe("Growing cool-offs of an open breaker"),
    billingCooloffHours: z.number().positive().default(6).describe("Auth and billing errors disable a model this long (doubling while they repeat)"),
    logMaxBytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024)
      .describe("Rotate runner.fallbackLog at this size"),
    logMaxFiles: z.number().int().min(1).default(5).describe("Rotated files kept (.1 … .N)"),
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
    models: z
      .record(z.string().min(1), modelEntry)
      .default({ ...defaultModels })
      .describe("Model id → the CLI and model argument that run it"),
    fallbackOrder: z
      .array(z.string().min(1))
      .default(Object.keys(defaultModels))
      .describe("The default fallback chain (model ids from runner.models); /spawn --chain a,b,c overrides it per worker"),
    fallbackLog: z
      .string()
      .min(1)
      .nullable()
      .default("~/.openclaw/logs/fallback_decisions.jsonl")
      .describe("Every fallback decision as a JSON line (jq-friendly, rotated); null = only the store"),
    fallback: fallbackSection,
    maxConcurrent: z.number().int().min(1).max(64).default(3).describe("Workers running at once; the rest queue"),
    interruptGraceSeconds: z.number().positive().default(5).describe("After an interrupt, SIGKILL the process group if it has not stopped"),
    stallSeconds: z.number().positive().default(600).describe("A running turn with no event for this long fails as `timeout`"),
    repairAgent: z
      .enum(["claude", "codex", "gemini", "opencode"])
      .default("claude")
      .describe("The agent a gateway repair worker runs (the runbook: 'failed more than 3 times → trigger Claude Code repair')"),
    permissionTimeoutMinutes: z
      .number()
      .positive()
      .default(120)
      .describe("A permission request or question nobody answers is denied (declined) after this long"),
    waitingReminderMinutes: z.number().positive().default(30).describe("Remind the worker's topic once when it has waited for a person this long"),
  })
  .prefault({});
