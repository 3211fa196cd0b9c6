/** Secrets come only from the environment; they are never part of a config file or of `config check` output. */
export interface Secrets {
  telegramBotToken: string | null;
  discordToken: string | null;
}

const nonEmpty = (v: string | undefined) => (v && v.trim() !== "" ? v.trim() : null);

export function secretsFromEnv(env: Record<string, string | undefined>): Secrets {
  return {
    telegramBotToken: nonEmpty(env.TELEGRAM_BOT_TOKEN),
    discordToken: nonEmpty(env.DISCORD_TOKEN),
  };
}

/** Every secret value that is set, for log scrubbing. */
export function secretValues(secrets: Secrets): string[] {
  return Object.values(secrets).filter((v): v is string => typeof v === "string" && v.length >= 6);
}

/** Shows that a secret is set without showing it. */
export const mask = (value: string | null) => (value ? `set (${value.length} chars)` : "not set");
