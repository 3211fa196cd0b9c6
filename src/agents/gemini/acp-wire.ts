import type {
  PermissionOption,
  PermissionOptionKind,
  RequestPermissionOutcome,
  RequestPermissionRequest,
  SessionUpdate,
  StopReason,
  ToolCallContent,
  ToolCallLocation,
  ToolKind,
} from "@agentclientprotocol/sdk";
import { type Json, num, obj, str, text } from "../../lib/json-value.ts";
import type { PermissionAction, WorkerEvent } from "../driver.ts";
import { type ErrorReason, reasonFromStatus } from "../error-reason.ts";
import { geminiErrorReason } from "./stream.ts";

/**
 * The Agent Client Protocol as Gemini CLI 0.61.0 speaks it (`gemini --acp`), read into worker events. Pure: the
 * stateful part (ids, the handshake, pending requests) is `acp.ts`. Shapes are the ACP v1 schema
 * (`@agentclientprotocol/sdk` 2.4.0 types) as checked against recordings of the real CLI
 * (tests/fixtures/streams/gemini/acp-*.exchange.jsonl):
 * - `session/update` → `agent_message_chunk` (text pieces), `agent_thought_chunk`, `tool_call` (a tool that runs
 *   without asking, status `in_progress`), `tool_call_update` (`completed`/`failed`; the only line for a tool that
 *   asked first), `available_commands_update` (slash commands, after `session/new`), `user_message_chunk` (history
 *   replayed by `session/load`). Gemini 0.61.0 sends no `plan` and no `usage_update`: usage comes in the prompt
 *   response's `_meta.quota` (`token_count` summed over every model call of the turn, `model_usage` per model, the
 *   `auto` router's classifier call included).
 * - `session/request_permission` (a request FROM the agent, its JSON-RPC ids count from 0): `toolCall` {toolCallId,
 *   status pending, title (the command itself for the shell tool), content (a diff for edits, else an explanation
 *   text), locations, kind} and `options` [{optionId proceed_always, kind allow_always}, {proceed_once, allow_once},
 *   {cancel, reject_once}]. A rejected tool gets no `tool_call_update`; the model is told it was cancelled.
 * - Errors: a failed prompt is a JSON-RPC error whose `code` is the HTTP status (429, 401, …; the 401 message is
 *   Google's whole JSON error body), `-32000` is "authentication required", `-32602` "Session not found", `-32603`
 *   an internal error with the reason in `data.details` (e.g. an unknown id on `session/load`).
 */

/** One JSON-RPC error object as a peer sent it. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** What a permission request is, kept to answer it and to name it in the turn's `denied` list. */
export interface PermissionAsk {
  /** The agent's JSON-RPC id (a number for Gemini), echoed in the response. */
  rpcId: string | number;
  options: PermissionOption[];
  /** How the tool is named to a person (`Shell: npm test`). */
  label: string;
}

/** ACP tool kinds → the name a permission or tool event shows (Gemini sends no tool name, only its kind). */
const toolNames: Record<ToolKind, string> = {
  read: "Read",
  edit: "Edit",
  delete: "Delete",
  move: "Move",
  search: "Search",
  execute: "Shell",
  think: "Think",
  fetch: "Fetch",
  switch_mode: "SwitchMode",
  other: "Tool",
};

const toolName = (u: Json): string => text(u.name) ?? toolNames[(str(u.kind) ?? "other") as ToolKind] ?? "Tool";

/** The paths a tool call names: its `locations` and the files of its `diff` contents, without repeats. */
function toolPaths(u: Json): string[] {
  const out = new Set<string>();
  for (const l of Array.isArray(u.locations) ? (u.locations as ToolCallLocation[]) : []) {
    const p = text(obj(l)?.path);
    if (p) out.add(p);
  }
  for (const c of Array.isArray(u.content) ? (u.content as ToolCallContent[]) : []) {
    const d = obj(c);
    if (d?.type === "diff" && text(d.path)) out.add(d.path as string);
  }
  return [...out];
}

