import type { PlanItem, TranscriptEntry, TranscriptRead } from "../agents/transcript-entry.ts";
import { clip } from "../lib/present.ts";

/**
 * The extractive memory of a session (RUNNER.md §4.7): built from its transcript without any model, in fixed
 * sections, facts not prose. What LLM summaries lose most (the person's words, which files, which commands,
 * which errors) is taken exactly. Pure and deterministic: the same entries and inputs give a byte-identical
 * memory (nothing here reads the clock; times come from the transcript).
 *
 * Bounded: the Markdown rendering (what goes into a prompt) stays within `memoryTokens`, counted as
 * characters / 4. When it does not fit, tool output is cut first, then lists are shortened, then the oldest
 * user messages go (the goal and the newest stay), then long texts are cut from the middle.
 */

export interface MemoryInput {
  platform: string;
  sessionId: string;
  /** The runner's task title or brief, when a managed worker has one. */
  title?: string | null;
  /** Tokens in the context at handover (the agent's own count when known). */
  tokensAtHandover?: number | null;
  contextWindow?: number | null;
  /** How many handovers precede this one in the chain (0 for a first memory). */
  handoverCount?: number;
  memoryTokens: number;
}

export interface FileCount {
  path: string;
  count: number;
}

export interface CommandRun {
  command: string;
  exitCode: number | null;
  /** The last lines of the output, kept only for a failing command. */
  output: string | null;
}

export interface ErrorSeen {
  text: string;
  /** What the agent said or did next (the next assistant text or tool call). */
  followedBy: string | null;
}

export interface Memory {
  version: 1;
  /** "extractive" (this module) or "summarized" (a configured summarizer improved it). */
  kind: "extractive" | "summarized";
  platform: string;
  sessionId: string;
  title: string | null;
  model: string | null;
  cwd: string | null;
  tokensAtHandover: number | null;
  contextWindow: number | null;
  handoverCount: number;
  /** Time of the last transcript entry (epoch ms), null when none has one. */
  lastActivity: number | null;
  goal: string | null;
  /** Every user message, oldest first; when over budget the oldest after the goal are left out. */
  userMessages: string[];
  userMessagesOmitted: number;
  files: { created: FileCount[]; edited: FileCount[]; deleted: FileCount[]; read: string[] };
  commands: CommandRun[];
  plan: PlanItem[] | null;
  errors: ErrorSeen[];
  lastAssistant: string | null;
  pendingQuestion: string | null;
  compactions: number;
  /** The summarizer's text, when kind is "summarized". */
  summary: string | null;
  /** Estimated tokens of the Markdown rendering. */
  tokens: number;
  /** Something was cut or left out to stay within the bound. */
  truncated: boolean;
  stats: { entries: number; userMessages: number; toolCalls: number; parseErrors: number };
}

/** Tokens of a text, estimated as characters / 4 (rounded up). */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/** The first and last part of a long text, with what was cut in between. */
export function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = Math.max(0, max - 30);
  const head = Math.ceil(keep * 0.6);
  const tailLen = keep - head;
  return `${text.slice(0, head)}\n[… ${text.length - keep} chars cut …]\n${tailLen > 0 ? text.slice(text.length - tailLen) : ""}`;
}

const lastLines = (text: string, lines: number, chars: number) => {
  const t = text.trimEnd().split("\n").slice(-lines).join("\n");
  return t.length > chars ? `…${t.slice(t.length - chars)}` : t;
};

const oneLine = (text: string, max = 200) => clip(text, max);

interface Limits {
  commands: number;
  reads: number;
  filesPerKind: number;
  errors: number;
  output: number;
  outputLines: number;
  userMessages: number;
  text: number;
  plan: number;
}

const generous: Limits = {
  commands: 15,
  reads: 10,
  filesPerKind: 50,
  errors: 8,
  output: 1500,
  outputLines: 20,
  userMessages: Infinity,
  text: Infinity,
  plan: 50,
};

