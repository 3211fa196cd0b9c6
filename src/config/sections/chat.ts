import { z } from "zod";
import { idList } from "./common.ts";

export const telegramSection = z
  .strictObject({
    feedChatId: z
      .string()
      .regex(/^-?\d+$/)
      .nullable()
      .default(null)
      .describe("TELEGRAM_FEED_CHAT_ID"),
    feedTopicId: z.number().int().positive().nullable().default(null).describe("TELEGRAM_FEED_TOPIC_ID"),
    topicName: z.string().min(1).max(128).default("Agent alerts"),
    apiRoot: z.string().url().nullable().default(null).describe("TELEGRAM_API_ROOT"),
    allowedUserIds: idList.default([]).describe("TELEGRAM_ALLOWED_USER_IDS"),
    adminIds: idList.default([]).describe("TELEGRAM_ADMIN_IDS"),
    maxMessagesPerMinute: z.number().int().positive().default(20),
  })
  .prefault({});

export const discordSection = z
  .strictObject({
    guildId: z.string().regex(/^\d+$/).nullable().default(null).describe("DISCORD_GUILD_ID"),
    feedChannelId: z.string().regex(/^\d+$/).nullable().default(null).describe("DISCORD_FEED_CHANNEL_ID"),
    apiBase: z.string().url().nullable().default(null).describe("DISCORD_API_BASE"),
    allowedUserIds: idList.default([]).describe("DISCORD_ALLOWED_USER_IDS"),
    adminUserIds: idList.default([]).describe("DISCORD_ADMIN_USER_IDS"),
    adminRoleIds: idList.default([]).describe("DISCORD_ADMIN_ROLE_IDS"),
  })
  .prefault({});

export const consoleSection = z
  .strictObject({
    prompt: z.enum(["auto", "never"]).default("auto").describe("auto = prompt for commands when stdin is a TTY"),
  })
  .prefault({});
