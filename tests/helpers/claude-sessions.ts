import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const claudeFixtures = fileURLToPath(new URL("../fixtures/real/claude/.claude/projects/", import.meta.url));

/** The first lines of a real Claude Code 2.1 transcript (queue operations, the first user turn). */
function transcriptHead(lines: number): string[] {
  const project = readdirSync(claudeFixtures).find((d) => d.startsWith("-"))!;
  const file = readdirSync(join(claudeFixtures, project)).find((f) => f.endsWith(".jsonl"))!;
  return readFileSync(join(claudeFixtures, project, file), "utf8")
    .split("\n")
    .slice(0, lines);
}

/**
 * Writes `count` Claude Code sessions under `<home>/.claude/projects/<project>/`, each the head of
 * a real transcript re-keyed to a fresh session id and stamped `at` (so "active recently" holds
 * whatever day the tests run). Returns the session ids.
 */
export function writeClaudeSessions(home: string, count: number, at = new Date(), project = "-work-demo"): string[] {
  const lines = transcriptHead(5);
  const original = /"sessionId":"([0-9a-f-]{36})"/.exec(lines.join("\n"))![1]!;
  const dir = join(home, ".claude", "projects", project);
  mkdirSync(dir, { recursive: true });
  const stamp = at.toISOString();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    ids.push(id);
    const body = lines.map((l) =>
      l
        .split(original)
        .join(id)
        .replace(/"timestamp":"[^"]+"/g, `"timestamp":"${stamp}"`),
    );
    writeFileSync(join(dir, `${id}.jsonl`), `${body.join("\n")}\n`);
  }
  return ids;
}
