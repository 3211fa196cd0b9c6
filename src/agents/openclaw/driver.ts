import { randomUUID } from "node:crypto";
import { checkedArg, type Driver, type RunRequest, type RunSpec, SAFE_MODEL } from "../driver.ts";
import { parseOpenclawLine, parseOpenclawOutput } from "./stream.ts";

/** OpenClaw session ids (`[a-z0-9][a-z0-9._-]{0,127}`, FORMATS.md §5.2; in practice UUIDs). */
const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/**
 * OpenClaw as a managed worker: one `openclaw agent --json` per turn, the prompt in a file the runner
 * writes and names with `--message-file` (RUNNER.md §1.5). Every run names its session with
 * `--session-id`: a NEW worker gets a fresh UUID (the runner's `newSessionId`, else one made here and
 * reported as `RunSpec.sessionId`), because without one OpenClaw would talk in the person's main session
 * (`agent:main:main`). Checked against 2026.9.6: a new id becomes session key
 * `agent:main:explicit:<id>`, and the same `--session-id` continues it. Runs through the Gateway (the
 * documented path; `--local` refuses to start while a Gateway owns the state directory). Approvals go
 * through the Gateway, never this process. Its stdout is one JSON document, read at exit by `parseOutput`.
 */
export const openclawDriver: Driver = {
  platform: "openclaw",
  defaultCommand: ["openclaw"],
  multiTurn: false,
  canAsk: false,
  sessionIdPattern: SESSION_ID,
  runSpec(req: RunRequest): RunSpec {
    const fresh = req.resumeSessionId ? null : (req.newSessionId ?? randomUUID());
    const id = checkedArg("session id", req.resumeSessionId ?? (fresh as string), SESSION_ID);
    const args = ["agent", "--json", `--session-id=${id}`];
    if (req.model) args.push(`--model=${checkedArg("model", req.model, SAFE_MODEL)}`);
    // PWD = the workspace: the CLI inherits asm's environment, and a PWD naming asm's own folder
    // makes OpenCode 1.18.33 run the session there (see opencode/driver.ts); no CLI gets a stale one.
    return { args, prompt: "file", promptFileFlag: "--message-file", env: { PWD: req.cwd }, ...(fresh ? { sessionId: id } : {}) };
  },
  parseLine: parseOpenclawLine,
  parseOutput: parseOpenclawOutput,
};
