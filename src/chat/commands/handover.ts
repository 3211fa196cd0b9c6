import { agentOf } from "../../agents/registry.ts";
import { saveMemory } from "../../handover/save.ts";
import type { View } from "../../messages/view.ts";
import { type Command, idArg, UsageError } from "./spec.ts";

/**
 * `/handover <worker|session>`: a managed worker is handed over now (its memory saved, a new linked worker
 * started with it); for an observed session the memory is saved and the way to continue is shown (the
 * agent's resume command, or a fresh session given the memory file).
 */
export const handoverCommand: Command = {
  name: "handover",
  description: "Hand a worker over to a fresh one now, or save a session's memory",
  usage: "/handover <worker|session> — e.g. /handover w3",
  admin: true,
  options: [{ name: "id", description: "Worker id or session id/prefix", type: "string", required: true, autocomplete: "session" }],
  async run({ rt, manager, now }, args): Promise<View> {
    if (args.length > 1) throw new UsageError("give one worker or session");
    const id = idArg(args[0], "worker or session id");
    const w = manager.workers.store.get(id);
    if (w) {
      const out = await manager.workers.handover.turnEnded(w, null, { force: true });
      if (out.kind === "handed-over") return { sections: [{ lines: [`${w.id} handed over to ${out.to.id} (memory: ${out.memory.tokens} tokens).`] }] };
      if (out.kind === "capped")
        return { sections: [{ lines: [`${w.id} is at the end of its handover chain (handover.maxChain); not handed over.`] }], tone: "warning" };
      return { sections: [{ lines: [`${w.id} was not handed over: ${out.reason}.`] }], private: true };
    }
    const found = manager.findSession(id);
    if (found.kind === "none") return { sections: [{ lines: [`No worker or session matches "${id}".`] }], private: true };
    if (found.kind === "ambiguous")
      return { sections: [{ lines: [`"${id}" matches ${found.candidates.length} sessions; give a longer prefix.`] }], private: true };
    const s = found.session;
    const deps = { db: rt.db, config: rt.config, log: rt.log };
    const saved = await saveMemory(deps, s, {}, now);
    return {
      title: `Memory of ${s.platform} ${s.sessionId.slice(0, 12)} saved (${saved.memory.tokens} tokens)`,
      sections: [
        {
          lines: [
            saved.filePath ? `File: ${saved.filePath}` : "The memory file could not be written; /memory shows it.",
            `Continue the old session: ${agentOf(s.platform).resumeCommand(s)}`,
            "Or start a fresh session and give it the memory file as its first message.",
          ],
        },
      ],
    };
  },
};