/** The plain text of a tool call's `content` blocks (Gemini's explanation, e.g. the shell's working directory). */
function contentText(u: Json): string | null {
  const parts: string[] = [];
  for (const c of Array.isArray(u.content) ? u.content : []) {
    const block = obj(obj(c)?.content);
    const t = obj(c)?.type === "content" && block?.type === "text" ? text(block.text) : null;
    if (t) parts.push(t);
  }
  return parts.length ? parts.join("\n") : null;
}

/**
 * What a permission request would do, for auto-response rules. `execute` is a command only when the title is one
 * (Gemini's shell tool titles its call with the command line itself); reads and searches, edits, deletions and
 * moves name their paths; anything without paths, and every other kind (fetch, MCP tools), is `other`.
 */
export function permissionAction(toolCall: Json): PermissionAction {
  const kind = str(toolCall.kind) as ToolKind | null;
  const title = text(toolCall.title);
  if (kind === "execute") return title ? { kind: "command", command: title } : { kind: "other" };
  const paths = toolPaths(toolCall);
  if (paths.length === 0) return { kind: "other" };
  if (kind === "read" || kind === "search") return { kind: "read", paths };
  if (kind === "edit" || kind === "delete" || kind === "move") return { kind: "edit", paths };
  return { kind: "other" };
}

/** A `session/request_permission` as a `permission` event (with `requestId` chosen by the session). */
export function permissionEvent(requestId: string, params: RequestPermissionRequest | Json): WorkerEvent & { type: "permission" } {
  const call = obj((params as Json).toolCall) ?? {};
  const paths = toolPaths(call);
  return {
    type: "permission",
    requestId,
    tool: toolName(call),
    detail: text(call.title) ?? paths[0] ?? null,
    reason: contentText(call),
    input: { kind: str(call.kind), title: str(call.title), locations: paths, toolCallId: str(call.toolCallId) },
    action: permissionAction(call),
  };
}

/**
 * The outcome that answers a permission request, picked by option `kind`, never by position: allow = `allow_once`
 * only (an "always" answer would widen what later calls may do without asking); deny = `reject_once`, else
 * `reject_always`. With no option of the wanted kind the request is answered `cancelled`, which Gemini treats as a
 * rejection.
 */
export function permissionOutcome(options: PermissionOption[], allow: boolean): RequestPermissionOutcome {
  const kinds: PermissionOptionKind[] = allow ? ["allow_once"] : ["reject_once", "reject_always"];
  for (const k of kinds) {
    const o = options.find((x) => x.kind === k);
    if (o) return { outcome: "selected", optionId: o.optionId };
  }
  return { outcome: "cancelled" };
}

/** A permission request's label for `turn_end.denied` and the log: `Shell: npm test`. */
export function permissionLabel(ev: { tool: string; detail: string | null }): string {
  return ev.detail ? `${ev.tool}: ${ev.detail.length > 120 ? `${ev.detail.slice(0, 119)}…` : ev.detail}` : ev.tool;
}

/**
 * One `session/update` during a prompt turn → events. `announced` holds the tool calls already reported, so a tool
 * is one `tool` event whether it arrived as `tool_call` or (after a permission) only as its `tool_call_update`.
 */
export function updateEvents(update: SessionUpdate | Json, announced: Set<string>): WorkerEvent[] {
  const u = update as Json;
  const kind = str(u.sessionUpdate) ?? "unknown";
  switch (kind) {
    case "agent_message_chunk": {
      const c = obj(u.content);
      const t = c?.type === "text" ? text(c.text) : null;
      return t ? [{ type: "text", text: t, delta: true }] : [{ type: "other", kind: `acp/${kind}` }];
    }
    case "tool_call":
    case "tool_call_update": {
      const id = str(u.toolCallId) ?? "";
      if (announced.has(id) || str(u.status) === "pending") return [{ type: "other", kind: `acp/${kind}` }];
      announced.add(id);
      return [{ type: "tool", name: toolName(u), detail: text(u.title) ?? toolPaths(u)[0] ?? null }];
    }
    case "usage_update": {
      // The spec's context meter (`used` of `size` tokens); no per-turn token split comes with it.
      const used = num(u.used);
      if (used === null) return [{ type: "other", kind: `acp/${kind}` }];
      return [{ type: "usage", input: 0, output: 0, cacheRead: 0, cacheWrite: 0, contextTokens: used, contextWindow: num(u.size) }];
    }
    default:
      return [{ type: "other", kind: `acp/${kind}` }];
  }
}

