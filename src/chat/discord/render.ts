import {
  ActionRowBuilder,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  embedLength,
} from "discord.js";
import type { Button, View, ViewSection } from "../../messages/view.ts";
import { DiscordRenderError } from "./errors.ts";

/** The JSON body of a message post or edit, as Discord's REST API takes it. */
export interface DiscordPayload {
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  /** Agent text may contain `@everyone`: nothing we post may ping anyone. */
  allowed_mentions: { parse: [] };
}

/** Where a paginated view's page buttons point: an in-memory token and the page shown. */
export interface PagerState {
  token: string;
  page: number;
  pages: number;
}

/** Discord's limits that the builders do not check for us (CHAT.md §3.2). */
export const limits = {
  title: 256,
  /** Below the 4096 description limit, so title + footer + description stay far under 6000. */
  pageChars: 3800,
  /** Lines of a preformatted section are grouped into code blocks of at most this size. */
  preBlockChars: 1500,
  embedsTotal: 6000,
  customId: 100,
  buttonLabel: 80,
  buttonsPerRow: 5,
  rows: 5,
} as const;

/** Severity colours, the same meaning as the Telegram markers. */
export const toneColors: Record<NonNullable<View["tone"]>, number> = {
  critical: 0xd83c3e,
  warning: 0xf0a020,
  info: 0x3b82f6,
  ok: 0x2ea043,
};

/** Page buttons carry this prefix; the transport answers them itself. */
export const pagerPrefix = "asm:pg:";

const styles: Record<NonNullable<Button["style"]>, ButtonStyle> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
};

/**
 * Agent text is not markup: backslash-escape what Discord's markdown reacts to (emphasis, code,
 * spoilers, masked links, `<@…>`/`<t:…>` tags anywhere; headings, quotes and lists at a line's
 * start). Discord drops a backslash before any punctuation, so the text reads as written. One pass
 * per line, about 50× cheaper than discord.js's contextual `escapeMarkdown` on long lists.
 */
