import { ConsoleTransport } from "./chat/console.ts";
import { runCommand } from "./chat/commands.ts";
import type { Inbound, Transport } from "./chat/transport.ts";
import type { Runtime } from "./runtime.ts";

/** The long-running bot: transports + scheduled jobs. `stop()` finishes the current cycle first. */
export interface Service {
  transports: Transport[];
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Console streams (tests). */
  consoleIn?: NodeJS.ReadableStream & { isTTY?: boolean };
  consoleOut?: NodeJS.WritableStream;
}

/** The chat transports this configuration asks for; the console when no chat token is set. */
export function createTransports(rt: Runtime, options: ServiceOptions = {}): Transport[] {
  const transports: Transport[] = [];
  if (transports.length === 0) {
    transports.push(
      new ConsoleTransport({ prompt: rt.config.console.prompt, in: options.consoleIn, out: options.consoleOut }),
    );
  }
  return transports;
}

export async function startService(rt: Runtime, options: ServiceOptions = {}): Promise<Service> {
  const transports = createTransports(rt, options);
  const inbound: Inbound = {
    command: (caller, name, args) => runCommand({ rt, caller, now: Date.now() }, name, args),
    button: async () => ({ toast: "This button is no longer active." }),
  };
  for (const t of transports) {
    await t.start(inbound);
    rt.log.info({ transport: t.name }, "transport started");
  }
  return {
    transports,
    async stop() {
      for (const t of transports) {
        try {
          await t.stop();
        } catch (err) {
          rt.log.warn({ err, transport: t.name }, "transport did not stop cleanly");
        }
      }
    },
  };
}
