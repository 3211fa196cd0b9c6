import type { MessageRef } from "../messages/transport.ts";

/**
 * Which of a transport's edits of a message came last, so a button's outcome never overwrites a
 * newer one. The outcome of an approval ("running…") is applied only after the core has answered
 * and the platform has been told, while the core may by then have finished a fast action (a JSON
 * store edit takes a millisecond) and edited the same message with its result: applied late, the
 * older "running…" would stay on the message for good.
 */
export class EditOrder {
  private seq = 0;
  /** The sequence number of the latest edit started per message, oldest first (trimmed to `max`). */
  private readonly last = new Map<string, number>();

  constructor(private readonly max = 2000) {}

  /** Taken when a button press starts; compare with `editedSince` before applying its outcome. */
  mark(): number {
    return this.seq;
  }

  /** The transport starts an edit of this message now. */
  editing(ref: MessageRef): void {
    const key = keyOf(ref);
    this.last.delete(key);
    this.last.set(key, ++this.seq);
    if (this.last.size > this.max) this.last.delete(this.last.keys().next().value!);
  }

  /** Whether an edit of this message started after `mark` was taken. */
  editedSince(ref: MessageRef, mark: number): boolean {
    return (this.last.get(keyOf(ref)) ?? 0) > mark;
  }
}

const keyOf = (ref: MessageRef) => `${ref.chatId}\u0000${ref.messageId}`;
