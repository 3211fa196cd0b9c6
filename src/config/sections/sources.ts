import { z } from "zod";
import { pathString } from "./common.ts";

const enabled = z.boolean().default(true);

export const sourcesSection = z
  .strictObject({
    openclaw: z
      .strictObject({
        enabled,
        root: pathString.default("~/.openclaw"),
        legacyRoots: z.array(pathString).default(["~/.clawdbot", "~/.moltbot"]),
        configPath: pathString.nullable().default(null).describe("openclaw.json; null = <root>/openclaw.json"),
      })
      .prefault({}),
    claude: z
      .strictObject({
        enabled,
        root: pathString.default("~/.claude/projects"),
        extraRoots: z.array(pathString).default(["~/.config/claude/projects"]),
      })
      .prefault({}),
    codex: z.strictObject({ enabled, root: pathString.default("~/.codex") }).prefault({}),
    opencode: z.strictObject({ enabled, root: pathString.default("~/.local/share/opencode") }).prefault({}),
    gemini: z.strictObject({ enabled, root: pathString.default("~/.gemini") }).prefault({}),
    threads: z
      .union([z.literal("auto"), z.number().int().min(0).max(16)])
      .default("auto")
      .describe(
        "Worker threads that scan (file reads, parsing, agent SQLite reads) off the event loop, so a locked agent store never delays a reply: auto = 1; N splits the sources over N threads; 0 = in the main thread",
      ),
    maxLineBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(16 * 1024 * 1024)
      .describe("A transcript line longer than this (plain or .zst) is skipped and counted, never held in memory"),
  })
  .prefault({});

export const modelsSection = z
  .strictObject({
    defaultContextWindow: z.number().int().positive().default(200_000),
    contextWindows: z
      .record(z.string(), z.number().int().positive())
      .default({
        "claude-opus-4-6": 200_000,
        "claude-sonnet-4-6": 200_000,
        "claude-haiku-4-5": 200_000,
        "gpt-5.5": 258_400,
        "gpt-5": 272_000,
        "gemini-2.5-pro": 1_048_576,
        "gemini-2.5-flash": 1_048_576,
        "gemini-3-pro": 1_048_576,
        // Gemini CLI's own tokenLimit() gives the whole 2.5/3 family 1,048,576 (flash-lite, 3.x previews, ...).
        "gemini-2.5": 1_048_576,
        "gemini-3": 1_048_576,
      })
      .describe("Context window per model id (prefix match on the longest key); extends the agents' own figures"),
  })
  .prefault({});
