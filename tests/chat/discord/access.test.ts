import { Collection } from "discord.js";
import { describe, expect, it } from "vitest";
import { discordCaller, memberRoleIds } from "../../../src/chat/discord/access.ts";
import { discordSection } from "../../../src/config/sections/chat.ts";

const config = discordSection.parse({ allowedUserIds: ["11"], adminUserIds: ["22"], adminRoleIds: ["900"] });

describe("Discord access", () => {
  it("reads role ids from a raw API member and from a cached GuildMember", () => {
    expect(memberRoleIds({ roles: ["900", "901"] })).toEqual(["900", "901"]);
    const cache = new Collection<string, unknown>([
      ["901", {}],
      ["900", {}],
    ]);
    expect(memberRoleIds({ roles: { cache } })).toEqual(["901", "900"]);
    expect(memberRoleIds(null)).toEqual([]);
    expect(memberRoleIds({ roles: undefined })).toEqual([]);
  });

  it("decides allowed and admin from the configured ids only", () => {
    const ask = (userId: string, roles: string[] | null) => discordCaller(config, { userId, member: roles ? { roles } : null, channelId: "5" });
    expect(ask("11", [])).toMatchObject({ transport: "discord", userId: "11", allowed: true, admin: false, chatId: "5" });
    expect(ask("22", null)).toMatchObject({ allowed: true, admin: true });
    expect(ask("33", ["900"])).toMatchObject({ allowed: true, admin: true });
    expect(ask("33", ["901"])).toMatchObject({ allowed: false, admin: false });
    // Outside a guild there are no roles: an admin role cannot be claimed in a DM.
    expect(ask("33", null)).toMatchObject({ allowed: false, admin: false });
    // A DM (no member) is the person's private chat with the bot; a guild channel is not.
    expect(ask("22", null).direct).toBe(true);
    expect(ask("11", []).direct).toBe(false);
  });
});