/** Everything the memory holds before any bound: the facts, from the entries. */
function extract(read: TranscriptRead, input: MemoryInput): Omit<Memory, "tokens" | "truncated"> {
  const entries = read.entries;
  const users = entries.filter((e): e is Extract<TranscriptEntry, { kind: "user" }> => e.kind === "user").map((e) => e.text);
  const created = new Map<string, number>();
  const edited = new Map<string, number>();
  const deleted = new Map<string, number>();
  const reads: string[] = [];
  const bump = (m: Map<string, number>, p: string) => m.set(p, (m.get(p) ?? 0) + 1);
  const results = new Map<string, Extract<TranscriptEntry, { kind: "tool-result" }>>();
  for (const e of entries) if (e.kind === "tool-result" && e.id) results.set(e.id, e);
  const commands: CommandRun[] = [];
  const errors: ErrorSeen[] = [];
  let plan: PlanItem[] | null = null;
  let lastAssistant: string | null = null;
  let toolCalls = 0;
  let compactions = 0;
  let lastActivity: number | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.ts !== null && (lastActivity === null || e.ts > lastActivity)) lastActivity = e.ts;
    switch (e.kind) {
      case "tool-call": {
        toolCalls++;
        for (const f of e.files) {
          if (e.action === "write") {
            if (!created.has(f) && !edited.has(f)) bump(created, f);
            else bump(edited, f);
          } else if (e.action === "edit") bump(edited, f);
          else if (e.action === "delete") bump(deleted, f);
          else if (e.action === "read" || e.action === "shell") {
            const at = reads.indexOf(f);
            if (at >= 0) reads.splice(at, 1);
            reads.push(f);
          }
        }
        const r = e.id ? results.get(e.id) : undefined;
        if (e.action === "shell" && e.command) {
          const failed = r ? r.isError || (r.exitCode !== null && r.exitCode !== 0) : false;
          commands.push({ command: e.command, exitCode: r ? (r.exitCode ?? (r.isError ? 1 : 0)) : null, output: failed && r ? r.output : null });
        } else if (r?.isError)
          errors.push({ text: `${e.name}${e.files.length ? ` ${e.files.join(", ")}` : ""}: ${r.output}`, followedBy: next(entries, i + 1) });
        break;
      }
      case "plan":
        if (e.items.length) plan = e.items;
        break;
      case "error":
        errors.push({ text: e.text, followedBy: next(entries, i + 1) });
        break;
      case "assistant":
        lastAssistant = e.text;
        break;
      case "compaction":
        compactions++;
        break;
      default:
        break;
    }
  }
  // A question is pending when the session's last word is the assistant's and it asks something.
  const last = [...entries].reverse().find((e) => e.kind === "user" || e.kind === "assistant");
  const pendingQuestion = last?.kind === "assistant" && /\?\s*$/.test(last.text.trim()) ? (last.text.trim().split("\n").filter(Boolean).pop() ?? null) : null;
  const byPath = (m: Map<string, number>) => [...m].map(([path, count]) => ({ path, count })).sort((a, b) => a.path.localeCompare(b.path));
  return {
    version: 1,
    kind: "extractive",
    platform: input.platform,
    sessionId: input.sessionId,
    title: input.title ?? null,
    model: read.model,
    cwd: read.cwd,
    tokensAtHandover: input.tokensAtHandover ?? read.contextTokens ?? null,
    contextWindow: input.contextWindow ?? null,
    handoverCount: input.handoverCount ?? 0,
    lastActivity,
    goal: users[0] ?? null,
    userMessages: users,
    userMessagesOmitted: 0,
    files: { created: byPath(created), edited: byPath(edited), deleted: byPath(deleted), read: reads.reverse() },
    commands,
    plan,
    errors,
    lastAssistant,
    pendingQuestion,
    compactions,
    summary: null,
    stats: { entries: entries.length, userMessages: users.length, toolCalls, parseErrors: read.parseErrors },
  };
}

