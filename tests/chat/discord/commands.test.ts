import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../../src/chat/commands.ts";
import { buildSlashCommands, commandsHash, commandsKvKey } from "../../../src/chat/discord/commands.ts";
import { openStore } from "../../../src/store/db.ts";
import { KvStore } from "../../../src/store/kv.ts";
import { tempDir } from "../../helpers/tmp.ts";

describe("Discord slash commands from the core's command list", () => {
  it("builds one valid command per entry, with choices, autocomplete and required options first", () => {
    const body = buildSlashCommands(commands);
    expect(body.map((c) => c.name)).toEqual(commands.map((c) => c.name));
    for (const [i, cmd] of body.entries()) {
      const spec = commands[i]!;
      expect(cmd.description.length).toBeLessThanOrEqual(100);
      expect(cmd.description.length).toBeGreaterThan(0);
      const options = (cmd.options ?? []) as { name: string; required?: boolean; choices?: unknown[]; autocomplete?: boolean }[];
      expect(options.map((o) => o.name).sort()).toEqual(spec.options.map((o) => o.name).sort());
      const firstOptional = options.findIndex((o) => !o.required);
      if (firstOptional >= 0) expect(options.slice(firstOptional).every((o) => !o.required)).toBe(true);
      for (const o of options) expect(Boolean(o.choices?.length) && Boolean(o.autocomplete)).toBe(false);
    }
    const sessions = body.find((c) => c.name === "sessions")!;
    const platform = (sessions.options as { name: string; choices: { value: string }[] }[]).find((o) => o.name === "platform")!;
    expect(platform.choices.map((c) => c.value)).toContain("claude");
    const reset = body.find((c) => c.name === "reset_session")!;
    expect(reset.options![0]).toMatchObject({ name: "id", required: true, autocomplete: true });
  });

  it("clips long descriptions and drops choice lists Discord would reject", () => {
    const [cmd] = buildSlashCommands([
      {
        name: "x",
        description: "d".repeat(300),
        usage: "/x",
        options: [{ name: "n", description: "o".repeat(150), type: "integer", choices: Array.from({ length: 30 }, (_, i) => String(i)) }],
      },
    ]);
    expect(cmd!.description).toHaveLength(100);
    expect((cmd!.options![0] as { description: string; choices?: unknown }).description).toHaveLength(100);
    expect((cmd!.options![0] as { choices?: unknown }).choices).toBeUndefined();
  });

  it("remembers the registered set per application and scope by hash", () => {
    const kv = new KvStore(openStore(join(tempDir(), "asm.db")));
    const body = buildSlashCommands(commands);
    expect(commandsHash(body)).toBe(commandsHash(buildSlashCommands(commands)));
    expect(commandsHash(body)).not.toBe(commandsHash(body.slice(1)));
    expect(commandsKvKey("1", null)).not.toBe(commandsKvKey("1", "2"));
    kv.set(commandsKvKey("1", "2"), commandsHash(body));
    expect(kv.get(commandsKvKey("1", "2"))).toBe(commandsHash(body));
  });
});
