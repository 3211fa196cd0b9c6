import { describe, expect, it, vi } from "vitest";
import { answerWithin } from "../../src/chat/answer-within.ts";

const settleIn = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("answerWithin", () => {
  it("work done in time: its value, not late, no acknowledgement", async () => {
    const acknowledge = vi.fn(async () => undefined);
    await expect(answerWithin(settleIn(5, "view"), 200, acknowledge)).resolves.toEqual({ value: "view", late: false });
    expect(acknowledge).not.toHaveBeenCalled();
  });

  it("work that outlasts the deadline: acknowledged first, then its value, late", async () => {
    const order: string[] = [];
    const work = settleIn(80, "view").then((v) => {
      order.push("done");
      return v;
    });
    const result = await answerWithin(work, 10, async () => {
      order.push("acknowledged");
    });
    expect(result).toEqual({ value: "view", late: true });
    expect(order).toEqual(["acknowledged", "done"]);
  });

  it("waits for the acknowledgement before following up", async () => {
    const order: string[] = [];
    const result = await answerWithin(settleIn(20, 1), 5, async () => {
      await settleIn(50, undefined);
      order.push("acknowledged");
    });
    order.push("follow-up");
    expect(result).toEqual({ value: 1, late: true });
    expect(order).toEqual(["acknowledged", "follow-up"]);
  });

  it("passes a rejection on, before or after the deadline", async () => {
    const acknowledge = vi.fn(async () => undefined);
    await expect(answerWithin(Promise.reject(new Error("early")), 200, acknowledge)).rejects.toThrow("early");
    expect(acknowledge).not.toHaveBeenCalled();
    const late = settleIn(40, null).then(() => {
      throw new Error("late");
    });
    await expect(answerWithin(late, 5, acknowledge)).rejects.toThrow("late");
    expect(acknowledge).toHaveBeenCalledTimes(1);
  });

  it("passes a failing acknowledgement on", async () => {
    await expect(
      answerWithin(settleIn(40, 1), 5, async () => {
        throw new Error("interaction expired");
      }),
    ).rejects.toThrow("interaction expired");
  });

  it("leaves no timer behind when the work is quick", async () => {
    vi.useFakeTimers();
    try {
      await answerWithin(Promise.resolve(1), 60_000, async () => undefined);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
