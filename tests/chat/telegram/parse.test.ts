import { describe, expect, it } from "vitest";
import { commandMenus } from "../../../src/chat/telegram/menu.ts";
import { parseCommand } from "../../../src/chat/telegram/parse.ts";

describe("parseCommand", () => {
  it("reads /cmd, /cmd@ThisBot and arguments, and skips other bots' commands", () => {
    expect(parseCommand("/Sessions claude  all", "asm_bot")).toEqual({ name: "sessions", args: ["claude", "all"], mentioned: false });
    expect(parseCommand("/sessions@ASM_Bot", "asm_bot")).toEqual({ name: "sessions", args: [], mentioned: true });
    expect(parseCommand("/sessions@other_bot", "asm_bot")).toBeNull();
    expect(parseCommand("hello /sessions", "asm_bot")).toBeNull();
    expect(parseCommand("/sessions-x", "asm_bot")).toBeNull();
  });
});

describe("commandMenus", () => {
  const commands = [
    { name: "sessions", description: "List sessions" },
    { name: "restart_gateway", description: "Restart", admin: true },
    { name: "Bad-Name", description: "not a Telegram command" },
  ];
  it("shows everyone the non-admin commands and admins all of them, in their DM and in the feed group", () => {
    const menus = commandMenus(commands, { feedChatId: "-1001", adminIds: ["7"] });
    expect(menus).toEqual([
      { scope: { type: "default" }, commands: [{ command: "sessions", description: "List sessions" }] },
      {
        scope: { type: "chat", chat_id: 7 },
        commands: [expect.objectContaining({ command: "sessions" }), expect.objectContaining({ command: "restart_gateway" })],
      },
      { scope: { type: "chat_member", chat_id: -1001, user_id: 7 }, commands: expect.any(Array) },
    ]);
  });
});
