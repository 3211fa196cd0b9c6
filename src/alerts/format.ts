import { type NotChecked, notCheckedText } from "../checks/coverage.ts";
import { formatDuration, formatTime } from "../lib/present.ts";
import type { ProposedAction } from "../messages/finding.ts";
import type { Button, View } from "../messages/view.ts";
import type { AlertRecord } from "../store/alerts.ts";
import { readable } from "./readable.ts";

/** Which message about an alert is being written. */
export type AlertMessageKind = "fire" | "repeat" | "escalate" | "resolve";

/** What an alert button asks for, decoded from its data (see `parseAlertButton`). */
export type AlertButton =
  | { kind: "ack"; alertId: number }
  | { kind: "silence"; alertId: number; durationMs: number; label: string }
  | { kind: "request"; alertId: number }
  /** A context alert's "Save memory" (`mem:<id>`) and "Continue as a worker" (`cw:<id>`). */
  | { kind: "memory"; alertId: number }
  | { kind: "continue"; alertId: number };

/** Silence durations offered on alert buttons. */
export const silenceChoices: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000 };

const actionLabels: Record<ProposedAction["kind"], string> = {
  restart_gateway: "Request restart",
  // A reset always saves the session's memory first (issue 16), and the button says so.
  reset_session: "Save memory & reset",
  cleanup: "Request cleanup",
  repair_gateway: "Start repair worker",
};

/** Why a closed alert was closed without its problem going away (see `NotChecked`), or null when it went away. */
export function notCheckedOf(a: AlertRecord): NotChecked | null {
  const v = a.report.details?.notChecked;
  return v === "check-off" || v === "inactive" ? v : null;
}

/** How a closed alert reads: "resolved" only for a problem that went away. */
export const closedLabel = (a: AlertRecord) => {
  const why = notCheckedOf(a);
  return why ? notCheckedText[why] : "resolved";
};

/** The status line: what happened to this alert and since when. */
function statusLine(a: AlertRecord, kind: AlertMessageKind, now: number): string {
  const since = a.firedAt ?? a.firstSeen;
  switch (kind) {
    case "fire":
      return "firing";
    case "repeat":
      return `still firing for ${formatDuration(now - since, "minute")} (reminder)`;
    case "escalate":
      return `escalated${a.notifiedSeverity ? ` from ${a.notifiedSeverity}` : ""} to ${a.severity}, firing for ${formatDuration(now - since, "minute")}`;
    case "resolve":
      return `${closedLabel(a)} at ${formatTime(a.resolvedAt ?? now)} after ${formatDuration((a.resolvedAt ?? now) - since, "minute")}${notCheckedOf(a) ? "; the last state is shown above" : ""}`;
  }
}

/**
 * The buttons an alert offers: its proposed action (`req:<id>`, approval-gated by the core), then
 * Ack (`ack:<id>`) and Silence 1 h / 24 h (`sil:<id>:1h`). Resolved alerts offer none.
 */
export function alertButtons(a: AlertRecord): Button[][] {
  if (a.status === "resolved") return [];
  const rows: Button[][] = [];
  const proposed = a.report.proposedAction;
  if (proposed) rows.push([{ label: actionLabels[proposed.kind], data: `req:${a.id}`, style: "danger" }]);
  // A session filling up: keep what it knows, or continue it as a managed worker with that memory.
  if (a.check === "context" && typeof a.report.details?.uid === "string") {
    rows.push([
      { label: "Save memory", data: `mem:${a.id}` },
      { label: "Continue as a worker", data: `cw:${a.id}` },
    ]);
  }
  const controls: Button[] = [];
  if (a.ackedAt === null) controls.push({ label: "Ack", data: `ack:${a.id}`, style: "secondary" });
  for (const d of Object.keys(silenceChoices)) controls.push({ label: `Silence ${d}`, data: `sil:${a.id}:${d}`, style: "secondary" });
  rows.push(controls);
  return rows;
}

/**
 * One alert as a message, with the report fields: time, type, severity, component, current value,
 * threshold, recommended action, status. Critical alerts notify; everything else, and every
 * resolve (an edit), is silent. The severity's colour mark comes from the transport (its `tone`), so
 * the title says the word only; ids and paths read short (`readable`).
 */