/** The next assistant text or tool call after an error, in one line. */
function next(entries: TranscriptEntry[], from: number): string | null {
  for (let i = from; i < entries.length && i < from + 20; i++) {
    const e = entries[i]!;
    if (e.kind === "assistant") return oneLine(e.text);
    if (e.kind === "tool-call") return oneLine(`${e.name}${e.command ? `: ${e.command}` : e.files.length ? ` ${e.files.join(", ")}` : ""}`);
    if (e.kind === "user") return oneLine(`(user) ${e.text}`);
  }
  return null;
}

/** The last `n` items (none for 0: `slice(-0)` would give all). */
const lastN = <T>(list: T[], n: number): T[] => (n <= 0 ? [] : list.slice(-n));

/** The facts cut to limits; the goal is always kept (cut only when `text` is finite). */
function bounded(full: Omit<Memory, "tokens" | "truncated">, l: Limits): Omit<Memory, "tokens" | "truncated"> {
  const cut = (t: string) => (Number.isFinite(l.text) ? cutMiddle(t, l.text) : t);
  const rest = full.userMessages.slice(1);
  const keptRest = Number.isFinite(l.userMessages) ? rest.slice(Math.max(0, rest.length - l.userMessages)) : rest;
  const files = (list: FileCount[]) => lastN(list, l.filesPerKind);
  return {
    ...full,
    goal: full.goal === null ? null : cut(full.goal),
    userMessages: full.goal === null ? [] : [cut(full.goal), ...keptRest.map(cut)],
    userMessagesOmitted: rest.length - keptRest.length,
    files: {
      created: files(full.files.created),
      edited: files(full.files.edited),
      deleted: files(full.files.deleted),
      read: full.files.read.slice(0, l.reads),
    },
    commands: lastN(full.commands, l.commands).map((c) => ({
      ...c,
      command: oneLine(c.command, 300),
      output: c.output === null ? null : lastLines(c.output, l.outputLines, l.output),
    })),
    plan: full.plan === null ? null : full.plan.slice(0, l.plan).map((p) => ({ ...p, text: oneLine(p.text, 300) })),
    errors: lastN(full.errors, l.errors).map((e) => ({ text: lastLines(e.text, l.outputLines, l.output), followedBy: e.followedBy })),
    lastAssistant: full.lastAssistant === null ? null : cut(full.lastAssistant),
    summary: full.summary === null ? null : cut(full.summary),
  };
}

/** Tighter and tighter limits, tried in order until the rendering fits. */
function tighter(): Limits[] {
  const steps: Partial<Limits>[] = [
    {},
    { output: 600, outputLines: 10 },
    { commands: 8, reads: 8, errors: 5, output: 300, outputLines: 6, filesPerKind: 30 },
    { text: 8000 },
    { text: 4000 },
    { text: 2000 },
    ...[64, 32, 16, 8, 4, 2, 1].map((userMessages) => ({ userMessages })),
    { userMessages: 0, commands: 5, reads: 5, errors: 3, output: 200, outputLines: 4, filesPerKind: 15, plan: 20 },
    ...[1000, 500, 250, 120, 60].map((text) => ({ text })),
    { commands: 2, reads: 2, errors: 1, output: 80, outputLines: 2, filesPerKind: 5, plan: 5 },
    { commands: 0, reads: 0, errors: 0, filesPerKind: 1, plan: 1, text: 30 },
  ];
  const out: Limits[] = [];
  let l = generous;
  for (const s of steps) {
    l = { ...l, ...s };
    out.push(l);
  }
  return out;
}

/** Builds the memory of a transcript read, within `input.memoryTokens`. */
export function buildMemory(read: TranscriptRead, input: MemoryInput): Memory {
  const full = extract(read, input);
  const normal = JSON.stringify(bounded(full, generous));
  let m: Memory | null = null;
  for (const l of tighter()) {
    const b = bounded(full, l);
    m = { ...b, tokens: 0, truncated: JSON.stringify(b) !== normal };
    m.tokens = estimateTokens(renderMemory(m));
    if (m.tokens <= input.memoryTokens) break;
  }
  return m!;
}

