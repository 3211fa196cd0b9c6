import { describe, expect, it } from "vitest";
import { checks, runChecks } from "../../src/checks/index.ts";
import { cfg, NOW, observations, session } from "../helpers/checks.ts";

const busy = observations({
  sessions: [session({ platform: "claude", contextTokens: 190_000, parseErrors: 2 })],
  self: { ...observations().self, outboxPending: 500 },
});

describe("runChecks", () => {
  it("runs every enabled check", () => {
    const f = runChecks(busy, cfg(), NOW);
    expect(f.map((x) => `${x.check} ${x.subject}`)).toEqual(["context session:claude::s1", "transcript session:claude::s1", "self self:outbox"]);
  });

  it("skips disabled checks", () => {
    const f = runChecks(busy, cfg({ checks: { context: { enabled: false }, self: { enabled: false } } }), NOW);
    expect(f.map((x) => x.check)).toEqual(["transcript"]);
  });

  it("a check that throws becomes a self finding and the others still run", () => {
    const broken = checks.map((c) =>
      c.name === "context"
        ? {
            ...c,
            run: () => {
              throw new TypeError("cannot read properties of undefined");
            },
          }
        : c,
    );
    const f = runChecks(busy, cfg(), NOW, broken);
    expect(f.map((x) => x.subject)).toEqual(["self:check:context", "session:claude::s1", "self:outbox"]);
    expect(f[0]).toMatchObject({ check: "self", severity: "warning", summary: "the context check failed: cannot read properties of undefined" });
  });

  it("every check is listed once, with a config section", () => {
    const config = cfg();
    expect(new Set(checks.map((c) => c.name)).size).toBe(8);
    for (const c of checks) expect(config.checks[c.section].enabled).toBe(true);
  });
});
