import type { Config } from "./schema.ts";
import { mask, type Secrets } from "./secrets.ts";

/** The effective config as `asm config check` prints it: secrets shown only as set/unset. */
export function maskedConfig(config: Config, secrets: Secrets) {
  return {
    ...config,
    secrets: { TELEGRAM_BOT_TOKEN: mask(secrets.telegramBotToken), DISCORD_TOKEN: mask(secrets.discordToken) },
  };
}
