import { agentOf } from "../agents/registry.ts";
import type { SessionRecord } from "../agents/session.ts";
import { clip, formatDuration, formatTokens } from "../lib/present.ts";
import type { Button, View } from "../messages/view.ts";
import type { WorkerEventRow, WorkerRequestRow, WorkerRow } from "../store/workers.ts";

/**
 * How a worker reads on a phone: short lines (≤ 40 columns where the data allows), the worker id first so
 * every message in a shared feed says whose it is.
 */

const statusMark: Record<WorkerRow["status"], string> = {
  queued: "⏳ queued",
  starting: "▶️ starting",
  running: "▶️ running",
  "waiting-for-input": "⏸ waiting",
  completed: "✅ completed",
  failed: "❌ failed",
  killed: "⛔ killed",
  interrupted: "⏹ interrupted",
};

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/** The title every worker message carries: `w3 · Claude Code · app`. */
export function workerTitle(w: WorkerRow): string {
  const head = `${w.id} · ${agentOf(w.agent).displayName} · `;
  return head + cut(w.workspace, Math.max(8, 40 - head.length));
}

/** Telegram's forum topic names are 1–128 characters (Discord's thread names 1–100: the transport cuts further). */
const maxThreadTitle = 128;

/** The name of a worker's own topic or thread: `w3 app: fix the failing test`. */
export const workerThreadTitle = (w: Pick<WorkerRow, "id" | "workspace" | "prompt">) => cut(`${w.id} ${w.workspace}: ${oneLine(w.prompt)}`, maxThreadTitle);

/** The first non-empty line of an answer, short enough for a notification. */
export const firstLine = (text: string | null | undefined, n = 200) => clip((text ?? "").split("\n").find((l) => l.trim()) ?? "", n);

/** The one note a worker that finished its turn and awaits the user gets: `w3 is waiting for you: <first line>`. */
export function workerWaitingView(w: WorkerRow, answer: string | null): View {
  const line = firstLine(answer ?? w.outputTail);
  return {
    title: `${w.id} is waiting for you${line ? `: ${line}` : ""}`,
    sections: [{ lines: [`Reply here (or /send ${w.id} <text>) for its next turn.`] }],
  };
}

/** What a person does next, by error class (`agent` names the config key to check when its CLI did not start). */
export function recoveryHint(errorClass: string | null, agent = "<agent>"): string {
  switch (errorClass) {
    case "rate_limit":
      return "Rate limited: /resume it later, or spawn on another model.";
    case "billing":
      return "Quota or credit exhausted: wait for the reset or fix billing, then /resume.";
    case "auth":
      return "The CLI is not logged in or its key is wrong: fix its login on the host, then /resume.";
    case "overloaded":
    case "server_error":
      return "The provider is failing: /resume in a few minutes.";
    case "context_overflow":
      return "The session is full: start a fresh worker with a summary instead of resuming.";
    case "timeout":
      return "The turn went silent and was stopped: /resume to continue.";
    case "spawn":
      return `The CLI did not start: check runner.drivers.${agent}.command and that it is installed.`;
    case "restart":
      return "asm restarted while it ran: /resume to continue its session.";
    default:
      return "See the stderr tail; /resume continues the session.";
  }
}

