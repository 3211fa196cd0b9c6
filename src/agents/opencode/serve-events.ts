import { isAbsolute, resolve } from "node:path";
import { type Json, num, obj, str, text } from "../../lib/json-value.ts";
import { type PermissionAction, toolArgDetail, type WorkerEvent } from "../driver.ts";
import { classifyError } from "../error-reason.ts";
import { answersByLine, questionPrompt } from "../questions.ts";
import { opencodeErrorReason } from "./stream.ts";

/**
 * What `opencode serve` says (its `GET /event` payloads and its `GET /session/{id}/message` list) turned into
 * worker events. Pure: serve.ts does the I/O and keeps the state these functions read (`TurnSeen`).
 *
 * Shapes checked against 1.18.33 (`GET /doc` and recorded exchanges, tests/fixtures/streams/opencode/*.serve.jsonl):
 * - every event is `{id: "evt_…", type, properties}`; the stream carries every session of the server, so
 *   each payload names its `properties.sessionID`;
 * - `message.part.updated{part}` repeats a part as it grows: a text part is final when `part.time.end` is
 *   set, a tool part has its input from `state.status` "running" on (the first update is "pending", input {});
 * - `permission.asked{id:"per_…", permission, patterns, metadata, always, tool{messageID, callID}}`: bash
 *   gives `metadata.command` (the whole line; `patterns` are its sub-commands), edit/write/apply_patch give
 *   `permission:"edit"` with `metadata.filepath` (absolute) and `patterns` relative to the worktree, read
 *   gives only `patterns` relative to the worktree (the git root, `/` outside git);
 * - `question.asked{id:"que_…", questions:[{question, header, options:[{label, description}], multiple}]}`;
 * - `session.status{status:{type: busy|idle|retry, attempt, message, next}}`: idle can come twice per turn
 *   and before the last `message.updated`, so the turn's totals come from the messages, not from events;
 * - `session.error{error:{name, data:{message, statusCode?}}}`: a model 401 is `APIError` statusCode 401,
 *   not `ProviderAuthError`; an abort is `MessageAbortedError` "Aborted".
 */

/** What the live stream already reported for the turn, so the reconciliation adds only what it missed. */
export interface TurnSeen {
  /** Text and tool part ids already emitted. */
  parts: Set<string>;
  /** A `session.error` of this turn was emitted. */
  error: boolean;
}

/** "The user rejected permission to use this specific tool call…" on a tool part in error. */
const REJECTED = /rejected permission/i;

/** The one string a person needs to judge a request: the command, the file, the pattern. */
function firstOf(...vs: unknown[]): string | null {
  for (const v of vs) {
    const s = text(v);
    if (s) return s.length > 300 ? `${s.slice(0, 299)}…` : s;
  }
  return null;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x.length > 0) : []);

/**
 * The action of an OpenCode permission, in the terms auto-response rules read. `worktree` (from `GET /path`)
 * turns read patterns, which OpenCode makes relative to it, into absolute paths; without it they are `other`.
 */
export function permissionAction(permission: string, patterns: string[], metadata: Json, worktree: string | null): PermissionAction {
  const abs = (p: string) => (isAbsolute(p) ? p : worktree ? resolve(worktree, p) : null);
  switch (permission) {
    case "bash": {
      const command = text(metadata.command);
      return command ? { kind: "command", command } : { kind: "other" };
    }
    case "edit": {
      const file = text(metadata.filepath);
      const paths = file ? [file] : patterns.map(abs).filter((p): p is string => p !== null);
      return paths.length ? { kind: "edit", paths } : { kind: "other" };
    }
    case "read": {
      const paths = patterns.map(abs);
      return paths.length && paths.every((p) => p !== null) ? { kind: "read", paths: paths as string[] } : { kind: "other" };
    }
    case "glob":
    case "grep":
    case "list": {
      // A search reads its folder (the session's own when none is named); the pattern is not a path.
      const dir = text(metadata.path);
      return { kind: "read", paths: [dir ?? "."] };
    }
    default:
      // external_directory, webfetch, websearch, task, skill, doom_loop, MCP tools: a person decides.
      return { kind: "other" };
  }
}