/**
 * The turn's usage from the prompt response's `_meta.quota` (Gemini's extension): tokens summed over the turn's
 * model calls. The context size is known only when the turn was one call to one model (no tool round-trips, no
 * router call), as in the headless stream (`stream.ts`).
 */
export function quotaUsage(meta: unknown, toolCalls: number): WorkerEvent[] {
  const quota = obj(obj(meta)?.quota);
  const count = obj(quota?.token_count);
  const input = num(count?.input_tokens) ?? 0;
  const output = num(count?.output_tokens) ?? 0;
  if (input === 0 && output === 0) return [];
  const models = Array.isArray(quota?.model_usage) ? quota.model_usage : [];
  const oneCall = toolCalls === 0 && models.length === 1;
  return [{ type: "usage", input, output, cacheRead: 0, cacheWrite: 0, contextTokens: oneCall ? input : null }];
}

/** The model the turn's usage names when it used exactly one (not the `auto` alias). */
export function quotaModel(meta: unknown): string | null {
  const models = obj(obj(meta)?.quota)?.model_usage;
  if (!Array.isArray(models)) return null;
  const names = models.map((m) => str(obj(m)?.model)).filter((m): m is string => !!m && m !== "auto");
  return names.length === 1 ? (names[0] ?? null) : null;
}

/** Stop reasons that end a turn short of what was asked: the error the person sees (null = a normal end). */
export function stopReasonError(stop: StopReason | string): { reason: ErrorReason; message: string } | null {
  switch (stop) {
    case "end_turn":
    case "cancelled":
      return null;
    // Gemini 0.61.0 says max_tokens when the next request would overflow the context window.
    case "max_tokens":
      return { reason: "context_overflow", message: "Gemini stopped: the conversation no longer fits the model's context window (max_tokens)" };
    case "max_turn_requests":
      return { reason: "error", message: "Gemini stopped: too many model requests in one turn, or a loop was detected (max_turn_requests)" };
    case "refusal":
      return { reason: "error", message: "Gemini refused to go on with this prompt (refusal)" };
    default:
      return { reason: "error", message: `Gemini stopped the turn: ${stop}` };
  }
}

/**
 * A JSON-RPC error's readable message: Gemini puts Google's whole JSON error body in `message` for API errors
 * (`{"error":{"code":401,"message":"API key not valid…"}}`) and the real reason of an internal error in
 * `data.details`.
 */
export function rpcErrorMessage(e: RpcError): string {
  let m = e.message;
  for (let i = 0; i < 3; i++) {
    const t = m.trim();
    if (!t.startsWith("{")) break;
    try {
      const d = obj(JSON.parse(t));
      const inner = str(obj(d?.error)?.message) ?? str(d?.message);
      if (!inner || inner === m) break;
      m = inner;
    } catch {
      break;
    }
  }
  const details = str(obj(e.data)?.details);
  return details ? `${m}: ${details}` : m;
}

/** The HTTP status a Gemini JSON-RPC error carries as its code (ACP codes are negative), or null. */
export const rpcErrorStatus = (e: RpcError): number | null => (e.code >= 100 && e.code <= 599 ? e.code : null);

/** A JSON-RPC error → the shared error vocabulary: `-32000` is ACP's "authentication required". */
export function rpcErrorReason(e: RpcError): ErrorReason {
  if (e.code === -32000) return "auth";
  const status = reasonFromStatus(rpcErrorStatus(e));
  if (status) return status;
  // JSON-RPC's own "Internal error" wording says nothing about the provider: classify the details only.
  const details = str(obj(e.data)?.details);
  return geminiErrorReason(null, e.code < 0 ? (details ?? e.message.replace(/^internal error:?\s*/i, "")) : rpcErrorMessage(e));
}
