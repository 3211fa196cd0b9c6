import {
  type REST,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  Routes,
  SlashCommandBuilder,
  type SlashCommandIntegerOption,
  type SlashCommandStringOption,
} from "discord.js";
import type { CommandSpec, OptionSpec } from "../commands.ts";

export type SlashCommandJson = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `registerCommands` did: PUT the set, or found Discord already holding the same set. */
export type RegisterResult = "registered" | "unchanged";

/** Discord: command and option descriptions 1–100 characters, at most 25 choices. */
const maxDescription = 100;
const maxChoices = 25;

const describe = (text: string) => (text.length <= maxDescription ? text : `${text.slice(0, maxDescription - 1)}…`);

function configure<T extends SlashCommandStringOption | SlashCommandIntegerOption>(option: T, spec: OptionSpec): T {
  option
    .setName(spec.name)
    .setDescription(describe(spec.description))
    .setRequired(spec.required ?? false);
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

/** Values Discord leaves out or returns as null/false/[] when they are not set. */
const unset = (v: unknown) => v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0);

/**
 * Whether what Discord holds says everything `ours` says. Only the fields we send are compared:
 * Discord adds ids, versions and defaults (contexts, localizations), and omits `required` and
 * `autocomplete` when false, so unset values on either side are equal.
 */
export function covers(ours: unknown, theirs: unknown): boolean {
  if (unset(ours)) return unset(theirs);
  if (Array.isArray(ours)) {
    return Array.isArray(theirs) && ours.length === theirs.length && ours.every((v, i) => covers(v, theirs[i]));
  }
  if (typeof ours === "object") {
    if (typeof theirs !== "object" || theirs === null || Array.isArray(theirs)) return false;
    const other = theirs as Record<string, unknown>;
    return Object.entries(ours as Record<string, unknown>).every(([k, v]) => covers(v, other[k]));
  }
  return ours === theirs;
}

/** Whether Discord's list (GET …/commands, any order) is exactly our set of commands. */
export function sameCommands(ours: SlashCommandJson[], theirs: readonly Record<string, unknown>[]): boolean {
  if (ours.length !== theirs.length) return false;
  return ours.every((command) => {
    const held = theirs.find((t) => t.name === command.name);
    return held !== undefined && covers(JSON.parse(JSON.stringify(command)), held);
  });
}

/**
 * Registers the commands with one bulk-overwrite PUT: in the guild when `guildId` is set (visible
 * at once), else globally. First reads what Discord holds (GET) and skips the PUT when it is the
 * same set, because new commands count against Discord's 200-creates-a-day limit; a set Discord
 * lost (the bot was removed from the guild and invited again) is put back.
 */
export async function registerCommands(input: {
  rest: REST;
  applicationId: string;
  guildId: string | null;
  body: SlashCommandJson[];
}): Promise<RegisterResult> {
  const route = input.guildId ? Routes.applicationGuildCommands(input.applicationId, input.guildId) : Routes.applicationCommands(input.applicationId);
  const held = await heldCommands(input.rest, route);
  if (held && sameCommands(input.body, held)) return "unchanged";
  await input.rest.put(route, { body: input.body });
  return "registered";
}

/**
 * What Discord holds at a commands route; null when the server does not serve the GET (a 4xx other than
 * auth or rate limit: a minimal or proxied API), and then the PUT alone decides. Auth and rate-limit errors
 * are thrown: the PUT would meet them too.
 */
async function heldCommands(rest: REST, route: `/${string}`): Promise<Record<string, unknown>[] | null> {
  try {
    const held = await rest.get(route);
    return Array.isArray(held) ? (held as Record<string, unknown>[]) : null;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500 && ![401, 403, 429].includes(status)) return null;
    throw err;
  }
}

/**
 * With DISCORD_GUILD_ID set, a copy of the same commands registered globally by an earlier run
 * without it makes Discord list every command twice in that guild. Removes the global set, but
 * only when it is exactly ours (an application may have global commands of its own).
 */
export async function removeGlobalCopy(input: { rest: REST; applicationId: string; body: SlashCommandJson[] }): Promise<boolean> {
  const route = Routes.applicationCommands(input.applicationId);
  const held = (await input.rest.get(route)) as Record<string, unknown>[];
  if (held.length === 0 || !sameCommands(input.body, held)) return false;
  await input.rest.put(route, { body: [] });
  return true;
}