/** `permission.asked` properties → the `permission` event. */
export function permissionEvent(p: Json, worktree: string | null): Extract<WorkerEvent, { type: "permission" }> | null {
  const requestId = str(p.id);
  const permission = str(p.permission);
  if (!requestId || !permission) return null;
  const metadata = obj(p.metadata) ?? {};
  const patterns = strings(p.patterns);
  return {
    type: "permission",
    requestId,
    tool: permission,
    detail: firstOf(metadata.command, metadata.filepath, metadata.url, metadata.query, metadata.pattern, patterns.join(" ")),
    reason: null,
    input: { patterns, metadata },
    action: permissionAction(permission, patterns, metadata, worktree),
  };
}

/**
 * `question.asked` properties → the `question` event. One question offers its option labels as buttons;
 * several are shown together and one free-text answer is given to each (`questionAnswers`).
 */
export function questionEvent(p: Json): Extract<WorkerEvent, { type: "question" }> | null {
  const requestId = str(p.id);
  const qs = (Array.isArray(p.questions) ? p.questions : []).map(obj).filter((q): q is Json => q !== null);
  if (!requestId || !qs.length) return null;
  const { text: prompt, options } = questionPrompt(
    qs.map((q) => ({
      question: text(q.question) ?? text(q.header) ?? "?",
      options: (Array.isArray(q.options) ? q.options : []).flatMap((o) => {
        const label = text(obj(o)?.label);
        return label ? [{ label, description: text(obj(o)?.description) }] : [];
      }),
    })),
  );
  return { type: "question", requestId, text: prompt, ...(options.length ? { options } : {}) };
}

/** The `answers` body of `POST /question/{id}/reply`: one list of chosen labels per question asked (one reply line each). */
export function questionAnswers(questionCount: number, answer: string): string[][] {
  return answersByLine(questionCount, answer).map((a) => [a]);
}

/**
 * A part of an assistant message → `text` (a finished, non-synthetic text part) or `tool` (a tool part once
 * its input is known), each once per part id (`seen.parts` is updated).
 */
export function partEvents(part: Json, seen: TurnSeen): WorkerEvent[] {
  const id = str(part.id);
  if (!id || seen.parts.has(id)) return [];
  if (part.type === "text") {
    const t = text(part.text);
    if (!t || part.synthetic === true || num(obj(part.time)?.end) === null) return [];
    seen.parts.add(id);
    return [{ type: "text", text: t }];
  }
  if (part.type === "tool") {
    const state = obj(part.state);
    if (!state || state.status === "pending") return [];
    seen.parts.add(id);
    const questions = obj(state.input)?.questions;
    const question = Array.isArray(questions) ? obj(questions[0]) : null;
    return [{ type: "tool", name: str(part.tool) ?? "tool", detail: toolArgDetail(state.input) ?? text(question?.question) ?? text(state.title) }];
  }
  return [];
}

/** An OpenCode error object (`session.error`'s `error`, a message's `info.error`) → the `error` event. */
export function errorEvent(e: Json): Extract<WorkerEvent, { type: "error" }> {
  const data = obj(e.data);
  const name = str(e.name);
  const status = num(data?.statusCode);
  const message = text(data?.message) ?? text(e.message) ?? name ?? "error";
  return { type: "error", reason: opencodeErrorReason(name, status, message), message, status, willRetry: false };
}

/** `session.status` retry → a notice that OpenCode retries by itself (`willRetry`), not a failure. */
export function retryEvent(status: Json): Extract<WorkerEvent, { type: "error" }> {
  const message = text(status.message) ?? "retrying";
  return { type: "error", reason: classifyError(message), message: `${message} (attempt ${num(status.attempt) ?? "?"})`, status: null, willRetry: true };
}

/** One entry of `GET /session/{id}/message`: `{info, parts}`. */
interface Entry {
  info: Json;
  parts: Json[];
}

