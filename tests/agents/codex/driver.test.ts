import { describe, expect, it } from "vitest";
import { codexDriver } from "../../../src/agents/codex/driver.ts";
import { type RunRequest, UnsafeArgumentError } from "../../../src/agents/driver.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });
const THREAD = "01a209f7-4642-7fd2-9938-e1c95f5d15ec";

describe("codexDriver.runSpec", () => {
  it("a new run: exec --json, the prompt on stdin via '-'", () => {
    expect(codexDriver.runSpec(req())).toEqual({ args: ["exec", "--json", "--skip-git-repo-check", "-"], prompt: "stdin", env: { PWD: "/w" } });
  });

  it("a resume: parent flags first, then resume <thread id>, then '-' (the order the fixtures ran)", () => {
    expect(codexDriver.runSpec(req({ resumeSessionId: THREAD, model: "gpt-5.5", permissionMode: "workspace-write" })).args).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--model=gpt-5.5",
      "--sandbox=workspace-write",
      "resume",
      THREAD,
      "-",
    ]);
  });

  it("maps permission modes to the sandbox, rejects unknown ones", () => {
    expect(codexDriver.runSpec(req({ permissionMode: "read-only" })).args).toContain("--sandbox=read-only");
    expect(codexDriver.runSpec(req({ permissionMode: "yolo" })).args).toContain("--dangerously-bypass-approvals-and-sandbox");
    expect(() => codexDriver.runSpec(req({ permissionMode: "acceptEdits" }))).toThrow(UnsafeArgumentError);
  });

  it("never places anything but a validated id or model in argv", () => {
    for (const bad of ["--last", "-c", "not-a-uuid", `${THREAD} x`, `${THREAD}\n`, "../etc"])
      expect(() => codexDriver.runSpec(req({ resumeSessionId: bad }))).toThrow(UnsafeArgumentError);
    for (const bad of ["-m", "--config=x", "gpt 5", "a;b", "$(id)"]) expect(() => codexDriver.runSpec(req({ model: bad }))).toThrow(UnsafeArgumentError);
    expect(() => codexDriver.runSpec(req({ resumeSessionId: "-x" }))).toThrow(/session id/);
  });

  it("is one process per turn that never asks", () => {
    expect(codexDriver.multiTurn).toBe(false);
    expect(codexDriver.canAsk).toBe(false);
    expect(codexDriver.sessionIdPattern.test(THREAD)).toBe(true);
  });
});
