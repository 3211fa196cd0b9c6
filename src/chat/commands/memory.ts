import { latestMemory } from "../../handover/save.ts";
import type { View } from "../../messages/view.ts";
import { ambiguousView } from "./sessions.ts";
import { type Command, idArg, UsageError } from "./spec.ts";

export const memoryCommand: Command = {
  name: "memory",
  description: "A session's handover memory (built now if it has none)",
  usage: "/memory <id-or-prefix> — e.g. /memory 3f1d9c2e",
  options: [{ name: "id", description: "Session id or a unique prefix", type: "string", required: true, autocomplete: "session" }],
  async run({ rt, manager, now }, args): Promise<View> {
    if (args.length > 1) throw new UsageError("give one session id or prefix");
    const id = idArg(args[0], "session id or prefix");
    const found = manager.findSession(id);
    if (found.kind === "none") return { sections: [{ lines: [`No session matches "${id}". List them with /sessions all.`] }] };
    if (found.kind === "ambiguous") return { ...ambiguousView(id, found.candidates, rt.config, now, "memory"), private: false };
    const saved = await latestMemory({ db: rt.db, config: rt.config, log: rt.log }, found.session, now);
    const m = saved.memory;
    const facts = `${m.kind}, ${m.tokens} tokens${m.truncated ? " (cut to fit)" : ""}${saved.built ? ", built now" : ""}`;
    return {
      title: `Memory of ${m.platform} ${m.sessionId.slice(0, 12)} (${facts})`,
      sections: [{ lines: saved.markdown.trimEnd().split("\n") }, ...(saved.filePath ? [{ lines: [`File: ${saved.filePath}`] }] : [])],
    };
  },
};
