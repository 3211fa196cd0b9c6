import { z } from "zod";

export const alertsSection = z
  .strictObject({
    repeatIntervalMinutes: z.number().positive().default(240),
    minFiringSeconds: z.number().nonnegative().default(0).describe("Flap damping: firing this long before the first message"),
    groupAbove: z.number().int().positive().default(5).describe("More new alerts of one check in a cycle than this → one grouped message"),
    resolveAfterMissedScans: z.number().int().positive().default(1),
  })
  .prefault({});

export const outboxSection = z
  .strictObject({
    maxAttempts: z.number().int().positive().default(20),
    baseDelaySeconds: z.number().positive().default(2),
    maxDelaySeconds: z.number().positive().default(600),
    unknownFateWaitSeconds: z
      .number()
      .positive()
      .default(120)
      .describe("A send that timed out may have been posted: wait this long before trying it again (a slow platform usually catches up)"),
    maxBlindRetries: z
      .number()
      .int()
      .nonnegative()
      .default(1)
      .describe("Retries of a send of unknown fate on a platform without an idempotency key (Telegram): each may post a duplicate"),
  })
  .prefault({});