/** The status message, edited in place while the worker runs. */
export function workerStatusView(
  w: WorkerRow,
  session: SessionRecord | undefined,
  now: number,
  /** The cost from the price catalog when the CLI reports none (Codex, Gemini, OpenCode): said to be an estimate. */
  estimatedCostUsd?: number | null,
  /** Its model's context window, for the context share before the scanner has read its session (which knows it best). */
  window?: number | null,
): View {
  const waiting = w.status === "waiting-for-input";
  // What it waits for says the reason itself (`permission: Bash(npm test)`), on its own line; else the bare reason.
  const lines = [`${statusMark[w.status]}${waiting && w.waitingReason && !w.waitingDetail ? ` (${w.waitingReason})` : ""}`];
  if (waiting && w.waitingDetail) lines.push(cut(w.waitingDetail, 40));
  if (w.model) lines.push(`model ${cut(w.model, 34)}`);
  const tokens = w.inputTokens + w.outputTokens + w.cacheReadTokens + w.cacheWriteTokens;
  lines.push(`turns ${w.turns} · tokens ${formatTokens(tokens)}`);
  const ctx = session?.contextTokens ?? w.contextTokens;
  const win = session?.contextWindow ?? window ?? null;
  if (ctx !== null) lines.push(`context ${formatTokens(ctx)}${win ? ` (${Math.round((ctx / win) * 100)}%)` : ""}`);
  if (w.costUsd !== null) lines.push(`cost $${w.costUsd.toFixed(2)}`);
  else if (estimatedCostUsd !== undefined && estimatedCostUsd !== null) lines.push(`cost ≈$${estimatedCostUsd.toFixed(2)} (catalog price)`);
  if (w.lastTool) lines.push(`tool ${clip(w.lastTool, 34)}`);
  if (w.startedAt) lines.push(`elapsed ${formatDuration((w.endedAt ?? now) - w.startedAt)}`);
  return { title: workerTitle(w), sections: [{ lines }], silent: true };
}

/** The stderr block of a failure: its last lines, each wrapped (not cut: the end of a line says the most) to fit a phone. */
const STDERR_COLUMNS = 38;
const STDERR_ROWS = 10;

function stderrRows(tail: string): string[] {
  const rows = tail
    .trim()
    .split("\n")
    .slice(-5)
    .flatMap((l) => {
      const line = l.trimEnd();
      const parts: string[] = [];
      for (let i = 0; i < line.length; i += STDERR_COLUMNS) parts.push(line.slice(i, i + STDERR_COLUMNS));
      return parts.length ? parts : [""];
    });
  return rows.join("").trim() ? rows.slice(-STDERR_ROWS) : [];
}

/**
 * The final message: what it did, or why it failed and what to do. `session` is its scanned session, for the
 * context share the status message showed.
 */
export function workerResultView(w: WorkerRow, now: number, session?: SessionRecord, window?: number | null): View {
  const sections: View["sections"] = [{ lines: workerStatusView(w, session, now, undefined, window).sections[0]!.lines }];
  // A protocol CLI that serves until stopped (opencode serve) ends by asm's signal once its work is done.
  if (w.status === "completed" && w.signal) sections[0]!.lines.push(`exit ${w.signal}: stopped by asm when done`);
  else if (w.exitCode !== null || w.signal) sections[0]!.lines.push(`exit ${w.signal ?? w.exitCode}`);
  if (w.status === "failed") {
    sections.push({ heading: `Error: ${w.errorClass ?? "unknown"}`, lines: [cut(w.errorMessage ?? "", 500), recoveryHint(w.errorClass, w.agent)] });
    const stderr = stderrRows(w.stderrTail);
    if (stderr.length) sections.push({ heading: "stderr", lines: stderr, pre: true });
  }
  if (w.denied.length) sections.push({ heading: "Denied by the CLI's policy", lines: [w.denied.join(", ")] });
  const out = w.outputTail.trim();
  if (out)
    sections.push({ heading: w.status === "completed" ? "Answer" : "Last output", lines: [w.status === "completed" ? cut(out, 3000) : out.slice(-500)] });
  const buttons: Button[] = [];
  if (w.sessionId) buttons.push({ label: "Resume", data: `wk:r:${w.id}` });
  buttons.push({ label: "Show output", data: `wk:o:${w.id}` });
  return {
    title: workerTitle(w),
    sections,
    buttons: [buttons],
    tone: w.status === "completed" ? "ok" : w.status === "failed" ? "critical" : "warning",
  };
}

/**
 * "Show output" (`/worker <id> output`): all of the output tail asm keeps (the result shows 500 characters of a
 * failure's), and for a worker that did not complete, all of its stderr tail.
 */
