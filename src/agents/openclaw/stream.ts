import { type Json, num, obj, text as str } from "../../lib/json-value.ts";
import type { WorkerEvent } from "../driver.ts";
import { classifyError, type ErrorReason, reasonFromStatus } from "../error-reason.ts";

/**
 * `openclaw agent --json` output turned into worker events. It is ONE JSON document printed at the end of
 * the run (pretty-printed over many lines), not a line stream, so the driver's `parseOutput` reads it whole
 * and its `parseLine` reports nothing. Success: `{payloads[{text, mediaUrl}], meta{durationMs, aborted,
 * stopReason, agentMeta{sessionId, provider, model, contextTokens (the window), usage, lastCallUsage,
 * promptTokens, assistantTurns, terminalReceipt{requested, effective, successfulToolNames, rerouted}},
 * executionTrace{winnerProvider, winnerModel, attempts[], fallbackUsed}}}`; failure: `{ok:false,
 * error{type:"cli_error", message}, runId?, origin?}` (docs/cli/agent.md of 2026.9.6). OpenClaw runs its
 * own model failover (RUNNER.md §1.5): its trace and the SessionEntry-style `fallbackNotice*` fields
 * (FORMATS.md §5.3) become `model_switch`, never a second fallback of ours.
 */

const ref = (provider: unknown, model: unknown): string | null => {
  const m = str(model);
  if (!m) return null;
  const p = str(provider);
  return p && !m.startsWith(`${p}/`) ? `${p}/${m}` : m;
};

/** The HTTP status in OpenClaw's failure text ("… (provider internal error, HTTP 500) …"), or null. */
export function statusInOpenclawError(message: string): number | null {
  const m = /\bHTTP\s*([1-5]\d\d)\b/i.exec(message) ?? /\bstatus:?\s*([1-5]\d\d)\b/i.exec(message);
  return m ? Number(m[1]) : null;
}

/** OpenClaw's failure text → the shared vocabulary; the HTTP status it names wins. */
export function openclawErrorReason(message: string): ErrorReason {
  const byStatus = reasonFromStatus(statusInOpenclawError(message));
  return byStatus && byStatus !== "invalid_request" ? byStatus : classifyError(message);
}

