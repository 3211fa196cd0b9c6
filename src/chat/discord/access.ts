import type { Config } from "../../config/schema.ts";
import type { Caller } from "../../messages/transport.ts";

/** The parts of an interaction that decide who is asking. */
export interface Asker {
  userId: string;
  name?: string | undefined;
  /**
   * The member's role ids: a discord.js `GuildMember` when the guild is cached, else the raw API
   * member whose `roles` is a list of id strings; null outside a guild (DMs).
   */
  member: { roles: unknown } | null;
  channelId: string | null;
}

/** Role ids of a cached `GuildMember` (`roles.cache`) or of a raw API member (`roles: string[]`). */
export function memberRoleIds(member: Asker["member"]): string[] {
  if (!member) return [];
  const roles = member.roles as { cache?: Map<string, unknown> } | string[] | undefined;
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === "string");
  if (roles?.cache instanceof Map) return [...roles.cache.keys()];
  return [];
}

/**
 * Who this is, by the configured ids only (Discord's own permissions are hints, not access
 * control): an admin is in DISCORD_ADMIN_USER_IDS or holds a role in DISCORD_ADMIN_ROLE_IDS;
 * allowed = admin or in DISCORD_ALLOWED_USER_IDS. Roles count only inside a guild.
 */
export function discordCaller(config: Config["discord"], asker: Asker): Caller {
  const roles = memberRoleIds(asker.member);
  const admin = config.adminUserIds.includes(asker.userId) || roles.some((role) => config.adminRoleIds.includes(role));
  return {
    transport: "discord",
    userId: asker.userId,
    name: asker.name,
    allowed: admin || config.allowedUserIds.includes(asker.userId),
    admin,
    chatId: asker.channelId ?? undefined,
    // Outside a guild there is no member: the interaction came from a DM with the bot.
    direct: asker.member === null && asker.channelId !== null,
  };
}