export function workerOutputView(w: WorkerRow): View {
  const out = w.outputTail.trim();
  const sections: View["sections"] = [{ heading: "Output (its last 4 KB)", lines: [out || "none"] }];
  if (w.status !== "completed" && w.stderrTail.trim()) {
    const rows = w.stderrTail
      .trim()
      .split("\n")
      .flatMap((l) => l.trimEnd().match(/.{1,38}/g) ?? [""]);
    sections.push({ heading: "stderr", lines: rows, pre: true });
  }
  return { title: `${w.id} output · ${statusMark[w.status]}`, sections };
}

/** A permission request (Allow / Deny) or a question (its options as buttons, or a typed reply), for admins. */
export function workerRequestView(w: WorkerRow, r: WorkerRequestRow): View {
  const expires = `expires ${new Date(r.expiresAt).toISOString().slice(11, 16)} UTC`;
  if (r.kind === "question") {
    const options = Array.isArray(r.payload.options) ? (r.payload.options as unknown[]).map(String).slice(0, 8) : [];
    return {
      title: `${w.id} asks`,
      sections: [{ lines: [cut(String(r.payload.text ?? ""), 1500), `Reply here, or /send ${w.id} <answer>.`, expires] }],
      // One option per row: labels are sentences, and a phone shows one per line anyway.
      ...(options.length ? { buttons: options.map((o, i) => [{ label: cut(o, 60), data: `wq:${r.id}:${r.nonce}:${i}` }]) } : {}),
      tone: "warning",
    };
  }
  const lines = [`tool ${String(r.payload.tool ?? "?")}`];
  if (r.payload.detail) lines.push(cut(String(r.payload.detail), 600));
  // Some CLIs put the command itself in the reason field: said once is enough.
  if (r.payload.reason && r.payload.reason !== r.payload.detail) lines.push(`why: ${cut(String(r.payload.reason), 300)}`);
  lines.push(expires);
  return {
    title: `${w.id} asks permission`,
    sections: [{ lines }],
    buttons: [
      [
        { label: "Allow", data: `wp:${r.id}:${r.nonce}:y`, style: "success" },
        { label: "Deny", data: `wp:${r.id}:${r.nonce}:n`, style: "danger" },
      ],
    ],
    tone: "warning",
  };
}

/** The request message once it is settled: what was asked and how it ended, with its buttons gone. */
export function workerRequestSettledView(w: WorkerRow | undefined, r: WorkerRequestRow, outcome: string): View {
  const what =
    r.kind === "question" ? clip(String(r.payload.text ?? ""), 200) : `${String(r.payload.tool ?? "?")} ${clip(String(r.payload.detail ?? ""), 200)}`;
  return {
    title: `${w?.id ?? r.workerId ?? "?"} ${r.kind === "question" ? "asked" : "asked permission"}`,
    sections: [{ lines: [what, outcome] }],
    buttons: [],
  };
}

/** The one reminder of a request still open: `w3 still waits for you` + what, and since when. */
export function workerReminderView(w: WorkerRow, r: WorkerRequestRow, now: number): View {
  return {
    title: `${w.id} still waits for you`,
    sections: [{ lines: [cut(w.waitingDetail ?? r.kind, 40), `asked ${formatDuration(now - r.createdAt)} ago; answer above`] }],
    tone: "warning",
  };
}

/** A non-admin's /spawn, waiting for an admin. */
export function spawnRequestView(r: WorkerRequestRow): View {
  const p = r.payload;
  return {
    title: `Spawn request #${r.id}`,
    sections: [{ lines: [`${String(p.agent)} in ${String(p.workspace)}`, `by ${String(p.requestedBy)}`, cut(String(p.prompt), 500)] }],
    buttons: [
      [
        { label: "Approve", data: `ws:${r.id}:${r.nonce}:y`, style: "success" },
        { label: "Deny", data: `ws:${r.id}:${r.nonce}:n`, style: "danger" },
      ],
    ],
    tone: "warning",
  };
}

