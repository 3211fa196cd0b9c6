/** `@discordjs/rest`'s `api` and `version` options, as `DISCORD_API_BASE` asks for them. */
export interface RestBase {
  api: string;
  version?: string;
}

/**
 * discord.js requests `<api>/v<version>/<route>`, so `DISCORD_API_BASE` is the part before the version
 * (`https://discord.com/api`). A base given with the version on it (`…/api/v10`, as Discord's docs
 * write URLs) or with a trailing slash would otherwise double the version or the slash: both are taken
 * apart here.
 */
export function restBase(apiBase: string): RestBase {
  const trimmed = apiBase.replace(/\/+$/, "");
  const versioned = /^(.*)\/v(\d+)$/.exec(trimmed);
  return versioned ? { api: versioned[1]!, version: versioned[2]! } : { api: trimmed };
}
