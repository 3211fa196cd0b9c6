import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCodexMessages } from "../../../src/agents/codex/messages-reader.ts";

const fx = join(import.meta.dirname, "../../fixtures");

describe("readCodexMessages (real Codex rollouts)", () => {
  it("new layout: injected context is not a user message; exec_command with its exit code", () => {
    const r = readCodexMessages(join(fx, "real/codex/.codex/sessions/2026/11/23/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl"));
    expect(r.entries.filter((e) => e.kind === "user")).toHaveLength(4);
    expect(r.entries.find((e) => e.kind === "tool-call")).toMatchObject({
      name: "exec_command",
      action: "shell",
      command: "cat README.md",
      files: ["README.md"],
    });
    expect(r.entries.find((e) => e.kind === "tool-result")).toMatchObject({ exitCode: 0, isError: false });
    expect(r.entries.some((e) => e.kind === "compaction")).toBe(true);
    expect(r).toMatchObject({ model: "gpt-5.5", cwd: "/tmp/asmfx/codex/home/work/demo-app", parseErrors: 0 });
  });

  it("0.77 layout: shell_command and 'Exit code: 0'", () => {
    const r = readCodexMessages(
      join(fx, "real-old/codex-0.77.0/.codex/sessions/2026/11/23/rollout-2026-11-23T22-06-15-01a20a72-098c-7241-937e-83bec516c7bc.jsonl"),
    );
    expect(r.entries.find((e) => e.kind === "tool-call")).toMatchObject({ name: "shell_command", command: "cat README.md" });
    expect(r.entries.find((e) => e.kind === "tool-result")).toMatchObject({ exitCode: 0 });
    expect(r.model).toBe("gpt-5.1-codex");
  });

  it("reads a .jsonl.zst rollout like the plain one", () => {
    const zst = readCodexMessages(join(fx, "../handover/fixtures/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl.zst"));
    const plain = readCodexMessages(join(fx, "real/codex/.codex/sessions/2026/11/23/rollout-2026-11-23T19-52-10-01a209f7-4642-7fd2-9938-e1c95f5d15ec.jsonl"));
    expect(zst).toEqual(plain);
  });
});
