import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A synthetic corpus in the real on-disk formats of Claude Code 2.1.330 and Codex 0.169.0 (line shapes copied
 * from tests/fixtures/real), for the scan benchmark: many transcripts with realistic line sizes (prompts of a
 * few hundred bytes, assistant blocks ~1.3 KB, tool results 2–30 KB, attachments, request records, Codex's
 * 22 KB session_meta), non-ASCII text everywhere, and a few 1 MB lines. Deterministic (seeded), generated
 * once per parameter set and reused.
 */

export interface CorpusSpec {
  dir: string;
  files: number;
  totalBytes: number;
  /** How many files carry one 1 MB line. */
  hugeLines: number;
}

export interface Corpus {
  claudeRoot: string;
  codexRoot: string;
  files: string[];
  bytes: number;
}

/** mulberry32: a tiny seeded PRNG, so two runs build the same corpus (and tests cut files at the same places). */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PARAGRAPH =
  "The build failed because the type of `port` changed — ça arrive. 日本語のログも混ざっています。 Данные загружены, " +
  'función terminada, naïve café 🙂. const result = await fetch(url); if (!result.ok) throw new Error("status " + result.status);\n' +
  '\tat Object.<anonymous> (/home/dev/app/src/index.ts:42:13) "quoted" \\ backslash; ';
const TEXT = PARAGRAPH.repeat(64);

function text(r: () => number, chars: number): string {
  let out = "";
  while (out.length < chars) {
    const start = Math.floor(r() * (TEXT.length - 200));
    out += TEXT.slice(start, start + Math.min(chars - out.length, TEXT.length - start));
  }
  return out;
}

const uuid = (r: () => number) => {
  const h = () =>
    Math.floor(r() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
};

const iso = (ms: number) => new Date(ms).toISOString();

/** One Claude Code turn (prompt, attachment, thinking + tool_use blocks, tool result, answer, request records). */
function claudeTurn(r: () => number, sid: string, t: number, huge: boolean): string[] {
  const base = { userType: "external", entrypoint: "cli", cwd: "/home/dev/café-app", sessionId: sid, version: "2.1.330", gitBranch: "main" };
  const u1 = uuid(r);
  const a1 = uuid(r);
  const a2 = uuid(r);
  const u2 = uuid(r);
  const a3 = uuid(r);
  const msg1 = `msg_${uuid(r).replace(/-/g, "").slice(0, 24)}`;
  const msg2 = `msg_${uuid(r).replace(/-/g, "").slice(0, 24)}`;
  const usage = (i: number) => ({
    input_tokens: 4 + i,
    cache_creation_input_tokens: 800 + Math.floor(r() * 4000),
    cache_read_input_tokens: 20000 + Math.floor(r() * 100000),
    output_tokens: 30 + Math.floor(r() * 900),
    service_tier: "standard",
    cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 800 },
  });
  const u = usage(0);
  const lines: object[] = [
    { type: "queue-operation", operation: "enqueue", timestamp: iso(t), sessionId: sid, content: text(r, 80) },
    {
      parentUuid: null,
      isSidechain: false,
      promptId: uuid(r),
      type: "user",
      message: { role: "user", content: text(r, 200 + Math.floor(r() * 600)) },
      uuid: u1,
      timestamp: iso(t + 1),
      ...base,
    },
    {
      parentUuid: u1,
      isSidechain: false,
      attachment: { type: "hook_output", content: text(r, 500 + Math.floor(r() * 6000)) },
      type: "attachment",
      uuid: uuid(r),
      timestamp: iso(t + 2),
      ...base,
    },
    {
      type: "api-request",
      sessionId: sid,
      id: uuid(r),
      timestamp: iso(t + 3),
      version: "2.1.330",
      querySource: "repl_main_thread",
      params: { model: "claude-opus-4-6", max_tokens: 32000 },
      keep: text(r, 300),
      tail: text(r, 400),
    },
    {
      parentUuid: u1,
      isSidechain: false,
      message: {
        id: msg1,
        type: "message",
        role: "assistant",
        model: "claude-opus-4-6",
        content: [{ type: "thinking", thinking: text(r, 300 + Math.floor(r() * 800)), signature: "sig" }],
        stop_reason: null,
        stop_sequence: null,
        usage: u,
      },
      requestId: `req_${msg1.slice(4)}`,
      type: "assistant",
      uuid: a1,
      timestamp: iso(t + 4),
      ...base,
    },
    {
      parentUuid: a1,
      isSidechain: false,
      message: {
        id: msg1,
        type: "message",
        role: "assistant",
        model: "claude-opus-4-6",
        content: [{ type: "tool_use", id: `toolu_${msg1.slice(4)}`, name: "Bash", input: { command: "npm run build", description: text(r, 60) } }],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: u,
      },
      requestId: `req_${msg1.slice(4)}`,
      type: "assistant",
      uuid: a2,
      timestamp: iso(t + 5),
      ...base,
    },
    {
      parentUuid: a2,
      isSidechain: false,
      promptId: uuid(r),
      type: "user",
      message: {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: `toolu_${msg1.slice(4)}`, content: text(r, huge ? 1_000_000 : 2000 + Math.floor(r() * r() * 30000)) }],
      },
      uuid: u2,
      timestamp: iso(t + 9),
      toolUseResult: { stdout: text(r, 200), stderr: "", interrupted: false },
      ...base,
    },
    {
      parentUuid: u2,
      isSidechain: false,
      message: {
        id: msg2,
        type: "message",
        role: "assistant",
        model: "claude-opus-4-6",
        content: [{ type: "text", text: text(r, 200 + Math.floor(r() * 1500)) }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: usage(2),
      },
      requestId: `req_${msg2.slice(4)}`,
      type: "assistant",
      uuid: a3,
      timestamp: iso(t + 12),
      ...base,
    },
    { type: "last-prompt", lastPrompt: text(r, 60), leafUuid: a3, sessionId: sid },
    { type: "cost-state", sessionId: sid, totalCostUSD: r(), totalAPIDuration: 1234, modelUsage: { "claude-opus-4-6": { inputTokens: 10, outputTokens: 20 } } },
  ];
  return lines.map((l) => JSON.stringify(l));
}

