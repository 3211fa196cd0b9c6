import { checkedArg, type Driver, type RunRequest, type RunSpec, UnsafeArgumentError } from "../driver.ts";
import { parseOpencodeLine, parseOpencodeOutput } from "./stream.ts";

/** OpenCode session ids: `ses_` and 26 base62-ish characters (`ses_df6085013ffe1cAA3mVhJxkYin`). */
const SESSION_ID = /^ses_[A-Za-z0-9]{10,60}$/;
/** `--model provider/model`: both parts, never a leading dash. */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}$/;

/**
 * OpenCode as a managed worker: one `opencode run --format json` process per turn with the prompt on
 * stdin (piped stdin is the message when no message argument is given; checked against 1.18.33, which
 * also stops wrapping the text in quotes that way), the next turn `--session <ses_…>`. Headless `run`
 * auto-rejects every permission it would ask (RUNNER.md §1.4) unless `--auto` (permissionMode "auto").
 * The turn's end and totals come from `parseOutput` at exit (see stream.ts).
 */
export const opencodeDriver: Driver = {
  platform: "opencode",
  defaultCommand: ["opencode"],
  multiTurn: false,
  canAsk: false,
  sessionIdPattern: SESSION_ID,
  runSpec(req: RunRequest): RunSpec {
    const args = ["run", "--format", "json"];
    if (req.model) args.push(`--model=${checkedArg("model", req.model, MODEL)}`);
    if (req.resumeSessionId) args.push(`--session=${checkedArg("session id", req.resumeSessionId, SESSION_ID)}`);
    if (req.permissionMode === "auto") args.push("--auto");
    else if (req.permissionMode !== null && req.permissionMode !== "default" && req.permissionMode !== "reject")
      throw new UnsafeArgumentError("permission mode", req.permissionMode, "OpenCode takes default (reject what would ask) or auto");
    // PWD = the workspace, always. OpenCode 1.18.33 takes its project folder from $PWD, not from the
    // process's cwd: started with asm's own PWD (inherited), a NEW session is created in asm's folder (its
    // tools then work there, outside the workspace), and a `--session` run of a session made elsewhere
    // finishes its turn and never exits. Found against the real CLI (tests/real-agents).
    return { args, prompt: "stdin", env: { PWD: req.cwd } };
  },
  parseLine: parseOpencodeLine,
  parseOutput: parseOpencodeOutput,
};
