import { z } from "zod";
import { argv } from "./common.ts";

const actionKind = (defaultArgv: string[] | null, timeoutSeconds: number) =>
  z
    .strictObject({
      argv: argv.nullable().default(defaultArgv).describe("Fixed argv; `{target}` is replaced by an id validated against our store, never chat text"),
      timeoutSeconds: z.number().positive().default(timeoutSeconds),
      auto: z.boolean().default(false).describe("Run without approval (still audited and reported)"),
    })
    .prefault({});

export const actionsSection = z
  .strictObject({
    expiryMinutes: z.number().positive().default(10),
    verifyTimeoutSeconds: z.number().positive().default(60),
    restartGateway: actionKind(["systemctl", "--user", "restart", "openclaw-gateway"], 120),
    resetSession: actionKind(null, 60).describe("null argv = edit the JSON session store ourselves (with a backup)"),
    cleanup: actionKind(null, 60),
    repairGateway: actionKind(null, 60).describe(
      "After repeated failed restarts: null argv = start a repair worker (runner.repairAgent) in the OpenClaw state folder; an argv runs that instead",
    ),
  })
  .prefault({});