export const escapeText = (text: string) =>
  text
    .replace(/[\\*_~`|<[\]]/g, "\\$&")
    .replace(/^(\s*)([#>-])/, "$1\\$2")
    .replace(/^(\s*\d+)\./, "$1\\.");

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A code block whose content cannot close it early. */
const codeBlock = (lines: string[]) => `\`\`\`\n${lines.map((l) => l.replaceAll("```", "`\u200b``")).join("\n")}\n\`\`\``;

/** A section as pieces that may be split across pages: heading, then lines or code blocks. */
function sectionPieces(section: ViewSection): string[] {
  const pieces: string[] = [];
  if (section.heading) pieces.push(`**${escapeText(clip(section.heading, 200))}**`);
  if (!section.pre) {
    for (const line of section.lines) pieces.push(clip(escapeText(line), limits.pageChars));
    return pieces;
  }
  let block: string[] = [];
  let size = 0;
  for (const raw of section.lines) {
    const line = clip(raw, limits.preBlockChars - 10);
    if (block.length && size + line.length + 1 > limits.preBlockChars - 10) {
      pieces.push(codeBlock(block));
      block = [];
      size = 0;
    }
    block.push(line);
    size += line.length + 1;
  }
  if (block.length) pieces.push(codeBlock(block));
  return pieces;
}

/**
 * Splits a view's text into embed descriptions of at most `limits.pageChars` each: sections are
 * separated by a blank line, ordinary lines are markdown-escaped (agent text is not markup), and
 * preformatted sections become code blocks that never straddle a page.
 */
export function paginate(view: View): string[] {
  const pages: string[] = [];
  let current = "";
  for (const section of view.sections) {
    sectionPieces(section).forEach((piece, i) => {
      const joiner = current === "" ? "" : i === 0 ? "\n\n" : "\n";
      if (current !== "" && current.length + joiner.length + piece.length > limits.pageChars) {
        pages.push(current);
        current = piece;
      } else {
        current += joiner + piece;
      }
    });
  }
  if (current !== "" || pages.length === 0) pages.push(current);
  return pages;
}

function viewButtons(view: View): ButtonBuilder[][] {
  // Discord answers 400 Invalid Form Body for a message whose components repeat a custom id.
  const ids = (view.buttons ?? []).flat().map((b) => b.data);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) throw new DiscordRenderError("two buttons carry the same data; Discord wants them unique per message", { data: repeated });
  return (view.buttons ?? [])
    .filter((row) => row.length > 0)
    .map((row) => {
      if (row.length > limits.buttonsPerRow) {
        throw new DiscordRenderError(`a row has ${row.length} buttons; Discord allows ${limits.buttonsPerRow}`);
      }
      return row.map((b) => {
        if (!/^[\x21-\x7e]{1,100}$/.test(b.data) || b.data.startsWith(pagerPrefix)) {
          throw new DiscordRenderError("button data must be 1–100 printable ASCII characters", { data: b.data });
        }
        return new ButtonBuilder()
          .setCustomId(b.data)
          .setLabel(clip(b.label, limits.buttonLabel))
          .setStyle(styles[b.style ?? "secondary"]);
      });
    });
}

function pagerRow(pager: PagerState): ButtonBuilder[] {
  const target = (page: number, dir: string) => `${pagerPrefix}${pager.token}:${page}:${dir}`;
  return [
    new ButtonBuilder()
      .setCustomId(target(Math.max(0, pager.page - 1), "p"))
      .setLabel("◀ Prev")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(pager.page === 0),
    new ButtonBuilder()
      .setCustomId(target(Math.min(pager.pages - 1, pager.page + 1), "n"))
      .setLabel("Next ▶")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(pager.page >= pager.pages - 1),
  ];
}

/**
 * One page of a view as a message body: an embed coloured by tone (title, the page's text, "Page
 * i/n" footer), the view's buttons on every page, and Prev/Next when there is more than one page.
 * An empty `components` list on an edit removes the buttons (after an approval decision).
 */
export function renderPage(view: View, pages: string[], pager: PagerState | null): DiscordPayload {
  const page = pager?.page ?? 0;
  const embed = new EmbedBuilder();
  if (view.title) embed.setTitle(clip(view.title, limits.title));
  const text = pages[page] ?? "";
  if (text !== "") embed.setDescription(text);
  else if (!view.title) embed.setDescription("—");
  if (view.tone) embed.setColor(toneColors[view.tone]);
  // The picture is uploaded with the message (see `Pager.files`); the embed shows it by its file name.
  if (view.image) embed.setImage(`attachment://${view.image.filename}`);
  if (pages.length > 1) embed.setFooter({ text: `Page ${page + 1}/${pages.length}` });
  const json = embed.toJSON();
  if (embedLength(json) > limits.embedsTotal) {
    throw new DiscordRenderError(`an embed of ${embedLength(json)} characters is over Discord's 6000`);
  }
  const rows = viewButtons(view);
  if (pager && pages.length > 1) rows.push(pagerRow(pager));
  if (rows.length > limits.rows) throw new DiscordRenderError(`${rows.length} button rows; Discord allows ${limits.rows}`);
  return {
    embeds: [json],
    components: rows.map((row) => new ActionRowBuilder<ButtonBuilder>().addComponents(row).toJSON()),
    allowed_mentions: { parse: [] },
  };
}

/** Reads a page button's custom id: the pager token and the page it asks for. */
export function parsePagerId(customId: string): { token: string; page: number } | null {
  const m = customId.slice(pagerPrefix.length).match(/^([A-Za-z0-9_-]{1,40}):(\d{1,4}):[pn]$/);
  if (!customId.startsWith(pagerPrefix) || !m) return null;
  return { token: m[1]!, page: Number(m[2]) };
}
