import { describe, expect, it } from "vitest";
import { type RunRequest, UnsafeArgumentError } from "../../../src/agents/driver.ts";
import { openclawDriver } from "../../../src/agents/openclaw/driver.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/w", permissionMode: null, ...over });
const ID = "5fbd7986-1dc1-4da9-b50b-b3302e336325";

describe("openclawDriver.runSpec", () => {
  it("a new run gets a fresh session id (never the main session), reported in the spec; the prompt is a file", () => {
    const spec = openclawDriver.runSpec(req());
    expect(spec.prompt).toBe("file");
    expect(spec.promptFileFlag).toBe("--message-file");
    expect(spec.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(spec.args).toEqual(["agent", "--json", `--session-id=${spec.sessionId}`]);
    expect(openclawDriver.runSpec(req()).sessionId).not.toBe(spec.sessionId);
  });

  it("a new run with the runner's id, and a model", () => {
    const spec = openclawDriver.runSpec(req({ newSessionId: ID, model: "fakeai/fake-coder-1" }));
    expect(spec).toEqual({
      args: ["agent", "--json", `--session-id=${ID}`, "--model=fakeai/fake-coder-1"],
      prompt: "file",
      promptFileFlag: "--message-file",
      env: { PWD: req().cwd },
      sessionId: ID,
    });
  });

  it("a resume names the session and reports no new id", () => {
    const spec = openclawDriver.runSpec(req({ resumeSessionId: ID }));
    expect(spec.args).toEqual(["agent", "--json", `--session-id=${ID}`]);
    expect(spec.sessionId).toBeUndefined();
  });

  it("never places anything but a validated id or model in argv", () => {
    for (const bad of ["-x", "--local", "agent:main:main", "A B", "UPPER", "x".repeat(200)])
      expect(() => openclawDriver.runSpec(req({ resumeSessionId: bad }))).toThrow(UnsafeArgumentError);
    expect(() => openclawDriver.runSpec(req({ newSessionId: "--deliver" }))).toThrow(UnsafeArgumentError);
    for (const bad of ["-m", "--deliver", "a b"]) expect(() => openclawDriver.runSpec(req({ model: bad }))).toThrow(UnsafeArgumentError);
  });

  it("reads its single JSON document at exit", () => {
    expect(openclawDriver.multiTurn).toBe(false);
    expect(openclawDriver.canAsk).toBe(false);
    expect(openclawDriver.parseLine('{"payloads": []}')).toEqual([]);
    expect(typeof openclawDriver.parseOutput).toBe("function");
  });
});
