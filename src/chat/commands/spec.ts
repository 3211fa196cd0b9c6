import type { Manager } from "../../core/manager.ts";
import type { Caller } from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import type { Runtime } from "../../store/runtime.ts";

/** How a command's option is declared, once, for every transport (Telegram menu, Discord builders, /help). */
export interface OptionSpec {
  name: string;
  description: string;
  type: "string" | "integer";
  required?: boolean;
  choices?: string[];
  /** Discord autocomplete source. */
  autocomplete?: "session";
  /** Takes the rest of the line (a reason): Discord shows one text field for it. */
  rest?: boolean;
  /** A named argument typed as `<keyword> <value>` (`project alpha`): Discord's field passes the word before its value. */
  keyword?: string;
}

export interface CommandSpec {
  /** Lowercase a–z, 0–9 and `_` (Telegram's rule). */
  name: string;
  description: string;
  /** One-line usage with an example, shown on bad arguments. */
  usage: string;
  /** Only admins may run it (also checked here; platform menus are hints, not access control). */
  admin?: boolean;
  options: OptionSpec[];
}

export interface CommandContext {
  rt: Runtime;
  manager: Manager;
  caller: Caller;
  now: number;
}

export interface Command extends CommandSpec {
  run(ctx: CommandContext, args: string[]): Promise<View> | View;
}

/** Bad arguments: the runner answers with the message and the command's one-line usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Joins the free-text tail of a command (a reason), bounded; it is stored and shown, never run. */
export function reasonFrom(args: string[]): string | null {
  const text = args.join(" ").trim();
  if (!text) return null;
  if (text.length > 300) throw new UsageError("the reason is too long (300 characters at most)");
  return text;
}

/** Ids and prefixes typed in chat: the characters our ids use, nothing else. */
export function idArg(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} is missing`);
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(value)) throw new UsageError(`"${value.slice(0, 40)}" is not a valid ${what}`);
  return value;
}
