import { describe, expect, it } from "vitest";
import { commands } from "../../../src/chat/commands.ts";
import { buildSlashCommands, sameCommands } from "../../../src/chat/discord/commands.ts";

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

  it("recognises its own set in what Discord returns (ids, defaults and left-out false flags added), and any change", () => {
    const body = buildSlashCommands(commands);
    // Discord's GET: extra fields, `required`/`autocomplete` omitted when false, no `options` when empty, any order.
    const held = body
      .map((c) => {
        const options = (c.options ?? []).map((o) => {
          const { required, ...rest } = o as { required?: boolean };
          return { ...rest, ...(required ? { required } : {}), name_localizations: null };
        });
        return {
          ...c,
          id: "1",
          application_id: "2",
          version: "3",
          default_member_permissions: null,
          contexts: null,
          ...(options.length ? { options } : { options: undefined }),
        };
      })
      .reverse();
    expect(sameCommands(body, held)).toBe(true);
    expect(sameCommands(body, held.slice(1))).toBe(false);
    expect(
      sameCommands(
        body,
        held.map((c, i) => (i === 0 ? { ...c, description: `${c.description}!` } : c)),
      ),
    ).toBe(false);
    const withOptions = held.findIndex((c) => (c.options?.length ?? 0) > 1);
    const swapped = held.map((c, i) => (i === withOptions ? { ...c, options: [...c.options!].reverse() } : c));
    expect(sameCommands(body, swapped)).toBe(false);
  });
});
