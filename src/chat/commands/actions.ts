import { actionLine, approvalView } from "../../core/action-views.ts";
import { ActionRefused } from "../../core/actions.ts";
import { who } from "../../core/approvals.ts";
import { textView, type View } from "../../messages/view.ts";
import { distinctIdWidth, sessionRow, suggestion } from "./sessions.ts";
import { type Command, idArg, reasonFrom, UsageError } from "./spec.ts";

/** A refusal from the actions engine is an answer, not a failure. */
function refusing(run: () => View): View {
  try {
    return run();
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
    return refusing(() => approvalView(manager.requestRestart(who(caller), reason)));
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
    if (found.kind === "ambiguous") {
      const width = distinctIdWidth(found.candidates, Math.max(8, id.length + 1));
      return {
        title: `"${id}" matches several sessions; give a longer prefix`,
        sections: [
          { lines: found.candidates.map((s) => sessionRow(s, now, width)), pre: true },
          { lines: [`e.g. /reset_session ${suggestion(found.candidates, width)}`] },
        ],
        private: true,
      };
    }
    return refusing(() => approvalView(manager.requestReset(found.session, who(caller), reason)));
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
      const found = [
        ...plan.entries.map((s) => `${sessionRow(s, now, width)} [${why.get(s.uid)}]`),
        ...plan.skipped.map((s) => `${sessionRow(s, now, width)} [SQLite: not touched]`),
      ];
      return found.length ? { ...view, sections: [{ heading: "Corrupted or stray entries", lines: found, pre: true }, ...view.sections] } : view;
    });
  },
};

export const actionsCommand: Command = {
  name: "actions",
  description: "Pending and recent actions (the audit trail)",
  usage: "/actions",
  options: [],
  run({ manager }) {
    const recent = manager.actionStore.recent(20);
    return {
      title: "Actions",
      sections: [{ lines: recent.length ? recent.map(actionLine) : ["No actions yet. Request one with /restart_gateway, /reset_session or /cleanup."] }],
    };
  },
};
