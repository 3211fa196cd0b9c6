import type { Runtime } from "../runtime.ts";
import type { Caller } from "./transport.ts";
import { textView, type View } from "./view.ts";

/** How a command's option is declared, once, for every transport (Telegram menu, Discord builders, /help). */
export interface OptionSpec {
  name: string;
  description: string;
  type: "string" | "integer";
  required?: boolean;
  choices?: string[];
  /** Discord autocomplete source. */
  autocomplete?: "session";
}

export interface CommandSpec {
  /** Lowercase a–z, 0–9 and `_` (Telegram's rule). */
  name: string;
  description: string;
  /** One-line usage with an example, shown on bad arguments. */
  usage: string;
  admin?: boolean;
  options: OptionSpec[];
}

export interface CommandContext {
  rt: Runtime;
  caller: Caller;
  now: number;
}

export interface Command extends CommandSpec {
  run(ctx: CommandContext, args: string[]): Promise<View> | View;
}

const help: Command = {
  name: "help",
  description: "List the commands",
  usage: "/help",
  options: [],
  run: ({ caller }) => ({
    title: "asm commands",
    sections: [
      {
        lines: commands
          .filter((c) => !c.admin || caller.admin)
          .map((c) => `/${c.name} — ${c.description}${c.admin ? " (admin)" : ""}`),
      },
    ],
  }),
};

/** Every command, in menu order. Transports derive their menus and registrations from this list. */
export const commands: Command[] = [help];

/** Runs a command by name, enforcing the allow list; never throws. */
export async function runCommand(ctx: CommandContext, name: string, args: string[]): Promise<View> {
  if (!ctx.caller.allowed) return textView("Sorry, you are not allowed to use this bot.", { private: true });
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) return textView(`Unknown command /${name}. Try /help.`, { private: true });
  if (cmd.admin && !ctx.caller.admin) return textView(`/${name} is for admins only.`, { private: true });
  try {
    return await cmd.run(ctx, args);
  } catch (err) {
    ctx.rt.log.error({ err, command: name }, "command failed");
    return textView(`/${name} failed: ${(err as Error).message}`, { private: true });
  }
}
