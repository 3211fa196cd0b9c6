import { describe, expect, it } from "vitest";
import { SendBudget } from "../../../src/chat/telegram/budget.ts";

describe("SendBudget", () => {
  it("allows at most N messages in any sliding minute and says when the next fits", () => {
    const b = new SendBudget(3);
    expect(b.remaining(0)).toBe(3);
    b.record(0);
    b.record(10_000);
    b.record(20_000);
    expect(b.remaining(30_000)).toBe(0);
    expect(b.waitMs(30_000)).toBe(30_000);
    expect(b.remaining(60_000)).toBe(1);
    expect(b.waitMs(60_000)).toBe(0);
    expect(b.remaining(80_001)).toBe(3);
  });
});
