import type { BotCommand, BotCommandScope } from "grammy/types";

/** What the menu needs to know about a command (a subset of `CommandSpec`). */
export interface MenuCommand {
  name: string;
  description: string;
  admin?: boolean | undefined;
}

/** One `setMyCommands` call: the commands a scope shows. */
export interface CommandMenu {
  scope: BotCommandScope;
  commands: BotCommand[];
}

export interface MenuAudience {
  /** The feed group, where admins get the full menu. */
  feedChatId: string | null;
  adminIds: readonly string[];
}

const validName = /^[a-z0-9_]{1,32}$/;

const toBotCommand = (c: MenuCommand): BotCommand => ({
  command: c.name,
  description: (c.description.trim() || c.name).slice(0, 256),
});

/**
 * The command menus to register on start. Everyone sees the commands anyone may run (default
 * scope); admins see every command in their private chat with the bot and in the feed group. Scopes
 * only change what the client suggests: who may run what is decided in code on every command.
 */
export function commandMenus(commands: readonly MenuCommand[], audience: MenuAudience): CommandMenu[] {
  const usable = commands.filter((c) => validName.test(c.name)).slice(0, 100);
  const everyone = usable.filter((c) => !c.admin).map(toBotCommand);
  const all = usable.map(toBotCommand);
  const menus: CommandMenu[] = [{ scope: { type: "default" }, commands: everyone }];
  if (all.length === everyone.length) return menus;
  for (const admin of audience.adminIds) {
    menus.push({ scope: { type: "chat", chat_id: Number(admin) }, commands: all });
  }
  const feed = audience.feedChatId;
  if (feed?.startsWith("-")) {
    for (const admin of audience.adminIds) {
      menus.push({ scope: { type: "chat_member", chat_id: Number(feed), user_id: Number(admin) }, commands: all });
    }
  }
  return menus;
}
