import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type WalkProblem, walkFiles } from "../../src/lib/walk.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("walkFiles", () => {
  it("skips and reports a symlink loop, lists the rest, and passes over a dangling link quietly", () => {
    const root = tempDir();
    mkdirSync(join(root, "2026/11"), { recursive: true });
    writeFileSync(join(root, "2026/11/rollout-1.jsonl"), "{}\n");
    writeFileSync(join(root, "rollout-2.jsonl"), "{}\n");
    symlinkSync(join(root, "rollout-b.jsonl"), join(root, "rollout-a.jsonl"));
    symlinkSync(join(root, "rollout-a.jsonl"), join(root, "rollout-b.jsonl"));
    symlinkSync(join(root, "nowhere.jsonl"), join(root, "rollout-dangling.jsonl"));
    const problems: WalkProblem[] = [];
    const files = walkFiles(root, { accept: (n) => n.endsWith(".jsonl"), problems });
    expect(files.sort()).toEqual([join(root, "2026/11/rollout-1.jsonl"), join(root, "rollout-2.jsonl")]);
    expect(problems.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: join(root, "rollout-a.jsonl"), reason: "ELOOP" },
      { path: join(root, "rollout-b.jsonl"), reason: "ELOOP" },
    ]);
  });
});