export function alertView(a: AlertRecord, kind: AlertMessageKind, now: number): View {
  const f = a.report;
  const resolved = kind === "resolve";
  const unchecked = resolved ? notCheckedOf(a) : null;
  const head = unchecked ? notCheckedText[unchecked].toUpperCase() : resolved ? "RESOLVED" : a.severity.toUpperCase();
  const lines = [
    `Time: ${formatTime(resolved ? (a.firedAt ?? a.firstSeen) : now)}`,
    `Type: ${a.check}`,
    `Severity: ${a.severity}`,
    `Component: ${readable(f.component)}`,
  ];
  if (f.value !== undefined) lines.push(`Current value: ${readable(f.value)}`);
  if (f.threshold !== undefined) lines.push(`Threshold: ${readable(f.threshold)}`);
  lines.push(`Recommended action: ${readable(f.action)}`);
  lines.push(`Status: ${statusLine(a, kind, now)}`);
  if (a.ackedBy && !resolved) lines.push(`Acknowledged by ${a.ackedBy}`);
  return {
    title: `${head} · ${readable(a.summary)}`,
    sections: [{ lines }],
    buttons: resolved ? [] : alertButtons(a),
    silent: resolved || a.severity !== "critical",
    tone: unchecked ? "info" : resolved ? "ok" : a.severity,
  };
}

/** Most lines a group message lists before "… and N more" (transports still enforce their own caps). */
export const groupListLimit = 25;

/**
 * Several alerts in one message: one line each with its status, so a group message can be edited
 * as its members resolve. Silent unless a firing member is critical.
 */
export function groupView(alerts: AlertRecord[], now: number, options: { reminder?: boolean } = {}): View {
  const checks = [...new Set(alerts.map((a) => a.check))];
  const open = alerts.filter((a) => a.status !== "resolved");
  const worst = open.some((a) => a.severity === "critical") ? "critical" : open.some((a) => a.severity === "warning") ? "warning" : "info";
  const lines = alerts.slice(0, groupListLimit).map((a) => {
    const state = a.status === "resolved" ? (notCheckedOf(a) ? `⏸ ${closedLabel(a)}` : "✅ resolved") : a.severity;
    return `• [${state}] ${readable(a.summary)}${a.report.value !== undefined ? ` — ${readable(a.report.value)}` : ""}`;
  });
  if (alerts.length > groupListLimit) lines.push(`… and ${alerts.length - groupListLimit} more`);
  const resolvedCount = alerts.length - open.length;
  const status = open.length === 0 ? "all resolved" : `${open.length} firing${resolvedCount ? `, ${resolvedCount} resolved` : ""}`;
  const actions = [...new Set(alerts.map((a) => readable(a.report.action)))].slice(0, 3);
  return {
    title: `${alerts.length} ${checks.join(", ")} alerts${options.reminder ? " still firing (reminder)" : ""}`,
    sections: [{ lines }, { lines: [`Time: ${formatTime(now)}`, `Status: ${status}`, ...actions.map((x) => `Recommended action: ${x}`)] }],
    silent: open.length === 0 || worst !== "critical",
    tone: open.length === 0 ? "ok" : worst,
  };
}

/** Decodes alert button data (`ack:12`, `sil:12:1h`, `req:12`, `mem:12`, `cw:12`); undefined when it is not one of ours. */
export function parseAlertButton(data: string): AlertButton | undefined {
  const m = /^(ack|req|sil|mem|cw):(\d{1,15})(?::(\w+))?$/.exec(data);
  if (!m) return undefined;
  const alertId = Number(m[2]);
  if (m[1] === "mem" && m[3] === undefined) return { kind: "memory", alertId };
  if (m[1] === "cw" && m[3] === undefined) return { kind: "continue", alertId };
  if (m[1] === "ack" && m[3] === undefined) return { kind: "ack", alertId };
  if (m[1] === "req" && m[3] === undefined) return { kind: "request", alertId };
  if (m[1] === "sil" && m[3] !== undefined && silenceChoices[m[3]] !== undefined) {
    return { kind: "silence", alertId, durationMs: silenceChoices[m[3]]!, label: m[3] };
  }
  return undefined;
}
