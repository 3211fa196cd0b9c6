import { describe, expect, it } from "vitest";
import { type RunRequest, UnsafeArgumentError } from "../../../src/agents/driver.ts";
import { geminiDriver } from "../../../src/agents/gemini/driver.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });
const ID = "7b341d7f-6941-4e05-9db8-8d32c95b26ef";

describe("geminiDriver.runSpec", () => {
  it("a new run: headless stream-json, prompt on stdin with an empty -p", () => {
    expect(geminiDriver.runSpec(req())).toEqual({ args: ["--output-format", "stream-json", "--skip-trust", "-p", ""], prompt: "stdin", env: { PWD: "/w" } });
  });

  it("a new run with a pre-assigned id, model and approval mode", () => {
    expect(geminiDriver.runSpec(req({ newSessionId: ID, model: "gemini-2.5-pro", permissionMode: "auto_edit" })).args).toEqual([
      "--output-format",
      "stream-json",
      "--skip-trust",
      "-p",
      "",
      "--model=gemini-2.5-pro",
      "--approval-mode=auto_edit",
      `--session-id=${ID}`,
    ]);
  });

  it("a resume uses --resume and ignores a new id", () => {
    const args = geminiDriver.runSpec(req({ resumeSessionId: ID, newSessionId: "11111111-2222-4333-8444-555555555555" })).args;
    expect(args).toContain(`--resume=${ID}`);
    expect(args.some((a) => a.startsWith("--session-id"))).toBe(false);
  });

  it("never places anything but a validated id, model or mode in argv", () => {
    for (const bad of ["latest", "5", "-x", "--yolo", `${ID} x`])
      expect(() => geminiDriver.runSpec(req({ resumeSessionId: bad }))).toThrow(UnsafeArgumentError);
    expect(() => geminiDriver.runSpec(req({ newSessionId: "-1" }))).toThrow(UnsafeArgumentError);
    for (const bad of ["-m", "--yolo", "a b"]) expect(() => geminiDriver.runSpec(req({ model: bad }))).toThrow(UnsafeArgumentError);
    expect(() => geminiDriver.runSpec(req({ permissionMode: "bypassPermissions" }))).toThrow(/Gemini takes default, auto_edit, yolo, plan/);
  });

  it("is one process per turn that never asks", () => {
    expect(geminiDriver.multiTurn).toBe(false);
    expect(geminiDriver.canAsk).toBe(false);
  });
});