/** One Codex turn (task_started, turn_context, items, token_count, task_complete). */
function codexTurn(r: () => number, t: number, total: { i: number; c: number; o: number }, huge: boolean): string[] {
  const turn = uuid(r);
  const last = { i: 20000 + Math.floor(r() * 80000), o: 50 + Math.floor(r() * 900) };
  const cached = Math.floor(last.i * 0.85);
  total.i += last.i;
  total.c += cached;
  total.o += last.o;
  const usage = (i: number, c: number, o: number) => ({
    input_tokens: i,
    cached_input_tokens: c,
    cache_write_input_tokens: 0,
    output_tokens: o,
    reasoning_output_tokens: 8,
    total_tokens: i + o,
  });
  let ord = 0;
  const L = (dt: number, type: string, payload: object) => ({ timestamp: iso(t + dt), ordinal: ord++, type, payload });
  const lines = [
    L(0, "event_msg", {
      type: "task_started",
      turn_id: turn,
      root_turn_id: turn,
      started_at: Math.floor(t / 1000),
      model_context_window: 258400,
      collaboration_mode_kind: "default",
    }),
    L(1, "turn_context", {
      turn_id: turn,
      cwd: "/home/dev/naïve-app",
      approval_policy: "never",
      permission_profile: { type: "managed", network: "restricted" },
      model: "gpt-5.5",
      summary: "auto",
      collaboration_mode: { mode: "default", settings: { model: "gpt-5.5" } },
    }),
    L(2, "response_item", { type: "message", id: `msg_${turn}`, role: "user", content: [{ type: "input_text", text: text(r, 100 + Math.floor(r() * 700)) }] }),
    L(3, "event_msg", {
      type: "item_completed",
      thread_id: turn,
      turn_id: turn,
      item: { type: "UserMessage", id: uuid(r), content: [{ type: "text", text: text(r, 100) }] },
    }),
    L(4, "response_item", {
      type: "reasoning",
      id: `rs_${turn}`,
      summary: [{ type: "summary_text", text: text(r, 120) }],
      content: null,
      encrypted_content: text(r, 300),
    }),
    L(5, "response_item", {
      type: "function_call",
      status: "completed",
      id: `fc_${turn}`,
      name: "exec_command",
      arguments: JSON.stringify({ cmd: "rg -n port src" }),
      call_id: `call_${turn}`,
    }),
    L(6, "response_item", {
      type: "function_call_output",
      id: `fco_${turn}`,
      call_id: `call_${turn}`,
      output: text(r, huge ? 1_000_000 : 1500 + Math.floor(r() * r() * 30000)),
    }),
    L(7, "token_usage_record", { thread_id: turn, turn_id: turn, usage: usage(last.i, cached, last.o) }),
    L(8, "event_msg", {
      type: "token_count",
      info: { total_token_usage: usage(total.i, total.c, total.o), last_token_usage: usage(last.i, cached, last.o), model_context_window: 258400 },
      rate_limits: { limit_id: "codex", primary: { used_percent: 12.5, window_minutes: 300, resets_at: 1795470000 }, secondary: null },
    }),
    L(9, "response_item", {
      type: "message",
      status: "completed",
      id: `msg2_${turn}`,
      role: "assistant",
      content: [{ type: "output_text", text: text(r, 200 + Math.floor(r() * 1200)) }],
    }),
    L(10, "event_msg", {
      type: "item_completed",
      thread_id: turn,
      turn_id: turn,
      item: { type: "AgentMessage", id: uuid(r), content: [{ type: "Text", text: text(r, 150) }] },
    }),
    L(11, "event_msg", { type: "task_complete", turn_id: turn, last_agent_message: text(r, 100), duration_ms: 1200 }),
  ];
  return lines.map((l) => JSON.stringify(l));
}

