import { describe, expect, it } from "vitest";
import type { RunRequest } from "../../src/agents/driver.ts";
import { drivers } from "../../src/agents/drivers.ts";

const req = (over: Partial<RunRequest> = {}): RunRequest => ({ resumeSessionId: null, model: null, cwd: "/srv/work/app", permissionMode: null, ...over });

/**
 * Found against the real OpenCode 1.18.33 (tests/real-agents): the CLI takes its project folder from $PWD,
 * not from its cwd. Started with asm's own PWD (the runner passes asm's environment on), `opencode run`
 * created the session in asm's folder (/work/main, its git project), and `opencode run --session <id>` of a
 * session made in the workspace answered, then never exited. Every driver sets PWD to the workspace.
 */
describe("every driver runs its CLI with PWD = the workspace", () => {
  for (const [agent, driver] of Object.entries(drivers)) {
    it(`${agent}: new and resumed runs`, () => {
      expect(driver!.runSpec(req()).env?.PWD).toBe("/srv/work/app");
      const id = agent === "opencode" ? "ses_df6085013ffe1cAA3mVhJxkYin" : "01a209f7-4642-7fd2-9938-e1c95f5d15ec";
      expect(driver!.runSpec(req({ resumeSessionId: id })).env?.PWD).toBe("/srv/work/app");
    });
  }
});
