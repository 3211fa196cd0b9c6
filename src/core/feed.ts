import type { Logger } from "../lib/log.ts";
import type { MessageRef, Transport } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";

/**
 * The transports' feeds, as the core sees them: post a view into every feed (approval requests a
 * check raised, reports of auto actions) and edit a message we posted or were told about. Failures
 * are logged and skipped: one platform being down must not stop the others.
 */
export class Feed {
  private transports: Transport[] = [];

  constructor(private readonly log: Logger) {}

  /** The transports of this process; set once they exist (the manager starts before them). */
  attach(transports: Transport[]): void {
    this.transports = transports;
  }

  get size(): number {
    return this.transports.length;
  }

  /** Posts into every transport's feed; returns where it landed. */
  async post(view: View): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    for (const t of this.transports) {
      try {
        refs.push(await t.send(view));
      } catch (err) {
        this.log.warn({ err, transport: t.name }, "feed post failed");
      }
    }
    return refs;
  }

  /** Edits one message on the transport it lives on. */
  async edit(ref: MessageRef, view: View): Promise<void> {
    const t = this.transports.find((x) => x.name === ref.transport);
    if (!t) return;
    try {
      await t.edit(ref, view);
    } catch (err) {
      this.log.warn({ err, transport: t.name, messageId: ref.messageId }, "could not edit message");
    }
  }
}
