import { homedir } from "node:os";
import { agentOf } from "../../agents/registry.ts";
import type { SessionRecord, SessionState } from "../../agents/session.ts";
import type { TranscriptEntry } from "../../agents/transcript-entry.ts";
import type { Config } from "../../config/schema.ts";
import type { ListedSession } from "../../core/session-list.ts";
import { clip, formatAge, formatAgeCompact, formatBytes, formatPercent, formatTime, formatTokens, formatTokensOf, shortPath } from "../../lib/present.ts";
import type { Button, View } from "../../messages/view.ts";

/**
 * How sessions read on a phone (35–45 monospace columns): a list gives each session two short lines — what it
 * is (id, agent, title), then how full it is and its state, with errored and waiting sessions marked — and
 * `/session` the rest, in words rather than the store's keys.
 */

/** One recent turn of a session, as `/session` shows it. */
export interface TurnLine {
  ts: number;
  model: string | null;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  contextTokens: number | null;
}

/** The last thing the person asked and the agent answered, from the transcript (null when there is none). */
export interface LastExchange {
  prompt: { text: string; ts: number | null } | null;
  reply: { text: string; ts: number | null } | null;
}

/**
 * The largest transcript `/session` and `/tail` read in chat: the messages readers parse a whole file at once,
 * and a command must not hold the bot up for seconds.
 */
export const maxChatReadBytes = 32 * 1024 * 1024;

/** The widest line a list writes: a phone shows 35–45 monospace columns. */
export const phoneColumns = 40;

const stateWords: Record<SessionState, string> = {
  running: "running",
  waiting: "💬 waiting",
  idle: "idle",
  errored: "❌ errored",
  ended: "ended",
  unknown: "state unknown",
};

/** A session's state as a list shows it: errored and waiting ones carry a mark so they stand out. */
export const stateText = (s: Pick<SessionRecord, "state" | "present">) => (s.present ? stateWords[s.state] : "gone");

/** Where a session runs: `claude`, `openclaw/main`. */
export const who = (s: Pick<SessionRecord, "platform" | "agentId">) => `${s.platform}${s.agentId ? `/${s.agentId}` : ""}`;

/**
 * What a session is about, short: the title the agent recorded (its summary, the person's last or first
 * prompt), else its project folder (~ for home), else its key; never the store's uid.
 */
export function sessionName(s: Pick<SessionRecord, "title" | "project" | "sessionKey">, max = 60, home = homedir()): string {
  if (s.title?.trim()) return clip(s.title, max);
  if (s.project) {
    const p = shortPath(s.project, home);
    return p.length > max ? `…${p.slice(p.length - max + 1)}` : p;
  }
  return s.sessionKey ? clip(s.sessionKey, max) : "untitled";
}

/** "🔴 96% of 200k": how full, marked at the context check's thresholds; "context unknown" when no figure. */
export function fullness(s: SessionRecord, config: Config, checked = true): string {
  if (s.contextPercent === null) return "context ?";
  const c = config.checks.context;
  const mark = !checked ? "" : s.contextPercent >= c.percentCritical ? "🔴 " : s.contextPercent >= c.percentWarning ? "🟠 " : "";
  return `${mark}${formatPercent(s.contextPercent, 0)} of ${formatTokens(s.contextWindow)}`;
}

/**
 * Two lines for one session, each within 40 columns: `3f1d9c2e claude · fix the login test`, then
 * `   🔴 96% of 200k · ❌ errored · 5m`. `idWidth` is what tells the listed ids apart (see `distinctIdWidth`).
 */
export function sessionLines(s: SessionRecord, config: Config, now: number, idWidth = 8, checked = true): [string, string] {
  const head = `${s.sessionId.slice(0, idWidth)} ${who(s)} · `;
  const first = head + sessionName(s, Math.max(8, phoneColumns - head.length));
  const second = `   ${fullness(s, config, checked)} · ${stateText(s)} · ${s.lastActivity === null ? "never active" : `${formatAgeCompact(s.lastActivity, now)} ago`}`;
  return [first.length > phoneColumns ? clip(first, phoneColumns) : first, second];
}