/** The document in `whole`: all of it, or (when something else was printed first) from the first `{` line. */
function documentOf(whole: string): Json | null {
  const text = whole.trim();
  if (!text) return null;
  const tryParse = (t: string): Json | null => {
    try {
      return obj(JSON.parse(t));
    } catch {
      return null;
    }
  };
  const direct = tryParse(text);
  if (direct) return direct;
  const start = text.search(/^\{/m);
  const end = text.lastIndexOf("}");
  return start >= 0 && end > start ? tryParse(text.slice(start, end + 1)) : null;
}

function switches(meta: Json, agentMeta: Json | null): WorkerEvent[] {
  const out: WorkerEvent[] = [];
  const trace = obj(meta.executionTrace);
  const attempts = Array.isArray(trace?.attempts) ? trace.attempts.map(obj).filter((a): a is Json => a !== null) : [];
  const winner = ref(trace?.winnerProvider, trace?.winnerModel);
  if (trace?.fallbackUsed === true && winner) {
    const failed = attempts.find((a) => a.result !== "success" && ref(a.provider, a.model) !== winner) ?? attempts[0];
    out.push({
      type: "model_switch",
      from: failed ? ref(failed.provider, failed.model) : null,
      to: winner,
      reason: str(failed?.reason) ?? str(failed?.result) ?? "fallback",
    });
  }
  const receipt = obj(agentMeta?.terminalReceipt);
  if (!out.length && receipt?.rerouted === true) {
    const req = obj(receipt.requested);
    const eff = obj(receipt.effective);
    const to = ref(eff?.provider, eff?.model);
    if (to) out.push({ type: "model_switch", from: ref(req?.provider, req?.model), to, reason: "rerouted" });
  }
  // SessionEntry-style fields (FORMATS.md §5.3), wherever this build puts them.
  for (const src of [agentMeta, meta]) {
    const active = str(src?.fallbackNoticeActiveModel);
    const selected = str(src?.fallbackNoticeSelectedModel);
    if (!out.length && active && active !== selected) out.push({ type: "model_switch", from: selected, to: active, reason: str(src?.fallbackNoticeReason) });
  }
  return out;
}

/**
 * The run's own `{payloads, meta}`. `agent --local` prints them at the top; through the Gateway (the
 * driver's path; checked against 2026.9.6) they come wrapped:
 * `{runId, status:"ok", summary:"completed", result:{payloads, meta, sourceReplyDeliveryState}}`.
 */
function bodyOf(d: Json): Json {
  const r = obj(d.result);
  return r && (obj(r.meta) || Array.isArray(r.payloads)) ? r : d;
}

/** The whole stdout of `openclaw agent --json` → events. Never throws; empty output gives none. */
export function parseOpenclawOutput(whole: string): WorkerEvent[] {
  if (!whole.trim()) return [];
  const doc = documentOf(whole);
  if (!doc) return [{ type: "other", kind: "unparsed" }];
  const d = bodyOf(doc);
  if (d.ok === false || (obj(d.error) && !obj(d.meta))) {
    const e = obj(d.error);
    const message = str(e?.message) ?? str(e?.type) ?? "openclaw agent failed";
    return [
      { type: "error", reason: openclawErrorReason(message), message, status: statusInOpenclawError(message), willRetry: false },
      { type: "turn_end", result: message, isError: true, costUsd: null, durationMs: null, numTurns: null, denied: [] },
    ];
  }
  const meta = obj(d.meta) ?? {};
  const agentMeta = obj(meta.agentMeta);
  const out: WorkerEvent[] = [];
  const sessionId = str(agentMeta?.sessionId);
  // The session key `agent:<agent id>:…` names the OpenClaw agent, which is part of the uid the scan gives it.
  const key = str(agentMeta?.sessionKey) ?? str(agentMeta?.sessionFile) ?? str(meta.sessionKey);
  const agentId = key?.startsWith("agent:") ? (key.split(":")[1] ?? null) : "main";
  if (sessionId) out.push({ type: "init", sessionId, model: ref(agentMeta?.provider, agentMeta?.model), version: null, agentId });
  else if (doc.status === "in_flight") out.push({ type: "other", kind: "in_flight" });
  out.push(...switches(meta, agentMeta));
  const receipt = obj(agentMeta?.terminalReceipt);
  for (const name of Array.isArray(receipt?.successfulToolNames) ? receipt.successfulToolNames : [])
    if (typeof name === "string") out.push({ type: "tool", name, detail: null });
  const texts = (Array.isArray(d.payloads) ? d.payloads : []).map((p) => str(obj(p)?.text)).filter((t): t is string => t !== null);
  for (const text of texts) out.push({ type: "text", text });
  const u = obj(agentMeta?.usage);
  const last = obj(agentMeta?.lastCallUsage) ?? u;
  if (u) {
    // `input` excludes cached tokens (FORMATS.md §9): the context is the last call's input + cache.
    const lastContext = last ? (num(last.input) ?? 0) + (num(last.cacheRead) ?? 0) + (num(last.cacheWrite) ?? 0) : null;
    out.push({
      type: "usage",
      input: num(u.input) ?? 0,
      output: num(u.output) ?? 0,
      cacheRead: num(u.cacheRead) ?? 0,
      cacheWrite: num(u.cacheWrite) ?? 0,
      contextTokens: num(agentMeta?.promptTokens) ?? lastContext,
      contextWindow: num(agentMeta?.contextTokens),
    });
  }
  const stop = str(meta.stopReason) ?? str(obj(meta.completion)?.stopReason);
  const aborted = meta.aborted === true;
  const isError = stop === "error";
  if (isError) {
    const message = str(meta.errorMessage) ?? str(agentMeta?.errorMessage) ?? "the turn ended with an error";
    out.push({ type: "error", reason: openclawErrorReason(message), message, status: statusInOpenclawError(message), willRetry: false });
  }
  out.push({
    type: "turn_end",
    result: str(meta.finalAssistantVisibleText) ?? (texts.length ? texts.join("\n\n") : null),
    isError,
    costUsd: num(obj(u?.cost)?.total),
    durationMs: num(meta.durationMs),
    numTurns: num(agentMeta?.assistantTurns),
    denied: [],
    interrupted: aborted,
  });
  return out;
}

/** A line of the document is not a document: all events come from `parseOpenclawOutput` at exit. */
export const parseOpenclawLine = (_line: string): WorkerEvent[] => [];
