/**
 * The neutral, full-text view of a session's transcript that every agent's messages reader yields: what a
 * person said, what the agent answered, which tools it called on which files and commands, how they ended,
 * its plan, its errors. The fast folds (transcript.ts, rollout.ts, ...) skip all of this text on the scan's hot
 * path; these readers are for the rare whole read (a handover memory, `/memory`).
 */

/** What a tool call did, as far as its name and input tell. */
export type ToolAction = "read" | "write" | "edit" | "delete" | "shell" | "plan" | "other";

export interface PlanItem {
  text: string;
  /** pending | in_progress | completed, as the agent wrote it. */
  status: string;
}

export type TranscriptEntry =
  | { kind: "user"; text: string; ts: number | null }
  | { kind: "assistant"; text: string; ts: number | null }
  | {
      kind: "tool-call";
      id: string | null;
      name: string;
      action: ToolAction;
      /** Files the call names (read, written, edited or deleted, by `action`). */
      files: string[];
      /** The shell command, for `shell`. */
      command: string | null;
      ts: number | null;
    }
  | {
      kind: "tool-result";
      /** The call it answers (null when the format does not link them). */
      id: string | null;
      exitCode: number | null;
      isError: boolean;
      /** The output's tail, cut to `maxToolOutput` characters. */
      output: string;
      ts: number | null;
    }
  | { kind: "plan"; items: PlanItem[]; ts: number | null }
  | { kind: "error"; text: string; ts: number | null }
  | { kind: "compaction"; ts: number | null };

/** A whole transcript read: its entries in order plus what the session says about itself. */
export interface TranscriptRead {
  entries: TranscriptEntry[];
  model: string | null;
  cwd: string | null;
  /** The context size after the last turn, when the transcript says. */
  contextTokens: number | null;
  /** Lines or rows that could not be read (a half-written last line, invalid JSON). */
  parseErrors: number;
}

export const emptyRead = (): TranscriptRead => ({ entries: [], model: null, cwd: null, contextTokens: null, parseErrors: 0 });

/** Tool output kept per result: the tail (where errors and test summaries are). */
export const maxToolOutput = 4000;

/** The last `max` characters of a text, marked when cut. */
export function tail(text: string, max = maxToolOutput): string {
  if (text.length <= max) return text;
  return `[… ${text.length - max} chars cut]\n${text.slice(text.length - max)}`;
}

type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** Text of a content value: a string, or the text blocks of an array (`{type:"text",text}`, `{text}`). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const b of content) {
    if (typeof b === "string") parts.push(b);
    else if (
      isObject(b) &&
      typeof b.text === "string" &&
      (b.type === undefined || b.type === "text" || b.type === "input_text" || b.type === "output_text" || b.type === "Text")
    )
      parts.push(b.text);
  }
  return parts.join("\n");
}

/** Epoch ms of an ISO string or an epoch number (seconds or ms); null otherwise. */
export function tsOf(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v < 1e11 ? v * 1000 : v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** The exit code a shell tool printed ("Exit code: 1", "Process exited with code 1", "exit status 2"). */
export function exitCodeIn(output: string): number | null {
  const m = /(?:exit code|exited with code|exit status)[:\s]+(-?\d+)/i.exec(output.slice(0, 400));
  return m ? Number(m[1]) : null;
}

const readNames = new Set(["read", "read_file", "readfile", "view", "read_many_files", "notebookread", "cat"]);
const writeNames = new Set(["write", "write_file", "writefile", "create", "create_file"]);
const editNames = new Set([
  "edit",
  "multiedit",
  "replace",
  "str_replace",
  "str_replace_editor",
  "edit_file",
  "notebookedit",
  "patch",
  "apply_patch",
  "applypatch",
]);
const deleteNames = new Set(["delete", "delete_file", "remove", "rm"]);
const shellNames = new Set(["bash", "shell", "exec", "exec_command", "shell_command", "run_shell_command", "local_shell", "container.exec", "process", "run"]);
const planNames = new Set(["todowrite", "todo_write", "update_plan", "write_todos", "todo"]);
const fileKeys = ["file_path", "filePath", "path", "absolute_path", "notebook_path", "file", "filename"] as const;

/** A command given as a string or an argv array (`["bash","-lc","cat x"]` → "cat x"). */
export function commandOf(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
    const a = v as string[];
    if (a.length >= 3 && /(^|\/)(ba|z|)sh$/.test(a[0]!) && /^-l?c$/.test(a[1]!)) return a.slice(2).join(" ");
    return a.join(" ");
  }
  return null;
}

