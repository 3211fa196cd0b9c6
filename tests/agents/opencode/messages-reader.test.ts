import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readOpencodeMessages } from "../../../src/agents/opencode/messages-reader.ts";

const fx = join(import.meta.dirname, "../../fixtures");
const kinds = (path: string, id: string) => readOpencodeMessages(join(fx, path), id).entries.map((e) => e.kind);

describe("readOpencodeMessages (real OpenCode stores)", () => {
  it("SQLite (1.2+): parts in order, the synthetic continue left out, the compaction kept", () => {
    const r = readOpencodeMessages(join(fx, "real/opencode/.local/share/opencode/opencode.db"), "ses_df6085013ffe1cAA3mVhJxkYin");
    expect(r.entries.filter((e) => e.kind === "user")).toHaveLength(4);
    expect(r.entries.find((e) => e.kind === "tool-call")).toMatchObject({ name: "read", files: ["/tmp/asmfx/opencode/home/work/demo-app/README.md"] });
    expect(r.entries.some((e) => e.kind === "compaction")).toBe(true);
    expect(r.entries.some((e) => e.kind === "user" && e.text.startsWith("Continue if you have next steps"))).toBe(false);
    expect(r).toMatchObject({ model: "fake-coder-1", cwd: "/tmp/asmfx/opencode/home/work/demo-app", parseErrors: 0 });
  });

  it("JSON storage 1.1 and 0.5 give the same shape of conversation", () => {
    const one = kinds(
      "real-old/opencode-1.1.65/.local/share/opencode/storage/session/global/ses_df5913eacffeaYSFAxq7xF7Bti.json",
      "ses_df5913eacffeaYSFAxq7xF7Bti",
    );
    const zero = kinds(
      "real-old/opencode-0.5.29/.local/share/opencode/project/global/storage/session/info/ses_df58a414dffe8XLRY7bUKIyRyn.json",
      "ses_df58a414dffe8XLRY7bUKIyRyn",
    );
    expect(one.filter((k) => k === "user")).toHaveLength(4);
    expect(zero.filter((k) => k === "user")).toHaveLength(4);
    expect(one).toContain("tool-result");
    expect(zero).toContain("tool-result");
  });

  it("a failed turn is an error entry", () => {
    const r = readOpencodeMessages(join(fx, "real/opencode/.local/share/opencode/opencode.db"), "ses_df6081143ffezQpLp1jEFXIPCm");
    expect(r.entries.find((e) => e.kind === "error")).toMatchObject({ text: expect.stringMatching(/server had an error/) });
  });
});
