import { homedir } from "node:os";
import { platforms } from "../agents/session.ts";

/**
 * How the ids and paths a finding carries read in a message: a session uid (`gemini::cfa17fa0-5c2e-…`) as
 * `gemini cfa17fa0` (a prefix `/session` accepts), a full UUID as its first 8 characters, the home folder as
 * `~`. Findings keep the full values (they are their identity and their details); only what a person reads
 * is shortened.
 */

const uid = new RegExp(`\\b(${platforms.join("|")}):([A-Za-z0-9._-]*):([A-Za-z0-9._-]+)`, "g");
const uuid = /\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/** A session uid as a person reads it: `gemini cfa17fa0`, `openclaw/main 3f1d9c2e`. */
export function shortUid(platform: string, agentId: string, sessionId: string): string {
  return `${platform}${agentId ? `/${agentId}` : ""} ${sessionId.slice(0, 8)}`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Text with session uids, UUIDs and home paths shortened (see above); a path keeps its file name whole. */
export function readable(text: string, home = homedir()): string {
  const inHome = home && home !== "/" ? new RegExp(`(^|[\\s"'(=])${escapeRegExp(home)}(?=/|$|[\\s"'),;:])`, "g") : null;
  return text
    .split(/(\s+)/)
    .map((word) => {
      if (word.includes("/")) return inHome ? word.replace(inHome, "$1~") : word;
      return word.replace(uid, (_m, platform: string, agentId: string, sessionId: string) => shortUid(platform, agentId, sessionId)).replace(uuid, "$1");
    })
    .join("");
}
