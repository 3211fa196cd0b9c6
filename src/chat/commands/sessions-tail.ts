import { agentOf } from "../../agents/registry.ts";
import type { SessionRecord } from "../../agents/session.ts";
import type { TranscriptEntry } from "../../agents/transcript-entry.ts";
import { clip, formatBytes, formatTime } from "../../lib/present.ts";
import type { View } from "../../messages/view.ts";
import { ambiguousView } from "./sessions.ts";
import { maxChatReadBytes, who } from "./sessions-views.ts";
import { type Command, idArg, UsageError } from "./spec.ts";

/** Messages `/tail` shows when no count is given, and at most. */
export const tailDefault = 10;
export const tailMax = 50;
/** Characters kept of each message: enough to follow the conversation, short enough to read on a phone. */
export const tailMessageChars = 600;

type Said = Extract<TranscriptEntry, { kind: "user" | "assistant" }>;

/** The last `n` things said in a transcript (the person's prompts and the agent's replies), oldest first. */
export function lastMessages(entries: TranscriptEntry[], n: number): Said[] {
  const said = entries.filter((e): e is Said => (e.kind === "user" || e.kind === "assistant") && e.text.trim().length > 0);
  return said.slice(-n);
}

/** `/tail`: a session's last messages, each with who said it and when. */
export function tailView(s: SessionRecord, messages: Said[], total: number): View {
  const agent = agentOf(s.platform).displayName;
  const title = clip(`${who(s)} ${s.sessionId.slice(0, 8)}: last ${messages.length} of ${total} messages`, 40);
  if (messages.length === 0) return { title, sections: [{ lines: ["No messages in its transcript (or it cannot be read)."] }] };
  return {
    title,
    sections: messages.map((m) => ({
      heading: `${m.kind === "user" ? "User" : agent}${m.ts ? ` · ${formatTime(m.ts).slice(5, 16)}` : ""}`,
      lines: [clip(m.text, tailMessageChars)],
    })),
  };
}

export const tailCommand: Command = {
  name: "tail",
  description: "A session's last messages (prompts and replies)",
  usage: `/tail <id-or-prefix> [n] — e.g. /tail 3f1d9c2e 20 (default ${tailDefault}, at most ${tailMax})`,
  options: [
    { name: "id", description: "Session id or a unique prefix", type: "string", required: true, autocomplete: "session" },
    { name: "n", description: `How many messages (default ${tailDefault})`, type: "integer" },
  ],
  async run({ rt, manager, now }, args) {
    if (args.length > 2) throw new UsageError("give a session and at most a count");
    const id = idArg(args[0], "session id or prefix");
    let n = tailDefault;
    if (args[1] !== undefined) {
      if (!/^\d{1,4}$/.test(args[1]) || Number(args[1]) < 1) throw new UsageError(`"${args[1].slice(0, 20)}" is not a count of messages`);
      n = Math.min(tailMax, Number(args[1]));
    }
    const found = manager.findSession(id);
    if (found.kind === "none") return { sections: [{ lines: [`No session matches "${id}". List them with /sessions all.`] }] };
    if (found.kind === "ambiguous") return ambiguousView(id, found.candidates, rt.config, now, "tail");
    const s = found.session;
    if (!s.present || !s.path)
      return { sections: [{ lines: [`${who(s)} ${s.sessionId.slice(0, 8)} has no transcript to read (${s.present ? "no file" : "gone"}).`] }] };
    if (s.sizeBytes > maxChatReadBytes) {
      return {
        sections: [{ lines: [`Its transcript is ${formatBytes(s.sizeBytes)}, too large to read in chat; /memory ${s.sessionId.slice(0, 8)} sums it up.`] }],
      };
    }
    const { readSessionMessages } = await import("../../agents/messages-reader.ts");
    const entries = readSessionMessages(s).entries;
    const said = lastMessages(entries, Number.MAX_SAFE_INTEGER);
    return tailView(s, said.slice(-n), said.length);
  },
};
