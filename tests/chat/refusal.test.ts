import { describe, expect, it } from "vitest";
import { refusalText } from "../../src/chat/refusal.ts";

describe("refusalText", () => {
  it("says no without naming a setting, an id or the platform", () => {
    expect(refusalText).toBe("Sorry, you are not allowed to use this bot.");
    expect(refusalText).not.toMatch(/TELEGRAM|DISCORD|_IDS|\d/);
  });
});
