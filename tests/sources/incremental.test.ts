import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { rng } from "../../bench/corpus.ts";
import type { SessionRecord } from "../../src/agents/session.ts";
import { createSources } from "../../src/sources/index.ts";
import { type SourceHarness, sourceHarness } from "../helpers/source-harness.ts";

/**
 * Incremental reading must end where one cold read ends. Each tree the real CLIs wrote is grown file by
 * file in random byte steps (cutting lines and UTF-8 characters in half), with a scan cycle after every
 * step; the sessions and turns at the end must equal a cold scan of the finished tree, with no parse
 * error from a half-written line. Seeded, so a failure reproduces.
 */

const fixtures = join(import.meta.dirname, "../fixtures");
const trees: { name: string; home: string }[] = [
  { name: "Claude Code 2.1.330", home: join(fixtures, "real/claude") },
  { name: "Claude Code 2.0.76", home: join(fixtures, "real-old/claude-2.0.76") },
  { name: "Codex 0.169.0", home: join(fixtures, "real/codex") },
  { name: "Codex 0.77.0", home: join(fixtures, "real-old/codex-0.77.0") },
  { name: "Gemini CLI 0.61.0", home: join(fixtures, "real/gemini") },
  { name: "OpenClaw 2026.7.1 (JSON era)", home: join(fixtures, "real-old/openclaw-2026.7.1") },
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

const now = Date.parse("2026-11-24T00:00:00Z");
const dirs: string[] = [];
const harnesses: SourceHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function harness(home: string): SourceHarness {
  const dir = mkdtempSync(join(tmpdir(), "asm-incr-"));
  dirs.push(dir);
  const h = sourceHarness(dir, {
    sources: {
      openclaw: { root: join(home, ".openclaw"), legacyRoots: [] },
      claude: { root: join(home, ".claude/projects"), extraRoots: [] },
      codex: { root: join(home, ".codex") },
      opencode: { root: join(home, ".local/share/opencode") },
      gemini: { root: join(home, ".gemini") },
    },
  });
  harnesses.push(h);
  return h;
}

async function scanAll(h: SourceHarness): Promise<number> {
  let parseErrors = 0;
  for (const source of createSources(h.config)) parseErrors += (await source.scan(h.ctx(now))).parseErrors;
  return parseErrors;
}

/** What a scan leaves behind, without the fields that say when it ran. */
function snapshot(h: SourceHarness, home: string) {
  const sessions = h.sessions
    .list({ includeGone: true, sort: "activity" })
    .map((s: SessionRecord) => ({ ...s, scannedAt: 0, path: s.path && relative(home, s.path) }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
  const turns = h.db
    .prepare("SELECT session_uid, ts, model, input, output, cache_read, cache_write, context_tokens FROM turns ORDER BY session_uid, ts, rowid")
    .all();
  return { sessions, turns };
}

describe("incremental scans end where a cold scan ends", () => {
  for (const tree of trees) {
    it(`${tree.name}: files grown in random cuts, scanned after each`, async () => {
      const coldHome = mkdtempSync(join(tmpdir(), "asm-incr-home-"));
      dirs.push(coldHome);
      cpSync(tree.home, coldHome, { recursive: true });
      const cold = harness(coldHome);
      expect(await scanAll(cold)).toBe(0);
      const expected = snapshot(cold, coldHome);
      expect(expected.sessions.length).toBeGreaterThan(0);

      for (const seed of [1, 2, 3]) {
        const random = rng(seed);
        const home = mkdtempSync(join(tmpdir(), "asm-incr-home-"));
        dirs.push(home);
        const h = harness(home);
        // Whole documents (sessions.json, zstd files, JSON chats) arrive at once; JSONL grows in pieces.
        const growing: { path: string; bytes: Buffer; written: number }[] = [];
        for (const src of filesUnder(tree.home)) {
          const dest = join(home, relative(tree.home, src));
          mkdirSync(dirname(dest), { recursive: true });
          if (src.endsWith(".jsonl") && statSync(src).size > 0) {
            writeFileSync(dest, "");
            growing.push({ path: dest, bytes: readFileSync(src), written: 0 });
          } else cpSync(src, dest);
        }
        let parseErrors = await scanAll(h);
        let midLineCuts = 0;
        while (growing.some((g) => g.written < g.bytes.length)) {
          for (const g of growing) {
            if (g.written >= g.bytes.length) continue;
            // Mostly small steps (a few hundred bytes, often mid-line or mid-character), sometimes a big one.
            const step = random() < 0.2 ? Math.ceil(random() * 20_000) : Math.ceil(random() * 700);
            const next = Math.min(g.bytes.length, g.written + step);
            writeFileSync(g.path, g.bytes.subarray(g.written, next), { flag: "a" });
            g.written = next;
            if (next < g.bytes.length && g.bytes[next - 1] !== 0x0a) midLineCuts++;
          }
          parseErrors += await scanAll(h);
        }
        parseErrors += await scanAll(h);
        expect(midLineCuts, "the cuts did fall inside lines").toBeGreaterThan(growing.length);
        expect(parseErrors, `seed ${seed}: a half-written line counted as an error`).toBe(0);
        const got = snapshot(h, home);
        expect(got.sessions, `seed ${seed}`).toEqual(expected.sessions);
        expect(got.turns, `seed ${seed}`).toEqual(expected.turns);
      }
    });
  }
});
