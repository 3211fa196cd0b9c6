import { actionLine, actionRef, approvalView } from "../../core/action-views.ts";
import { ActionRefused } from "../../core/actions.ts";
import { who } from "../../core/approvals.ts";
import { textView, type View } from "../../messages/view.ts";
import { ambiguousView, candidateLines, distinctIdWidth } from "./sessions.ts";
import { type Command, idArg, reasonFrom, UsageError } from "./spec.ts";

/** A refusal from the actions engine is an answer, not a failure. */
async function refusing(run: () => View | Promise<View>): Promise<View> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ActionRefused) return textView(`Cannot ${err.kind.replace("_", " ")}: ${err.message}`, { private: true });
    throw err;
  }
}

export const restartGatewayCommand: Command = {
  name: "restart_gateway",
  description: "Ask to restart the OpenClaw gateway (an admin approves)",
  usage: "/restart_gateway [reason] — e.g. /restart_gateway not answering since 10:02",
  options: [{ name: "reason", description: "Why (shown to the approver)", type: "string", rest: true }],
  run({ manager, caller }, args) {
    const reason = reasonFrom(args);
    return refusing(() => manager.actions.announce(manager.requestRestart(who(caller), reason), caller));
  },
};

export const resetSessionCommand: Command = {
  name: "reset_session",
  description: "Ask to reset an OpenClaw session (an admin approves)",
  usage: "/reset_session <id-or-prefix> [reason] — e.g. /reset_session 3f1d9c2e context full",
  options: [
    { name: "id", description: "Session id or a unique prefix", type: "string", required: true, autocomplete: "session" },
    { name: "reason", description: "Why (shown to the approver)", type: "string", rest: true },
  ],
  run({ manager, caller, now }, args) {
    const id = idArg(args[0], "session id or prefix");
    const reason = reasonFrom(args.slice(1));
    const found = manager.findSession(id);
    if (found.kind === "none") throw new UsageError(`no session matches "${id}"`);
    if (found.kind === "ambiguous") return ambiguousView(id, found.candidates, manager.rt.config, now, "reset_session");
    return refusing(() => manager.actions.announce(manager.requestReset(found.session, who(caller), reason), caller));
  },
};

export const cleanupCommand: Command = {
  name: "cleanup",
  description: "Ask to remove corrupted or stray OpenClaw entries (an admin approves)",
  usage: "/cleanup [reason] — e.g. /cleanup stale entries after the crash",
  options: [{ name: "reason", description: "Why (shown to the approver)", type: "string", rest: true }],
  run({ manager, caller, now }, args) {
    const reason = reasonFrom(args);
    return refusing(() => {
      const { plan, why, action } = manager.requestCleanup(who(caller), reason);
      const view = approvalView(action);
      const width = distinctIdWidth([...plan.entries, ...plan.skipped]);
      const config = manager.rt.config;
      const found = [
        ...candidateLines(plan.entries, config, now, width, (s) => `[${why.get(s.uid)}]`),
        ...candidateLines(plan.skipped, config, now, width, () => "[SQLite: not touched]"),
      ];
      const full = found.length ? { ...view, sections: [{ heading: "Corrupted or stray entries", lines: found }, ...view.sections] } : view;
      return manager.actions.announce(action, caller, full);
    });
  },
};

/** `/approve <id>` and `/deny <id>`: decide a request without its button (admins). */
function decideCommand(approve: boolean): Command {
  const name = approve ? "approve" : "deny";
  return {
    name,
    description: approve ? "Approve a requested action by its number" : "Deny a requested action by its number",
    usage: approve
      ? `/${name} <action> [anyway] — e.g. /${name} a3 (/actions lists them; "anyway" runs a restart past its limit)`
      : `/${name} <action> — e.g. /${name} a3 (/actions lists them)`,
    admin: true,
    options: [
      { name: "id", description: "The action, a3 or 3 (/actions)", type: "string", required: true },
      ...(approve ? [{ name: "anyway", description: "anyway = run a restart past its limit", type: "string" as const, choices: ["anyway"] }] : []),
    ],
    async run({ manager, caller }, args) {
      // Actions are a3; #12 is how alerts are numbered, so it is refused rather than read as action 12.
      if (/^#\d{1,12}$/.test(args[0] ?? "")) throw new UsageError(`${args[0]} is an alert; actions are numbered a<N> (/actions lists them)`);
      const m = /^a?(\d{1,12})$/i.exec(args[0] ?? "");
      const anyway = approve && args.length === 2 && args[1]!.toLowerCase() === "anyway";
      if (!m || args.length > (anyway ? 2 : 1)) {
        throw new UsageError(args[0] ? `"${args.join(" ").slice(0, 40)}" is not an action number` : "the action number is missing");
      }
      const d = await manager.actions.decideById(caller, Number(m[1]), approve, anyway);
      return textView(d.toast, d.decided ? {} : { private: true });
    },
  };
}

export const approveCommand = decideCommand(true);
export const denyCommand = decideCommand(false);

export const actionsCommand: Command = {
  name: "actions",
  description: "Pending and recent actions (the audit trail)",
  usage: "/actions",
  options: [],
  run({ manager }) {
    const recent = manager.actionStore.recent(20);
    return {
      title: "Actions",
      sections: [
        {
          lines: recent.length
            ? recent.map((a) => `${actionLine(a)}${a.status === "pending" ? ` — /approve ${actionRef(a.id)} or /deny ${actionRef(a.id)}` : ""}`)
            : ["No actions yet. Request one with /restart_gateway, /reset_session or /cleanup."],
        },
      ],
    };
  },
};
