import type { WorkerEvent } from "../../src/agents/driver.ts";

/** The events of one type, typed as that type. */
export const eventsOf = <T extends WorkerEvent["type"]>(events: readonly WorkerEvent[], type: T): Extract<WorkerEvent, { type: T }>[] =>
  events.filter((e): e is Extract<WorkerEvent, { type: T }> => e.type === type);

/** The text the agent streamed, joined. */
export const textOf = (events: readonly WorkerEvent[]): string =>
  eventsOf(events, "text")
    .map((e) => e.text)
    .join("");
