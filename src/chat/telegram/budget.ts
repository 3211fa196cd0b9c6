/**
 * Telegram allows about 20 messages a minute into one group, whatever topic they go to. This counts
 * what we actually sent into the feed chat over a sliding minute, so the outbox can group a burst of
 * alerts into one message instead of hitting 429s.
 */
export class SendBudget {
  private sent: number[] = [];

  constructor(
    readonly perWindow: number,
    readonly windowMs = 60_000,
  ) {}

  /** One message went out at `at`. */
  record(at = Date.now()): void {
    this.sent.push(at);
  }

  /** Messages that may still be sent now without exceeding the budget. */
  remaining(now = Date.now()): number {
    this.forget(now);
    return Math.max(0, this.perWindow - this.sent.length);
  }

  /** How long until one more message may go out (0 = now). */
  waitMs(now = Date.now()): number {
    if (this.remaining(now) > 0) return 0;
    const oldest = this.sent[this.sent.length - this.perWindow]!;
    return Math.max(1, oldest + this.windowMs - now);
  }

  private forget(now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.sent.length && this.sent[drop]! <= cutoff) drop++;
    if (drop) this.sent.splice(0, drop);
  }
}
