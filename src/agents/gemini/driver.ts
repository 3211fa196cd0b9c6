import { checkedArg, type Driver, type RunRequest, type RunSpec, SAFE_MODEL, UnsafeArgumentError } from "../driver.ts";
import { type GeminiChatFiles, geminiChatFiles, geminiDirFor, removeStrayChatFiles, resumeWaitMs } from "./chat-files.ts";
import { parseGeminiLine } from "./stream.ts";

/** Gemini session ids are UUIDs; `--session-id` accepts `[a-zA-Z0-9-_]`, we only ever pass UUIDs. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const APPROVAL_MODES = ["default", "auto_edit", "yolo", "plan"] as const;

/**
 * Gemini CLI as a managed worker: one headless `gemini` process per turn. The prompt goes to stdin; `-p ""`
 * makes the run headless for sure and adds nothing to it ("Appended to input on stdin"; checked against
 * 0.61.0: the user message is exactly what stdin held). A new session may get a pre-assigned id
 * (`--session-id`), a later turn resumes it (`--resume <id>`). `--skip-trust`: a worker runs only in a
 * configured workspace, which 0.61.0 would otherwise refuse as untrusted (exit 55). Headless Gemini turns
 * every approval into a denial, so the policy is set up front with `--approval-mode`. SIGINT/SIGTERM make
 * it exit 0 (RUNNER.md §1.3): the runner must remember that it interrupted.
 */
export const geminiDriver: Driver = {
  platform: "gemini",
  defaultCommand: ["gemini"],
  multiTurn: false,
  canAsk: false,
  sessionIdPattern: SESSION_ID,
  runSpec(req: RunRequest): RunSpec {
    const args = ["--output-format", "stream-json", "--skip-trust", "-p", ""];
    if (req.model) args.push(`--model=${checkedArg("model", req.model, SAFE_MODEL)}`);
    if (req.permissionMode) {
      if (!(APPROVAL_MODES as readonly string[]).includes(req.permissionMode))
        throw new UnsafeArgumentError("permission mode", req.permissionMode, `Gemini takes ${APPROVAL_MODES.join(", ")}`);
      args.push(`--approval-mode=${req.permissionMode}`);
    }
    if (req.resumeSessionId) args.push(`--resume=${checkedArg("session id", req.resumeSessionId, SESSION_ID)}`);
    else if (req.newSessionId) args.push(`--session-id=${checkedArg("session id", req.newSessionId, SESSION_ID)}`);
    // PWD = the workspace: the CLI inherits asm's environment, and a PWD naming asm's own folder
    // makes OpenCode 1.18.33 run the session there (see opencode/driver.ts); no CLI gets a stale one.
    return { args, prompt: "stdin", env: { PWD: req.cwd } };
  },
  parseLine: parseGeminiLine,
};

/**
 * The headless driver for workers whose Gemini uses the chat files of `files` (the HOME the workers get): `gemini
 * --resume` has Gemini 0.61.0's resume faults too (see acp.ts), and here asm acts before the process starts, ahead
 * of anything Gemini does. A resume in the minute the session's file was opened waits for the next minute (queued);
 * the session's chat files that hold no conversation are removed just before the start.
 */
export function geminiDriverWith(files: GeminiChatFiles): Driver {
  return {
    ...geminiDriver,
    startDelayMs: (req, now) => (req.resumeSessionId ? resumeWaitMs(files, req.resumeSessionId, now) : 0),
    beforeStart(req) {
      const removed = req.resumeSessionId ? removeStrayChatFiles(files, req.resumeSessionId) : 0;
      return removed ? [{ type: "other", kind: `empty-chat-files-removed:${removed}` }] : [];
    },
  };
}

/** `geminiDriverWith` the chat files of the Gemini home a worker started with `env` uses. */
export const geminiDriverFor = (env: Readonly<Record<string, string>> = {}): Driver => geminiDriverWith(geminiChatFiles(geminiDirFor(env)));