/** Files an apply_patch body touches, by what it does to each. */
export function patchFiles(patch: string): { add: string[]; update: string[]; delete: string[] } {
  const out = { add: [] as string[], update: [] as string[], delete: [] as string[] };
  for (const m of patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)) {
    const path = m[2]!.trim();
    if (m[1] === "Add") out.add.push(path);
    else if (m[1] === "Update") out.update.push(path);
    else out.delete.push(path);
  }
  for (const m of patch.matchAll(/^\*\*\* Move to: (.+)$/gm)) out.add.push(m[1]!.trim());
  return out;
}

/** Files a plain read command names (`cat a b`, `head -n 5 x`, `sed -n 1,9p x`); empty for anything else. */
export function shellReads(command: string): string[] {
  if (/[|;&<>`$]/.test(command)) return [];
  const words = command.trim().split(/\s+/);
  const prog = words[0];
  if (!prog || !/^(cat|head|tail|less|more|nl|sed|bat)$/.test(prog)) return [];
  const args = words.slice(1);
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("-")) {
      if (/^-[nc]$/.test(a)) i++; // head -n 5
      continue;
    }
    if (prog === "sed" && files.length === 0 && /^[\d,]+p$|^\/.*\/p?$/.test(a)) continue; // the sed script
    files.push(a.replace(/^['"]|['"]$/g, ""));
  }
  return files;
}

/** Plan items from a TodoWrite / update_plan / write_todos input. */
export function planItems(input: Json): PlanItem[] {
  const list = Array.isArray(input.todos) ? input.todos : Array.isArray(input.plan) ? input.plan : Array.isArray(input.items) ? input.items : [];
  const items: PlanItem[] = [];
  for (const t of list) {
    if (!isObject(t)) continue;
    const text = str(t.content) ?? str(t.step) ?? str(t.description) ?? str(t.text) ?? str(t.title);
    if (text) items.push({ text, status: str(t.status) ?? "pending" });
  }
  return items;
}

/**
 * One tool call as a neutral entry, from its name and parsed input: which files (Read/Write/Edit/apply_patch
 * and their kin in every agent), which command (Bash, exec_command, shell, run_shell_command), which plan.
 * A plan tool also yields the plan entry (second element).
 */
export function toolCallEntries(id: string | null, rawName: string, input: unknown, ts: number | null): TranscriptEntry[] {
  const name = rawName.toLowerCase();
  const args: Json = isObject(input) ? input : typeof input === "string" ? { input } : {};
  const file = fileKeys.map((k) => str(args[k])).find((v) => v !== null) ?? null;
  const call = (action: ToolAction, files: string[], command: string | null = null): TranscriptEntry => ({
    kind: "tool-call",
    id,
    name: rawName,
    action,
    files,
    command,
    ts,
  });
  const patchText = str(args.patch) ?? str(args.input) ?? (name.includes("patch") ? str(args.command) : null);
  if (name.includes("patch") && patchText) {
    const p = patchFiles(patchText);
    const out: TranscriptEntry[] = [];
    if (p.add.length) out.push(call("write", p.add));
    if (p.update.length) out.push(call("edit", p.update));
    if (p.delete.length) out.push(call("delete", p.delete));
    return out.length ? out : [call("edit", [])];
  }
  if (readNames.has(name)) {
    const many = Array.isArray(args.paths) ? args.paths.filter((x): x is string => typeof x === "string") : [];
    return [call("read", file ? [file] : many)];
  }
  if (writeNames.has(name)) return [call("write", file ? [file] : [])];
  if (editNames.has(name)) return [call("edit", file ? [file] : [])];
  if (deleteNames.has(name)) return [call("delete", file ? [file] : [])];
  if (shellNames.has(name)) {
    const command = commandOf(args.command) ?? commandOf(args.cmd) ?? str(args.script) ?? null;
    return [call("shell", command ? shellReads(command) : [], command)];
  }
  if (planNames.has(name)) return [call("plan", []), { kind: "plan", items: planItems(args), ts }];
  return [call("other", file ? [file] : [])];
}
