/** A slash command as typed in Telegram: `/name@BotName arg1 arg2`. */
export interface ParsedCommand {
  /** Lowercased, without the slash and the bot mention. */
  name: string;
  args: string[];
  /** The command named a bot explicitly (`/cmd@BotName`). */
  mentioned: boolean;
}

/**
 * Parses a command message. Returns null for text that is not a command, or a command addressed to
 * another bot (`/start@OtherBot` in a group with several bots). Bot usernames compare
 * case-insensitively, as Telegram treats them.
 */
export function parseCommand(text: string, botUsername: string): ParsedCommand | null {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)/.exec(text);
  if (!match) return null;
  const [whole, name = "", target] = match;
  if (target && target.toLowerCase() !== botUsername.toLowerCase()) return null;
  const rest = text.slice(whole.length).trim();
  return { name: name.toLowerCase(), args: rest ? rest.split(/\s+/) : [], mentioned: Boolean(target) };
}
