import { describe, expect, it } from "vitest";
import { restBase } from "../../../src/chat/discord/api-base.ts";

describe("restBase (DISCORD_API_BASE)", () => {
  it.each([
    ["https://discord.com/api", { api: "https://discord.com/api" }],
    ["http://127.0.0.1:8080/api/", { api: "http://127.0.0.1:8080/api" }],
    ["http://127.0.0.1:8080/api/v10", { api: "http://127.0.0.1:8080/api", version: "10" }],
    ["http://127.0.0.1:8080/api/v9/", { api: "http://127.0.0.1:8080/api", version: "9" }],
    ["http://127.0.0.1:8080", { api: "http://127.0.0.1:8080" }],
  ])("%s", (input, expected) => {
    expect(restBase(input)).toEqual(expected);
  });
});