function entries(list: unknown): Entry[] {
  return (Array.isArray(list) ? list : [])
    .map(obj)
    .filter((m): m is Json => m !== null)
    .map((m) => ({ info: obj(m.info) ?? {}, parts: (Array.isArray(m.parts) ? m.parts : []).map(obj).filter((p): p is Json => p !== null) }));
}

/** A user message a person typed (compaction's "continue" is a user message whose parts are all synthetic). */
const typedByPerson = (e: Entry) => e.info.role === "user" && e.parts.some((p) => p.type === "text" && p.synthetic !== true);

/** The assistant messages of the last turn: everything after the last message a person typed. */
export function lastTurn(list: unknown): Json[][] {
  const all = entries(list);
  let start = all.length;
  while (start > 0 && !typedByPerson(all[start - 1] as Entry)) start--;
  return all
    .slice(start)
    .filter((e) => e.info.role === "assistant")
    .map((e) => [e.info, ...e.parts]);
}

/** True when the last assistant message of the turn is still open (no `time.completed`, no error). */
export function turnStillOpen(list: unknown): boolean {
  const turn = lastTurn(list);
  const last = turn[turn.length - 1]?.[0];
  return !!last && num(obj(last.time)?.completed) === null && !obj(last.error);
}

/** What the reconciliation needs besides the messages. */
export interface TurnContext {
  seen: TurnSeen;
  /** We asked OpenCode to abort the turn. */
  interrupted: boolean;
  durationMs: number | null;
}

/**
 * The messages of the session after its turn went idle → what the stream missed (texts, tools, the error),
 * then the turn's `usage` (summed over its model calls; `contextTokens` from the last call that reported
 * tokens: input + cache read + cache write, since OpenCode's input excludes cached tokens) and `turn_end`.
 */
export function reconcileTurn(list: unknown, ctx: TurnContext): WorkerEvent[] {
  const out: WorkerEvent[] = [];
  let input = 0;
  let output = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let context: number | null = null;
  let cost: number | null = null;
  let last: string | null = null;
  let error: Json | null = null;
  const denied = new Set<string>();
  const turn = lastTurn(list);
  for (const [info, ...parts] of turn) {
    if (!info) continue;
    for (const part of parts) {
      out.push(...partEvents(part, ctx.seen));
      if (part.type === "text" && part.synthetic !== true && text(part.text)) last = text(part.text);
      const state = obj(part.state);
      if (part.type === "tool" && state?.status === "error" && REJECTED.test(str(state.error) ?? "")) denied.add(str(part.tool) ?? "tool");
    }
    const tokens = obj(info.tokens);
    if (tokens) {
      const cache = obj(tokens.cache);
      const i = num(tokens.input) ?? 0;
      const r = num(cache?.read) ?? 0;
      const w = num(cache?.write) ?? 0;
      input += i;
      cacheRead += r;
      cacheWrite += w;
      // Reasoning tokens are output the model produced; OpenCode keeps them apart.
      output += (num(tokens.output) ?? 0) + (num(tokens.reasoning) ?? 0);
      if (i + r + w > 0) context = i + r + w;
    }
    const c = num(info.cost);
    if (c !== null) cost = (cost ?? 0) + c;
    if (obj(info.error)) error = obj(info.error);
  }
  const err = error ? errorEvent(error) : null;
  if (err && !ctx.seen.error) {
    out.push(err);
    ctx.seen.error = true;
  }
  const aborted = err?.reason === "aborted" || error?.name === "MessageAbortedError";
  // A call that failed or was aborted before the model answered reports zeros: no usage to speak of.
  if (input + output + cacheRead + cacheWrite > 0) out.push({ type: "usage", input, output, cacheRead, cacheWrite, contextTokens: context });
  out.push({
    type: "turn_end",
    result: err && !aborted ? err.message : last,
    isError: err !== null && !aborted,
    costUsd: cost,
    durationMs: ctx.durationMs,
    numTurns: turn.length || null,
    denied: [...denied],
    ...(aborted || ctx.interrupted ? { interrupted: true } : {}),
  });
  return out;
}
