import { describe, expect, it } from "vitest";
import { telegramCaller } from "../../../src/chat/telegram/access.ts";

const access = { allowedUserIds: ["10"], adminIds: ["20"] };

describe("telegramCaller", () => {
  it("allows listed users by numeric id and treats admins as allowed", () => {
    expect(telegramCaller({ from: { id: 10, username: "ann" }, chatId: -5 }, access)).toMatchObject({
      userId: "10",
      name: "@ann",
      allowed: true,
      admin: false,
      chatId: "-5",
    });
    expect(telegramCaller({ from: { id: 20, first_name: "Bo" } }, access)).toMatchObject({ allowed: true, admin: true, name: "Bo" });
    expect(telegramCaller({ from: { id: 30 } }, access)).toMatchObject({ allowed: false, admin: false });
    // A private chat's id is the user's id: that is the person's private chat with the bot; a group is not.
    expect(telegramCaller({ from: { id: 20 }, chatId: 20 }, access).direct).toBe(true);
    expect(telegramCaller({ from: { id: 20 }, chatId: -100123 }, access).direct).toBe(false);
  });

  it("treats messages sent on behalf of a chat (anonymous admins) as strangers", () => {
    const caller = telegramCaller({ from: { id: 20 }, sender_chat: { id: -100 } }, access);
    expect(caller).toMatchObject({ allowed: false, admin: false, userId: "chat:-100" });
    expect(telegramCaller({}, access)).toMatchObject({ allowed: false, admin: false });
  });
});
