import { randomBytes } from "node:crypto";
import { type Driver, type RunRequest, type RunSpec, SAFE_ID } from "../driver.ts";
import { answersByLine } from "../questions.ts";
import { parseClaudeLine } from "./stream.ts";
import { claudeWindow } from "./transcript.ts";

/**
 * Claude Code as a managed worker: one long-lived `claude -p` per worker speaking stream-json both ways,
 * with permission prompts over the control protocol (`--permission-prompt-tool stdio`) and the opt-in
 * session-state events (RUNNER.md §1.1). The prompt goes to stdin as a user message, never into argv;
 * ids go in as `--resume=<id>` so a dash-leading value cannot read as a flag.
 */
export const claudeDriver: Driver = {
  platform: "claude",
  defaultCommand: ["claude"],
  multiTurn: true,
  canAsk: true,
  sessionIdPattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  // Claude Code's own window rule, not the catalog's API maximum (1M): what its scanned session will say.
  contextWindow: (model, contextTokens, config) => claudeWindow(model, contextTokens, config),
  runSpec(req: RunRequest): RunSpec {
    const args = ["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--permission-prompt-tool", "stdio"];
    if (req.resumeSessionId) args.push(`--resume=${req.resumeSessionId}`);
    if (req.model && SAFE_ID.test(req.model)) args.push(`--model=${req.model}`);
    if (req.permissionMode && SAFE_ID.test(req.permissionMode)) args.push(`--permission-mode=${req.permissionMode}`);
    // PWD = the workspace: the CLI inherits asm's environment, and a PWD naming asm's own folder
    // makes OpenCode 1.18.33 run the session there (see opencode/driver.ts); no CLI gets a stale one.
    return { args, prompt: "protocol", env: { CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS: "1", PWD: req.cwd } };
  },
  parseLine: parseClaudeLine,
  encodeTurn: (text) => JSON.stringify({ type: "user", message: { role: "user", content: text } }),
  encodePermission(requestId, allow, input, message) {
    const response = allow ? { behavior: "allow", updatedInput: input ?? {} } : { behavior: "deny", message: message ?? "Denied from asm", interrupt: false };
    return JSON.stringify({ type: "control_response", response: { subtype: "success", request_id: requestId, response } });
  },
  encodeReply(requestId, reply, input) {
    if (reply.kind === "permission") return claudeDriver.encodePermission!(requestId, reply.allow, input, reply.message);
    // AskUserQuestion takes its answers as `answers` (question text → answer) in the tool input it is allowed with;
    // the model then reads `Your questions have been answered: "<question>"="<answer>"…` (fixture claude/question).
    // Keyed by anything but the exact question text, or left out, it reads "The user did not answer the questions."
    // A deny reaches the model as an error tool_result with our message, and the turn goes on (claude/question-deny).
    if (reply.answer === null) return claudeDriver.encodePermission!(requestId, false, input, "Nobody answered the question; carry on without it");
    const i = input && typeof input === "object" && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    const qs = Array.isArray(i.questions) ? (i.questions as { question?: unknown }[]) : [];
    // Several questions: one reply line each (the question says so), else the reply answers every one.
    const each = answersByLine(qs.length, reply.answer);
    const answers = Object.fromEntries(qs.map((q, n) => [String(q?.question ?? ""), each[n]!]));
    return claudeDriver.encodePermission!(requestId, true, { ...i, answers });
  },
  encodeInterrupt: (requestId) => JSON.stringify({ type: "control_request", request_id: requestId, request: { subtype: "interrupt" } }),
};

/** A request id for a control request we send. */
export const controlRequestId = () => `req_asm_${randomBytes(6).toString("hex")}`;
