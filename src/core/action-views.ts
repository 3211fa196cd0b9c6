import type { View } from "../messages/view.ts";
import type { ActionRecord, ActionStatus } from "../store/actions.ts";
import { type ActionDetails, kindLabels } from "./actions.ts";

/**
 * Button data for an approval: `a:<id>:<nonce>:y|n`, or `f` for "Run anyway" past the restart limit (well under 64
 * bytes: nonce is 16 hex chars).
 */
export const approvalData = (a: Pick<ActionRecord, "id" | "nonce">, yes: boolean, anyway = false) => `a:${a.id}:${a.nonce}:${anyway ? "f" : yes ? "y" : "n"}`;

/** The key a transport reports back through `Inbound.delivered` for an approval message. */
export const approvalKey = (id: number) => `action:${id}`;

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** What the action will do, in one or more lines a person can check before approving. */
export function describeDetails(details: ActionDetails): string[] {
  if (details.mode === "argv") return details.argvs.map((argv) => `run: ${argv.join(" ")}`);
  if (details.mode === "worker") return [`start: a ${details.agent} worker in ${details.cwd}`, `prompt: ${details.prompt.split("\n")[0]}…`];
  return details.stores.flatMap((st) => [
    `edit: ${st.path} (backup first; transcripts stay)`,
    ...st.keys.slice(0, 10).map((k) => `  remove entry ${k}`),
    ...(st.keys.length > 10 ? [`  … and ${st.keys.length - 10} more`] : []),
  ]);
}

/**
 * How an action (a request put up for approval) is numbered wherever it is shown: `a3`. Alerts are `#12` and
 * console messages `m7`, so a number never names the wrong kind of thing (`/approve a3`, `/ack 12`).
 */
export const actionRef = (id: number) => `a${id}`;

const headline = (a: ActionRecord) => `${actionRef(a.id)} ${kindLabels[a.kind]}${a.target ? ` ${a.target}` : ""}`;

/** The approval request: what, why, who asked, until when, and Approve / Deny buttons. */
export function approvalView(a: ActionRecord): View {
  const details = a.details as unknown as ActionDetails;
  const over = details.mode === "argv" ? details.overLimit : undefined;
  return {
    title: `Approval needed: ${headline(a)}${over ? " (restart limit exceeded)" : ""}`,
    tone: over ? "critical" : "warning",
    key: approvalKey(a.id),
    sections: [
      ...(over
        ? [
            {
              lines: [
                `Restart limit exceeded: ${over.recent} restarts in the last ${over.windowMinutes} min (limit ${over.max}).`,
                "Restarting again is unlikely to help; approving takes an explicit Run anyway.",
              ],
            },
          ]
        : []),
      { lines: describeDetails(details), pre: true },
      {
        lines: [...(a.reason ? [`reason: ${a.reason}`] : []), `requested by ${a.requestedBy}; expires ${clock(a.expiresAt)} UTC`],
      },
    ],
    buttons: [
      [
        over
          ? { label: "Run anyway", data: approvalData(a, true, true), style: "danger" }
          : { label: "Approve", data: approvalData(a, true), style: "success" },
        { label: "Deny", data: approvalData(a, false), style: over ? "secondary" : "danger" },
      ],
    ],
  };
}

const statusLine: Record<ActionStatus, string> = {
  pending: "waiting for approval",
  approved: "approved, starting",
  running: "running…",
  denied: "denied",
  expired: "expired (nothing was run)",
  succeeded: "succeeded",
  failed: "FAILED",
  unverified: "ran, but could not be verified",
};

const toneOf = (s: ActionStatus): View["tone"] =>
  s === "succeeded" ? "ok" : s === "failed" || s === "unverified" ? "critical" : s === "denied" || s === "expired" ? "info" : "warning";

/** The approval message after a decision or a run: the outcome and no buttons. */
export function outcomeView(a: ActionRecord): View {
  const lines = [
    ...(a.reason ? [`reason: ${a.reason}`] : []),
    `requested by ${a.requestedBy}`,
    ...(a.decidedBy ? [`${a.status === "denied" ? "denied" : "approved"} by ${a.decidedBy} at ${clock(a.decidedAt ?? 0)} UTC`] : []),
    ...(a.exitCode !== null ? [`exit code ${a.exitCode}`] : []),
    ...(a.verifyNote ? [`verification: ${a.verifyNote}`] : []),
  ];
  const output = (a.outputTail ?? "").split("\n").filter(Boolean).slice(-8);
  return {
    title: `${headline(a)}: ${statusLine[a.status]}`,
    tone: toneOf(a.status),
    sections: [
      { lines: describeDetails(a.details as unknown as ActionDetails), pre: true },
      { lines },
      ...(output.length ? [{ heading: "output (tail)", lines: output, pre: true }] : []),
    ],
    buttons: [],
  };
}

/** One line per action for `/actions`: the audit trail. */
export function actionLine(a: ActionRecord): string {
  const when = new Date(a.createdAt).toISOString().slice(5, 16).replace("T", " ");
  const who = a.decidedBy ? `, ${a.status === "denied" ? "denied" : "decided"} by ${a.decidedBy}` : "";
  return `${actionRef(a.id)} ${when} ${a.kind}${a.target ? ` ${a.target}` : ""} — ${statusLine[a.status]} (by ${a.requestedBy}${who})${a.verifyNote ? `: ${a.verifyNote}` : ""}`;
}
