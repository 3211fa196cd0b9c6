import { textView, type View } from "../messages/view.ts";
import { actionsCommand, approveCommand, cleanupCommand, denyCommand, resetSessionCommand, restartGatewayCommand } from "./commands/actions.ts";
import { ackCommand, alertsCommand, silenceCommand, unsilenceCommand } from "./commands/alerts.ts";
import { fallbackCommand } from "./commands/fallback.ts";
import { handoverCommand } from "./commands/handover.ts";
import { healthCommand } from "./commands/health.ts";
import { memoryCommand } from "./commands/memory.ts";
import { reportCommand } from "./commands/report.ts";
import { sessionCommand, sessionsCommand } from "./commands/sessions.ts";
import { tailCommand } from "./commands/sessions-tail.ts";
import { type Command, type CommandContext, UsageError } from "./commands/spec.ts";
import { usageCommand } from "./commands/usage.ts";
import { workerCommands } from "./commands/workers.ts";
import { refusalText } from "./refusal.ts";

export type { Command, CommandContext, CommandSpec, OptionSpec } from "./commands/spec.ts";

const help: Command = {
  name: "help",
  description: "List the commands",
  usage: "/help",
  options: [],
  run: ({ caller }) => ({
    title: "asm commands",
    sections: [
      {
        lines: commands.filter((c) => !c.admin || caller.admin).map((c) => `${c.usage.split(" — ")[0]} — ${c.description}${c.admin ? " (admin)" : ""}`),
      },
    ],
  }),
};

/**
 * Every command, in menu order. Transports derive their menus and registrations from this list;
 * adding a command is one entry here and one file in `commands/`.
 */
export const commands: Command[] = [
  help,
  sessionsCommand,
  sessionCommand,
  tailCommand,
  healthCommand,
  alertsCommand,
  silenceCommand,
  unsilenceCommand,
  ackCommand,
  restartGatewayCommand,
  resetSessionCommand,
  cleanupCommand,
  actionsCommand,
  approveCommand,
  denyCommand,
  ...workerCommands,
  fallbackCommand,
  memoryCommand,
  handoverCommand,
  usageCommand,
  reportCommand,
];

/**
 * Runs a command by name, enforcing the allow list and admin flags; never throws. Bad arguments get
 * the reason and the one-line usage; an unexpected error gets a short id, details go to the log.
 */
export async function runCommand(ctx: CommandContext, name: string, args: string[]): Promise<View> {
  if (!ctx.caller.allowed) {
    ctx.rt.log.warn({ audit: "command.refused", transport: ctx.caller.transport, userId: ctx.caller.userId, command: name }, "unknown user");
    return textView(refusalText, { private: true });
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) return textView(`Unknown command /${name}. Try /help.`, { private: true });
  if (cmd.admin && !ctx.caller.admin) return textView(`/${name} is for admins only.`, { private: true });
  try {
    if (cmd.options.length === 0 && args.length) throw new UsageError(`/${name} takes no arguments`);
    return await cmd.run(ctx, args);
  } catch (err) {
    if (err instanceof UsageError) return textView(`${err.message}. Usage: ${cmd.usage}`, { private: true });
    const ref = Math.random().toString(36).slice(2, 8);
    ctx.rt.log.error({ err, command: name, ref }, "command failed");
    return textView(`/${name} failed (ref ${ref}); the details are in asm's log.`, { private: true });
  }
}