const codexMeta = (r: () => number, id: string, t: number) =>
  JSON.stringify({
    timestamp: iso(t),
    ordinal: 0,
    type: "session_meta",
    payload: {
      session_id: id,
      id,
      timestamp: iso(t),
      cwd: "/home/dev/naïve-app",
      originator: "codex_cli_rs",
      cli_version: "0.169.0",
      source: "cli",
      model_provider: "openai",
      base_instructions: { text: text(r, 22000) },
    },
  });

/** Lines appended to a transcript by one more turn (for the append cycle). */
export function appendTurn(path: string, seed: number): string {
  const r = rng(seed);
  const t = Date.parse("2026-11-22T12:00:00Z") + seed * 1000;
  if (path.includes(".claude")) return `${claudeTurn(r, "append", t, false).slice(1, 3).join("\n")}\n`;
  return `${codexTurn(r, t, { i: 1e6, c: 9e5, o: 1e4 }, false).slice(8, 9).join("\n")}\n`;
}

function writeTranscript(path: string, target: number, r: () => number, kind: "claude" | "codex", huge: boolean, id: string): number {
  const fd = openSync(path, "w");
  let size = 0;
  let t = Date.parse("2026-11-01T08:00:00Z") + Math.floor(r() * 20 * 86400_000);
  const total = { i: 0, c: 0, o: 0 };
  let hugeLeft = huge;
  try {
    if (kind === "codex") {
      const m = `${codexMeta(r, id, t)}\n`;
      size += writeSync(fd, m);
    }
    while (size < target) {
      const lines = kind === "claude" ? claudeTurn(r, id, t, hugeLeft) : codexTurn(r, t, total, hugeLeft);
      hugeLeft = false;
      const chunk = `${lines.join("\n")}\n`;
      size += writeSync(fd, chunk);
      t += 60_000;
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/** Builds the corpus under `spec.dir` unless an identical one is there already; returns its files. */
export function ensureCorpus(spec: CorpusSpec, log: (s: string) => void = () => {}): Corpus {
  const claudeRoot = join(spec.dir, ".claude/projects");
  const codexRoot = join(spec.dir, ".codex");
  const marker = join(spec.dir, "corpus.json");
  const key = JSON.stringify({ v: 2, files: spec.files, totalBytes: spec.totalBytes, hugeLines: spec.hugeLines });
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, "utf8"));
    if (saved.key === key) return { claudeRoot, codexRoot, files: saved.files, bytes: saved.bytes };
  }
  rmSync(spec.dir, { recursive: true, force: true });
  const r = rng(42);
  const files: string[] = [];
  let bytes = 0;
  const started = Date.now();
  const mean = spec.totalBytes / spec.files;
  const hugeEvery = spec.hugeLines > 0 ? Math.floor(spec.files / spec.hugeLines) : Number.POSITIVE_INFINITY;
  for (let i = 0; i < spec.files; i++) {
    // Skewed sizes: most transcripts small, a few large (mean stays `mean`).
    const target = Math.max(4000, Math.floor(mean * (0.15 + 1.7 * r() * r() * 2)));
    const huge = i % hugeEvery === hugeEvery - 1;
    const id = uuid(r);
    let path: string;
    let kind: "claude" | "codex";
    if (i % 10 < 7) {
      kind = "claude";
      const project = join(claudeRoot, `-home-dev-project-${i % 97}`);
      mkdirSync(project, { recursive: true });
      path = join(project, `${id}.jsonl`);
    } else {
      kind = "codex";
      const day = join(codexRoot, `sessions/2026/11/${String(1 + (i % 28)).padStart(2, "0")}`);
      mkdirSync(day, { recursive: true });
      path = join(day, `rollout-2026-11-${String(1 + (i % 28)).padStart(2, "0")}T08-00-00-${id}.jsonl`);
    }
    bytes += writeTranscript(path, target, r, kind, huge, id);
    files.push(path);
    if (i % 1000 === 999) log(`  generated ${i + 1}/${spec.files} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  writeFileSync(marker, JSON.stringify({ key, files, bytes }));
  return { claudeRoot, codexRoot, files, bytes };
}

/** One Claude transcript of about `bytes`, with a 1 MB line every `hugeEvery` turns (for the RSS test). */
export function ensureBigTranscript(dir: string, bytes: number, log: (s: string) => void = () => {}): { root: string; path: string; bytes: number } {
  const root = join(dir, ".claude/projects");
  const project = join(root, "-home-dev-big");
  const path = join(project, "0b16b16b-0000-4000-a000-000000000001.jsonl");
  const marker = join(dir, "big.json");
  if (existsSync(marker) && JSON.parse(readFileSync(marker, "utf8")).bytes >= bytes)
    return { root, path, bytes: JSON.parse(readFileSync(marker, "utf8")).size };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  const r = rng(7);
  const fd = openSync(path, "w");
  let size = 0;
  let t = Date.parse("2026-11-01T08:00:00Z");
  let turn = 0;
  try {
    while (size < bytes) {
      size += writeSync(fd, `${claudeTurn(r, "0b16b16b-0000-4000-a000-000000000001", t, turn % 200 === 5).join("\n")}\n`);
      t += 30_000;
      turn++;
      if (turn % 5000 === 0) log(`  big transcript: ${(size / 2 ** 20).toFixed(0)} MiB`);
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(marker, JSON.stringify({ bytes, size }));
  return { root, path, bytes: size };
}

/** The flags every scan bench takes for its corpus (`parseArgs` options): --files, --size-mb, --huge, --dir. */
export const corpusFlags = {
  files: { type: "string", default: "10000" },
  "size-mb": { type: "string", default: "1024" },
  huge: { type: "string", default: "20" },
  dir: { type: "string", default: join(tmpdir(), "asm-bench") },
} as const;

/**
 * The corpus those flags name, generated once and reused, laid out as a HOME (`.claude/projects`, `.codex/sessions`)
 * under `<dir>/corpus-<files>-<size-mb>`; `base` is `<dir>`, made if missing.
 */
export function corpusOf(
  values: { files?: string | boolean; "size-mb"?: string | boolean; huge?: string | boolean; dir?: string | boolean },
  say: (s: string) => void,
): { corpus: Corpus; home: string; base: string; files: number; sizeMb: number } {
  const files = Number(values.files);
  const sizeMb = Number(values["size-mb"]);
  const base = String(values.dir);
  mkdirSync(base, { recursive: true });
  const home = join(base, `corpus-${files}-${sizeMb}`);
  const corpus = ensureCorpus({ dir: home, files, totalBytes: sizeMb * 2 ** 20, hugeLines: Number(values.huge) }, say);
  return { corpus, home, base, files, sizeMb };
}
