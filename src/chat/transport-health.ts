import type { Logger } from "../lib/log.ts";
import type { TransportName, TransportProblem } from "../messages/transport.ts";
import type { KvStore } from "../store/kv.ts";

/** A problem with the platform connection itself, as opposed to the feed chat. */
export type ConnectionProblemKind = Exclude<TransportProblem["kind"], "feed">;

export interface TransportHealthOptions {
  transport: TransportName;
  kv: KvStore;
  log: Logger;
}

/**
 * The kv key that holds a transport's current problem (a `TransportProblem`, or null), so another
 * process (`asm health`, or `sqlite3 asm.db "select value from kv where key='telegram.problem'"`)
 * can see it. One style for every transport: `<transport>.problem`, beside `telegram.feedTopicId`.
 */
export const problemKey = (transport: TransportName): string => `${transport}.problem`;

/** Keys older releases wrote the problem under; read once when the new key has nothing yet. */
export const legacyProblemKeys: Partial<Record<TransportName, string>> = { discord: "transport.discord.problem" };

/**
 * A chat transport's health: what keeps it from working right now, for the self check (which
 * reports it through the other transports), for listeners and for the kv store.
 *
 * Two slots, because they end for different reasons: the **connection** problem (`unauthorized`,
 * `conflict`, `unreachable`) ends when the platform answers again, the **feed** problem (the feed
 * chat refuses the bot) when a feed post lands. `problem` shows the connection problem first. A
 * problem's `since` is kept while its kind stays the same, so an outage whose error text changes
 * from one retry to the next is still one outage (the monitor waits five minutes before it reports
 * `unreachable`).
 *
 * The transport logs why the connection failed (it knows the request and the retry delay); this
 * logs the way back (`telegram recovered`, `… feed takes posts again`) and the feed refusals.
 *
 * ```ts
 * const health = new TransportHealth({ transport: "discord", kv, log });
 * if (health.fail("unreachable", "cannot connect to Discord: ECONNREFUSED")) log.error("…");
 * health.recover("unreachable");          // logs "discord recovered", writes null to kv
 * health.feedRefused("the feed channel … refuses the bot", { code: 50001 });
 * health.feedWorks();                     // after the next feed post that lands
 * ```
 */
export class TransportHealth {
  private connectionProblem: TransportProblem | null = null;
  private feedProblem: TransportProblem | null = null;
  private readonly listeners = new Set<(problem: TransportProblem | null) => void>();
  private readonly key: string;

  constructor(private readonly options: TransportHealthOptions) {
    this.key = problemKey(options.transport);
    this.migrateLegacyKey();
  }

  /** What keeps the transport from working, or null: the connection problem first, else the feed's. */
  get problem(): TransportProblem | null {
    return this.connectionProblem ?? this.feedProblem;
  }

  /** The connection problem alone (a refused token, another poller, no network), or null. */
  get connection(): TransportProblem | null {
    return this.connectionProblem;
  }

  /** Called whenever `problem` changes (null = all well again). Returns an unsubscribe function. */
  onChange(listener: (problem: TransportProblem | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The connection fails this way now. Returns false when nothing changed (the same kind and
   * message), so the caller can log a problem once instead of on every retry.
   */
  fail(kind: ConnectionProblemKind, message: string): boolean {
    const before = this.connectionProblem;
    if (before?.kind === kind && before.message === message) return false;
    this.update(() => {
      this.connectionProblem = { kind, message, since: before?.kind === kind ? before.since : Date.now() };
    });
    return true;
  }

  /** The connection works again: clears the connection problem if it is one of `kinds` (default: any). */
  recover(...kinds: ConnectionProblemKind[]): boolean {
    const before = this.connectionProblem;
    if (!before || (kinds.length > 0 && !kinds.includes(before.kind as ConnectionProblemKind))) return false;
    this.options.log.info({ was: before.kind }, `${this.options.transport} recovered`);
    this.update(() => {
      this.connectionProblem = null;
    });
    return true;
  }

  /**
   * The feed chat refuses the bot. Logged as an error (with `context`) when the message is new;
   * `since` is kept while the feed keeps refusing. Returns whether anything changed.
   */
  feedRefused(message: string, context: Record<string, unknown> = {}): boolean {
    const before = this.feedProblem;
    if (before?.message === message) return false;
    this.options.log.error(context, message);
    this.update(() => {
      this.feedProblem = { kind: "feed", message, since: before?.since ?? Date.now() };
    });
    return true;
  }

  /** A feed post landed: the feed problem, if any, is over. */
  feedWorks(): boolean {
    if (!this.feedProblem) return false;
    this.options.log.info({ was: "feed" }, `${this.options.transport}: the feed takes posts again`);
    this.update(() => {
      this.feedProblem = null;
    });
    return true;
  }

  /** Applies a change, records the state in kv and tells the listeners if `problem` changed. */
  private update(change: () => void): void {
    const before = this.problem;
    change();
    const after = this.problem;
    try {
      this.options.kv.set(this.key, after);
    } catch (err) {
      this.options.log.warn({ error: (err as Error)?.message }, `could not record the ${this.options.transport} problem in the store`);
    }
    if (after !== before) for (const listener of this.listeners) listener(after);
  }

  /** An install upgraded from a release with another key keeps its last recorded problem under the new one. */
  private migrateLegacyKey(): void {
    const legacy = legacyProblemKeys[this.options.transport];
    if (!legacy) return;
    try {
      const { kv } = this.options;
      if (kv.get(this.key) !== undefined) return;
      const old = kv.get<TransportProblem | null>(legacy);
      if (old !== undefined) kv.set(this.key, old);
    } catch (err) {
      this.options.log.warn({ error: (err as Error)?.message }, `could not move the ${this.options.transport} problem to ${this.key}`);
    }
  }
}
