import type { Logger } from "../lib/log.ts";
import type { MessageRef, ThreadRequest, Transport, TransportName } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";
import type { OutboxStore } from "../store/outbox.ts";

/** Where one subject's messages go on one transport (a topic, a thread); see `Feed.openThreads`. */
export interface FeedPlace {
  transport: TransportName;
  chatId: string;
  threadId?: string | undefined;
}

/**
 * The transports' feeds, as the core sees them: post a view into every feed (approval requests a
 * check raised, reports of auto actions) and edit a message we posted or were told about. Failures
 * are logged and skipped: one platform being down must not stop the others.
 */
export class Feed {
  private transports: Transport[] = [];
  private durable: { outbox: OutboxStore; kick: () => void } | null = null;

  constructor(private readonly log: Logger) {}

  /** The transports of this process; set once they exist (the manager starts before them). */
  attach(transports: Transport[]): void {
    this.transports = transports;
  }

  /** The outbox and its sender's wake-up (asm run's monitor): `postDurably` writes rows instead of posting. */
  attachOutbox(outbox: OutboxStore, kick: () => void): void {
    this.durable = { outbox, kick };
  }

  /**
   * Posts a message that must not be lost (a worker's result, a notice): one outbox row per transport, into its
   * place from `places` (its feed where it has none), delivered and retried by the outbox sender in order per
   * `subject` ("worker:w3"). Without an outbox (no monitor in this process) it is posted at once, as `postTo`.
   */
  async postDurably(view: View, places: readonly FeedPlace[], subject: string): Promise<void> {
    if (!this.durable) {
      await this.postTo(view, places);
      return;
    }
    const { outbox, kick } = this.durable;
    const now = Date.now();
    try {
      outbox.transaction(() => {
        for (const t of this.transports) {
          const place = places.find((p) => p.transport === t.name);
          const where = place ? { chatId: place.chatId, threadId: place.threadId } : null;
          outbox.enqueue({ alertIds: [], transport: t.name, kind: "note", view, now, place: where, subject });
        }
      });
    } catch (err) {
      // A store that takes no writes (found damaged, so read-only) has no outbox: post it now instead.
      this.log.warn({ err, subject }, "could not queue a note in the outbox; posting it directly");
      await this.postTo(view, places);
      return;
    }
    kick();
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

  /**
   * Opens a place of its own (a forum topic, a thread, a console prefix) on every transport that can have one;
   * a transport that cannot (or fails) is left out, and its messages for this subject go to its feed.
   */
  async openThreads(request: ThreadRequest): Promise<FeedPlace[]> {
    const places: FeedPlace[] = [];
    for (const t of this.transports) {
      if (!t.openThread) continue;
      try {
        const place = await t.openThread(request);
        if (place) places.push({ transport: t.name, chatId: place.chatId, threadId: place.threadId });
      } catch (err) {
        this.log.warn({ err, transport: t.name, tag: request.tag }, "could not open a thread; its messages go to the feed");
      }
    }
    return places;
  }

  /** Posts into exactly these chats (an admin's private chat), with no fallback to the feed; a failure is logged and skipped. */
  async postDirect(view: View, places: readonly FeedPlace[]): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    for (const place of places) {
      const t = this.transports.find((x) => x.name === place.transport);
      if (!t) continue;
      try {
        refs.push(await t.send(view, { chatId: place.chatId, threadId: place.threadId }));
      } catch (err) {
        this.log.warn({ err, transport: t.name, chatId: place.chatId }, "could not post into a private chat");
      }
    }
    return refs;
  }

  /**
   * Posts into each transport's place from `places` (its feed where it has none). A post the place refuses
   * (topic deleted, thread archived, budget spent) is logged and posted into that transport's feed instead.
   */
  async postTo(view: View, places: readonly FeedPlace[]): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    for (const t of this.transports) {
      const place = places.find((p) => p.transport === t.name);
      try {
        if (place) {
          try {
            refs.push(await t.send(view, { chatId: place.chatId, threadId: place.threadId }));
            continue;
          } catch (err) {
            this.log.warn({ err, transport: t.name, chatId: place.chatId, threadId: place.threadId }, "could not post into the thread; posting to the feed");
          }
        }
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
