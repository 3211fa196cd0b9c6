import { createHash } from "node:crypto";
import {
  type REST,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  Routes,
  SlashCommandBuilder,
  type SlashCommandIntegerOption,
  type SlashCommandStringOption,
} from "discord.js";
import type { KvStore } from "../../store/kv.ts";
import type { CommandSpec, OptionSpec } from "../commands.ts";

export type SlashCommandJson = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `registerCommands` did: PUT the set, or found it identical to the last one it PUT. */
export type RegisterResult = "registered" | "unchanged";

/** Discord: command and option descriptions 1–100 characters, at most 25 choices. */
const maxDescription = 100;
const maxChoices = 25;

const describe = (text: string) => (text.length <= maxDescription ? text : `${text.slice(0, maxDescription - 1)}…`);

function configure<T extends SlashCommandStringOption | SlashCommandIntegerOption>(option: T, spec: OptionSpec): T {
  option.setName(spec.name).setDescription(describe(spec.description)).setRequired(spec.required ?? false);
  // Discord rejects an option that has both choices and autocomplete; a fixed list wins.
  if (spec.choices?.length && spec.choices.length <= maxChoices) return option;
  if (spec.autocomplete) option.setAutocomplete(true);
  return option;
}

/**
 * The slash commands for Discord, built with discord.js's builders from the one command list the
 * core defines (names, descriptions, options, choices). Fixed choices become Discord choices;
 * `autocomplete: "session"` options ask us for suggestions while the user types. Discord wants
 * required options first; the transport maps answers back to the list's order by name.
 */
export function buildSlashCommands(specs: readonly CommandSpec[]): SlashCommandJson[] {
  return specs.map((spec) => {
    const builder = new SlashCommandBuilder().setName(spec.name).setDescription(describe(spec.description));
    const ordered = [...spec.options.filter((o) => o.required), ...spec.options.filter((o) => !o.required)];
    for (const opt of ordered) {
      const useChoices = Boolean(opt.choices?.length) && opt.choices!.length <= maxChoices;
      if (opt.type === "integer") {
        builder.addIntegerOption((o) => {
          configure(o, opt);
          if (useChoices) o.addChoices(...opt.choices!.map((c) => ({ name: c, value: Number(c) })));
          return o;
        });
      } else {
        builder.addStringOption((o) => {
          configure(o, opt);
          if (useChoices) o.addChoices(...opt.choices!.map((c) => ({ name: c, value: c })));
          return o;
        });
      }
    }
    return builder.toJSON();
  });
}

/** The kv key remembering what was last registered for an application in a guild (or globally). */
export const commandsKvKey = (applicationId: string, guildId: string | null) =>
  `discord.commands.${applicationId}.${guildId ?? "global"}`;

export const commandsHash = (body: SlashCommandJson[]) => createHash("sha256").update(JSON.stringify(body)).digest("hex");

/**
 * Registers the commands with one bulk-overwrite PUT: in the guild when `guildId` is set (visible
 * at once), else globally. Skipped when the same set was registered before, because new commands
 * count against Discord's 200-creates-a-day limit; the hash is stored in kv only after a success.
 */
export async function registerCommands(input: {
  rest: REST;
  applicationId: string;
  guildId: string | null;
  body: SlashCommandJson[];
  kv: KvStore;
}): Promise<RegisterResult> {
  const key = commandsKvKey(input.applicationId, input.guildId);
  const hash = commandsHash(input.body);
  if (input.kv.get<string>(key) === hash) return "unchanged";
  const route = input.guildId
    ? Routes.applicationGuildCommands(input.applicationId, input.guildId)
    : Routes.applicationCommands(input.applicationId);
  await input.rest.put(route, { body: input.body });
  input.kv.set(key, hash);
  return "registered";
}
