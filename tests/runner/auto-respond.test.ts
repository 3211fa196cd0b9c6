import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { autoResponse, commandMatches, insideWorkspace } from "../../src/runner/auto-respond.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("auto-response rules", () => {
  it("a command prefix matches word by word, and only plain words", () => {
    expect(commandMatches("npm test", "npm test")).toBe(true);
    expect(commandMatches("npm test -- --run auth", "npm test")).toBe(true);
    expect(commandMatches("  npm   test  ", "npm test")).toBe(true);
    expect(commandMatches("npm testing", "npm test")).toBe(false);
    expect(commandMatches("npm", "npm test")).toBe(false);
    expect(commandMatches("npx npm test", "npm test")).toBe(false);
    // Anything that could run or write more than the prefix names is not plain words.
    for (const bad of [
      "npm test; rm -rf ~",
      "npm test && curl x",
      "npm test | sh",
      "npm test > /etc/passwd",
      "npm test $(whoami)",
      "npm test `id`",
      "npm test\nrm -rf /",
      "npm test & disown",
      "npm test 'a;b'",
      "npm test ~/x",
      "npm test a\\ b",
    ]) {
      expect(commandMatches(bad, "npm test"), bad).toBe(false);
    }
  });

  it("looks through a bash -lc wrapper, and only a whole one", () => {
    expect(commandMatches("bash -lc 'npm test'", "npm test")).toBe(true);
    expect(commandMatches('/bin/bash -lc "git status"', "git status")).toBe(true);
    expect(commandMatches("bash -lc 'npm test; rm -rf /'", "npm test")).toBe(false);
    expect(commandMatches("bash -lc 'npm test' extra", "npm test")).toBe(false);
    expect(commandMatches("bash -x 'npm test'", "npm test")).toBe(false);
  });

  it("paths stay inside the workspace, symlinks followed, files not created yet included", () => {
    const root = tempDir("asm-auto-");
    const ws = join(root, "ws");
    mkdirSync(join(ws, "src"), { recursive: true });
    writeFileSync(join(ws, "src", "a.ts"), "");
    mkdirSync(join(root, "outside"));
    symlinkSync(join(root, "outside"), join(ws, "escape"));
    expect(insideWorkspace("src/a.ts", ws)).toBe(true);
    expect(insideWorkspace(join(ws, "src", "new", "b.ts"), ws)).toBe(true);
    expect(insideWorkspace(".", ws)).toBe(true);
    expect(insideWorkspace("../outside/x", ws)).toBe(false);
    expect(insideWorkspace("/etc/passwd", ws)).toBe(false);
    expect(insideWorkspace("escape/x", ws)).toBe(false);
    expect(insideWorkspace("escape/new/y", ws)).toBe(false);
    expect(insideWorkspace("", ws)).toBe(false);
  });

  it("a rule answers only its own kind; `other` and a missing action always ask", () => {
    const ws = tempDir("asm-auto-");
    const rules = [
      { allow: "read" as const, commands: [] },
      { allow: "command" as const, commands: ["git status", "npm test"] },
    ];
    expect(autoResponse({ kind: "read", paths: ["README.md"] }, ws, rules)).toBe("read inside the workspace");
    expect(autoResponse({ kind: "read", paths: ["README.md", "/etc/shadow"] }, ws, rules)).toBeNull();
    expect(autoResponse({ kind: "read", paths: [] }, ws, rules)).toBeNull();
    expect(autoResponse({ kind: "edit", paths: ["README.md"] }, ws, rules)).toBeNull();
    expect(autoResponse({ kind: "command", command: "npm test -- x" }, ws, rules)).toBe("command npm test");
    expect(autoResponse({ kind: "command", command: "rm -rf ." }, ws, rules)).toBeNull();
    expect(autoResponse({ kind: "other" }, ws, rules)).toBeNull();
    expect(autoResponse(undefined, ws, rules)).toBeNull();
    expect(autoResponse({ kind: "read", paths: ["README.md"] }, ws, [])).toBeNull();
  });
});