const fence = (text: string) => {
  const ticks = text.includes("```") ? "````" : "```";
  return `${ticks}\n${text}\n${ticks}`;
};

const quote = (text: string) =>
  text
    .split("\n")
    .map((l) => `> ${l}`)
    .join("\n");

/** The memory as Markdown, for the first prompt of the next session and for people. */
export function renderMemory(m: Memory): string {
  const out: string[] = [];
  const tokens = m.tokensAtHandover === null ? "unknown" : m.contextWindow ? `${m.tokensAtHandover} of ${m.contextWindow}` : String(m.tokensAtHandover);
  out.push(`# Session memory (${m.kind}${m.truncated ? ", cut to fit" : ""})`);
  out.push("");
  out.push(`- Agent: ${m.platform}, session ${m.sessionId}${m.model ? `, model ${m.model}` : ""}`);
  if (m.cwd) out.push(`- Working directory: ${m.cwd}`);
  out.push(`- Context at handover: ${tokens} tokens; handover #${m.handoverCount}${m.compactions ? `; the agent compacted ${m.compactions}×` : ""}`);
  if (m.lastActivity !== null) out.push(`- Last activity: ${new Date(m.lastActivity).toISOString()}`);
  if (m.title) out.push(`- Task: ${m.title}`);
  out.push("", "## Goal (first user message)", "", m.goal === null ? "(none)" : quote(m.goal));
  const rest = m.userMessages.slice(1);
  out.push("", `## User messages (${m.stats.userMessages}${m.userMessagesOmitted ? `, ${m.userMessagesOmitted} oldest after the goal left out` : ""})`);
  if (rest.length === 0) out.push("", "(only the goal)");
  rest.forEach((t, i) => {
    out.push("", `${m.userMessagesOmitted + i + 2}.`, quote(t));
  });
  const f = m.files;
  out.push("", "## Files", "");
  const list = (label: string, l: FileCount[]) => {
    if (l.length) out.push(`- ${label}: ${l.map((x) => `${x.path}${x.count > 1 ? ` (${x.count}×)` : ""}`).join(", ")}`);
  };
  list("Created", f.created);
  list("Edited", f.edited);
  list("Deleted", f.deleted);
  if (f.read.length) out.push(`- Read (latest first): ${f.read.join(", ")}`);
  if (!f.created.length && !f.edited.length && !f.deleted.length && !f.read.length) out.push("(none)");
  out.push("", "## Commands (latest last)", "");
  if (!m.commands.length) out.push("(none)");
  for (const c of m.commands) {
    out.push(`- \`${c.command.replace(/`/g, "'")}\` → ${c.exitCode === null ? "no result" : `exit ${c.exitCode}`}`);
    if (c.output) out.push(fence(c.output));
  }
  if (m.plan) {
    out.push("", "## Plan / todos", "");
    for (const p of m.plan) out.push(`- [${p.status === "completed" ? "x" : p.status === "in_progress" ? "~" : " "}] ${p.text}`);
  }
  if (m.errors.length) {
    out.push("", "## Errors and what followed", "");
    for (const e of m.errors) {
      out.push(`- ${oneLine(e.text, 400)}`);
      if (e.followedBy) out.push(`  - then: ${e.followedBy}`);
    }
  }
  if (m.summary) out.push("", "## Summary (summarizer)", "", m.summary);
  out.push("", "## Where it stopped (last assistant message)", "", m.lastAssistant === null ? "(none)" : quote(m.lastAssistant));
  if (m.pendingQuestion) out.push("", `Pending question: ${m.pendingQuestion}`);
  return `${out.join("\n")}\n`;
}

/** The memory as the JSON document written to `handover.memoryDir` (stable key order, 2-space indent). */
export const memoryJson = (m: Memory) => `${JSON.stringify(m, null, 2)}\n`;