/** The list of `/sessions`: checked sessions first; with `all`, the ones the checks leave out under their own heading. */
export function sessionListSections(rows: ListedSession[], config: Config, now: number, idWidth: number): View["sections"] {
  const checked = rows.filter((r) => r.skip === null);
  const unchecked = rows.filter((r) => r.skip !== null);
  const sections: View["sections"] = [];
  if (checked.length) sections.push({ lines: checked.flatMap((r) => sessionLines(r.session, config, now, idWidth)) });
  if (unchecked.length) {
    sections.push({ heading: "Not checked (ended, idle or gone)", lines: unchecked.flatMap((r) => sessionLines(r.session, config, now, idWidth, false)) });
  }
  return sections;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** The store's extra facts about a session, in words (never its raw keys). */
export function extraLines(x: Record<string, unknown>, home = homedir()): string[] {
  const out: string[] = [];
  const text = (k: string) => (typeof x[k] === "string" && (x[k] as string).trim() ? (x[k] as string).trim() : null);
  const count = (k: string) => (typeof x[k] === "number" && (x[k] as number) > 0 ? (x[k] as number) : null);
  if (text("channel")) out.push(`channel: ${text("channel")}${text("chatType") ? ` (${text("chatType")})` : ""}`);
  if (text("peer")) out.push(`chat peer: ${text("peer")}`);
  if (text("storage")) out.push(`stored as: ${text("storage") === "sqlite" ? "SQLite database" : `${text("storage")} files`}`);
  if (text("transcriptProblem")) out.push(`⚠️ transcript: ${text("transcriptProblem")!.replace(/-/g, " ")}`);
  if (text("modelOverride")) out.push(`model chosen: ${text("modelOverride")}${text("modelOverrideSource") ? ` (by ${text("modelOverrideSource")})` : ""}`);
  if (text("fallbackNoticeActiveModel")) {
    const from = text("fallbackNoticeSelectedModel");
    out.push(
      `fell back to ${text("fallbackNoticeActiveModel")}${from ? ` from ${from}` : ""}${text("fallbackNoticeReason") ? `: ${text("fallbackNoticeReason")}` : ""}`,
    );
  }
  if (text("lastAssistantModel")) out.push(`last answer by: ${text("lastAssistantModel")}`);
  if (text("lastErrorReason")) out.push(`last error: ${text("lastErrorReason")!.replace(/_/g, " ")}`);
  const compactions = count("compactionCount") ?? count("compactions");
  if (compactions) out.push(`compacted ${plural(compactions, "time")}`);
  if (count("apiErrors")) out.push(`API errors: ${x.apiErrors}`);
  if (count("apiRetries")) out.push(`API retries: ${x.apiRetries}`);
  if (count("parseErrorLine")) out.push(`first unreadable line: ${x.parseErrorLine}`);
  const rl = x.rateLimits as { primary?: { usedPercent?: number; windowMinutes?: number } } | undefined;
  if (rl?.primary?.usedPercent !== undefined) out.push(`rate limit: ${rl.primary.usedPercent}% of ${rl.primary.windowMinutes ?? "?"} min window used`);
  const last = x.lastApiError as { text?: string } | undefined;
  if (last?.text) out.push(`last API error: ${clip(shortPath(String(last.text), home), 160)}`);
  return out;
}

/** Where the session is kept: its own file (and its size), or its rows inside an agent's database. */
export function storageLine(s: Pick<SessionRecord, "path" | "sizeBytes" | "extra">, home = homedir()): string | null {
  if (!s.path) return null;
  const path = shortPath(s.path, home);
  if (s.extra.storage === "sqlite" || /\.(db|sqlite3?)$/.test(s.path)) {
    return `stored in: ${path} (a database shared with other sessions)`;
  }
  return `file: ${path} (${formatBytes(s.sizeBytes)})`;
}

/** The last prompt and the last reply in a transcript's entries. */
export function lastExchange(entries: TranscriptEntry[]): LastExchange {
  let prompt: LastExchange["prompt"] = null;
  let reply: LastExchange["reply"] = null;
  for (let i = entries.length - 1; i >= 0 && (!prompt || !reply); i--) {
    const e = entries[i]!;
    if (!prompt && e.kind === "user" && e.text.trim()) prompt = { text: e.text, ts: e.ts };
    if (!reply && e.kind === "assistant" && e.text.trim()) reply = { text: e.text, ts: e.ts };
  }
  return { prompt, reply };
}

/** The command that resumes a session in its own agent, to copy into a terminal. */
export const resumeCommand = (s: SessionRecord) => agentOf(s.platform).resumeCommand(s);

/** Button data to request a reset of this session, when it fits the 64-byte limit. */
export const resetData = (s: SessionRecord) => {
  const data = `rs:${s.sessionId}`;
  return Buffer.byteLength(data) <= 64 ? data : null;
};

/** Everything we know about one session, in words, within 40 columns where the data allows. */
export function sessionView(s: SessionRecord, turns: TurnLine[], alerts: string[], now: number, exchange: LastExchange | null = null, home = homedir()): View {
  const buttons: Button[] = [];
  const rs = agentOf(s.platform).capabilities.resetSessions && s.present ? resetData(s) : null;
  if (rs) buttons.push({ label: "Reset session…", data: rs, style: "danger" });
  const sections: View["sections"] = [
    {
      lines: [
        ...(s.title ? [`title: ${clip(s.title, 200)}`] : []),
        `id: ${s.sessionId}`,
        ...(s.sessionKey ? [`key: ${s.sessionKey}`] : []),
        `${stateText(s)} · last active ${s.lastActivity === null ? "unknown" : formatAge(s.lastActivity, now)}`,
        `kind: ${s.kind}${s.model ? ` · model: ${s.model}` : ""}`,
        `context: ${s.contextPercent === null ? "unknown" : `${formatPercent(s.contextPercent, 1)} full (${formatTokensOf(s.contextTokens, s.contextWindow)})`}`,
        `tokens: ${formatTokens(s.inputTokens)} in · ${formatTokens(s.outputTokens)} out`,
        `cache: ${formatTokens(s.cacheReadTokens)} read · ${formatTokens(s.cacheWriteTokens)} written`,
        `messages: ${s.messageCount} · started ${formatTime(s.firstActivity)}`,
        ...(s.project ? [`project: ${shortPath(s.project, home)}`] : []),
        ...[storageLine(s, home)].filter((l): l is string => l !== null),
        ...(s.parseErrors ? [`unreadable lines: ${s.parseErrors}${s.lastParseError ? ` (last: ${clip(s.lastParseError, 120)})` : ""}`] : []),
        ...extraLines(s.extra, home),
      ],
    },
  ];
  if (exchange?.prompt)
    sections.push({
      heading: `Last prompt${exchange.prompt.ts ? ` (${formatAge(exchange.prompt.ts, now, "minute")})` : ""}`,
      lines: [clip(exchange.prompt.text, 300)],
    });
  if (exchange?.reply)
    sections.push({
      heading: `Last reply${exchange.reply.ts ? ` (${formatAge(exchange.reply.ts, now, "minute")})` : ""}`,
      lines: [clip(exchange.reply.text, 300)],
    });
  if (exchange?.prompt || exchange?.reply) sections.push({ lines: [`More: /tail ${s.sessionId.slice(0, 8)} 20`] });
  sections.push(
    {
      heading: "Recent turns",
      pre: true,
      lines: turns.length
        ? turns.map(
            (t) =>
              `${formatTime(t.ts).slice(11, 16)} ${t.contextTokens !== null ? `ctx ${formatTokens(t.contextTokens)} · ` : ""}in ${formatTokens(t.input)} · out ${formatTokens(t.output)}`,
          )
        : ["(no per-turn usage recorded)"],
    },
    { heading: "Open alerts", lines: alerts.length ? alerts : ["none"] },
    { heading: "Resume", pre: true, lines: [resumeCommand(s)] },
  );
  return {
    title: clip(`${who(s)} ${s.sessionId.slice(0, 8)} · ${sessionName(s, 40, home)}`, phoneColumns),
    sections,
    ...(buttons.length ? { buttons: [buttons] } : {}),
  };
}
