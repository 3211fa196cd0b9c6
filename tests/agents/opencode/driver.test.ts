import { describe, expect, it } from "vitest";
import { type RunRequest, UnsafeArgumentError } from "../../../src/agents/driver.ts";
import { opencodeDriver } from "../../../src/agents/opencode/driver.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });
const S = "ses_df6085013ffe1cAA3mVhJxkYin";

describe("opencodeDriver.runSpec", () => {
  it("a new run: run --format json with the prompt on stdin, nothing else in argv", () => {
    expect(opencodeDriver.runSpec(req())).toEqual({ args: ["run", "--format", "json"], prompt: "stdin", env: { PWD: "/w" } });
  });

  it("a resume with a provider/model and --auto", () => {
    expect(opencodeDriver.runSpec(req({ resumeSessionId: S, model: "fakeai/fake-coder-1", permissionMode: "auto" })).args).toEqual([
      "run",
      "--format",
      "json",
      "--model=fakeai/fake-coder-1",
      `--session=${S}`,
      "--auto",
    ]);
  });

  it("never places anything but a validated id or model in argv", () => {
    for (const bad of ["-c", "--continue", "ses_", "ses_abc def ghi jkl", "01a209f7-4642-7fd2-9938-e1c95f5d15ec"])
      expect(() => opencodeDriver.runSpec(req({ resumeSessionId: bad }))).toThrow(UnsafeArgumentError);
    for (const bad of ["-m", "--model=x/y", "fake-coder-1", "/x", "a/-b", "a b/c"])
      expect(() => opencodeDriver.runSpec(req({ model: bad }))).toThrow(UnsafeArgumentError);
    expect(() => opencodeDriver.runSpec(req({ permissionMode: "yolo" }))).toThrow(UnsafeArgumentError);
    expect(opencodeDriver.runSpec(req({ permissionMode: "default" })).args).toEqual(["run", "--format", "json"]);
  });

  it("is one process per turn, never asks, and summarises the turn at exit", () => {
    expect(opencodeDriver.multiTurn).toBe(false);
    expect(opencodeDriver.canAsk).toBe(false);
    expect(typeof opencodeDriver.parseOutput).toBe("function");
  });
});