/** `/workers`: one short line per worker. `start` is how to start one where the list is read (`asm spawn …` on the CLI). */
export function workerListView(ws: WorkerRow[], now: number, start = "/spawn <agent> <workspace> <prompt>"): View {
  if (ws.length === 0) return { title: "Workers", sections: [{ lines: [`No workers. Start one with ${start}.`] }] };
  return {
    title: "Workers",
    sections: [
      {
        // Two short lines each: what state it is in (it must stand out), then what and where.
        lines: ws.flatMap((w) => [
          `${w.id} ${statusMark[w.status]} · ${formatDuration((w.endedAt ?? now) - (w.startedAt ?? w.createdAt))}`,
          `   ${cut(`${w.agent} · ${w.workspace}`, 37)}`,
          ...(w.status === "waiting-for-input" && w.waitingDetail ? [`   ${cut(w.waitingDetail, 37)}`] : []),
        ]),
      },
    ],
  };
}

/** Events are a `pre` block (aligned, never wrapped): each line fits a phone as it is, indent included. */
const EVENT_LINE = 38;

/** What an event did, in a few words: `tool Bash: npm test`, `usage in 3 · out 120 · ctx 31k`, `error rate_limit: 429`. */
function eventWhat(type: string, p: Record<string, unknown>): string {
  const s = (v: unknown) => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  const pair = (a: unknown, b: unknown) => (s(b) ? `${s(a)}: ${s(b)}` : s(a));
  switch (type) {
    case "init":
      return s(p.sessionId);
    case "text":
    case "question":
      return s(p.text);
    case "tool":
      return pair(p.name, p.detail);
    case "permission":
      return pair(p.tool, p.detail);
    case "usage":
      return `in ${formatTokens(n(p.input))} · out ${formatTokens(n(p.output))}${typeof p.contextTokens === "number" ? ` · ctx ${formatTokens(p.contextTokens)}` : ""}`;
    case "turn_end":
      return p.isError ? `failed: ${s(p.result)}` : p.interrupted ? "interrupted" : s(p.result);
    case "error":
      return pair(p.reason, p.message);
    case "model_switch":
      return `${s(p.from) || "?"} → ${s(p.to)}`;
    case "request_cancelled":
      return s(p.requestId);
    default:
      return s(p.kind);
  }
}

/** One event of `/worker <id> events`: `05:39:52 tool Bash: echo hi`, within `EVENT_LINE` columns. */
export function eventLine(e: WorkerEventRow): string {
  const t = new Date(e.ts).toISOString().slice(11, 19);
  return clip(`${t} ${e.type} ${eventWhat(e.type, e.payload)}`, EVENT_LINE);
}

/** `/worker <id>`: status, resume chain, events tail. */
export function workerDetailView(
  w: WorkerRow,
  chain: WorkerRow[],
  events: WorkerEventRow[],
  session: SessionRecord | undefined,
  now: number,
  /** `autoRespond.maxAutoResponds` of its agent, when it has rules (else the line is left out). */
  autoCap?: number,
  estimatedCostUsd?: number | null,
  /** The type `events` were filtered on (`/worker w3 events tool`), if any. */
  eventType?: string,
  window?: number | null,
): View {
  const v = workerStatusView(w, session, now, estimatedCostUsd, window);
  v.silent = false;
  v.sections.push({ heading: "Prompt", lines: [cut(w.prompt, 500)] });
  // The way back from the worker to its agent session (/session of that session links here).
  if (w.sessionId) v.sections.push({ heading: "Session", lines: [w.sessionId, session ? `/session ${w.sessionId.slice(0, 12)}` : "not scanned yet"] });
  if (chain.length > 1) v.sections.push({ heading: "Resume chain", lines: [chain.map((c) => c.id).join(" → ")] });
  if (autoCap !== undefined) v.sections.push({ heading: "Auto-responses", lines: [`${w.respondCount} of ${autoCap} used`] });
  if (w.errorClass) v.sections.push({ heading: `Error: ${w.errorClass}`, lines: [cut(w.errorMessage ?? "", 300), recoveryHint(w.errorClass, w.agent)] });
  // Asked for one type: the section says so, and that there are none rather than vanishing.
  if (events.length || eventType) {
    v.sections.push({
      heading: eventType ? `Events: ${eventType}` : "Events",
      pre: true,
      lines: events.length ? events.map(eventLine) : ["none"],
    });
  }
  return v;
}
