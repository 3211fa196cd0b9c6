import { z } from "zod";
import { argv, pathString } from "./common.ts";

/** Context handover (issue 16): the extractive memory of a session and the automatic handover of workers. */
export const handoverSection = z
  .strictObject({
    threshold: z
      .number()
      .min(1)
      .max(100)
      .default(80)
      .describe("A managed worker whose context passes this % of its window is handed over at the next turn boundary"),
    memoryTokens: z.number().int().min(500).default(4000).describe("Upper bound of a memory's Markdown, in tokens (characters / 4)"),
    memoryDir: pathString.default("~/.openclaw/.session_memory/").describe("Where memories are written as <platform>-<session_id>.json"),
    maxChain: z.number().int().min(1).default(5).describe("Handovers in one chain at most; reaching it is an alert, not another handover"),
    summarizer: z
      .strictObject({
        argv: argv
          .nullable()
          .default(null)
          .describe("A command that reads the extractive memory on stdin and prints a better one (e.g. an agent CLI in print mode); null = none"),
        timeoutSeconds: z.number().positive().default(120).describe("The summarizer is given up after this long; the extractive memory is used"),
      })
      .prefault({}),
  })
  .prefault({});
