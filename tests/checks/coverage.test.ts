import { describe, expect, it } from "vitest";
import { notCheckedReason } from "../../src/checks/coverage.ts";
import { cfg, observations, session } from "../helpers/checks.ts";

describe("notCheckedReason", () => {
  const live = session({ platform: "claude", agentId: null, sessionId: "live" });
  const ended = session({ platform: "codex", agentId: null, sessionId: "ended", state: "ended" });
  const obs = observations({ sessions: [live, ended] });
  const config = cfg();

  it("a session still checked: its alert's absence means the problem went away", () => {
    expect(notCheckedReason({ check: "context", subject: `session:${live.uid}` }, obs, config)).toBeNull();
    expect(notCheckedReason({ check: "logs", subject: "log:/x" }, obs, config)).toBeNull();
    expect(notCheckedReason({ check: "gateway", subject: "gateway" }, obs, config)).toBeNull();
  });

  it("a session out of the activity window, gone, or (for context) ended is no longer checked", () => {
    expect(notCheckedReason({ check: "context", subject: "session:claude::aged-out" }, obs, config)).toBe("inactive");
    expect(notCheckedReason({ check: "context", subject: `session:${ended.uid}` }, obs, config)).toBe("inactive");
    const gone = observations({ sessions: [{ ...live, present: false }] });
    expect(notCheckedReason({ check: "transcript", subject: `session:${live.uid}` }, gone, config)).toBe("inactive");
  });

  it("a check turned off in config", () => {
    expect(notCheckedReason({ check: "context", subject: `session:${live.uid}` }, obs, cfg({ checks: { context: { enabled: false } } }))).toBe("check-off");
    expect(notCheckedReason({ check: "fallback-rate", subject: "model:x" }, obs, cfg({ checks: { fallbackRate: { enabled: false } } }))).toBe("check-off");
  });
});
