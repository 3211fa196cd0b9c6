import { randomBytes } from "node:crypto";
import { AttachmentBuilder, type ButtonInteraction, type InteractionReplyOptions, MessageFlags, type RawFile } from "discord.js";
import { DeliveryError } from "../../messages/transport.ts";
import type { View } from "../../messages/view.ts";
import { DiscordRenderError } from "./errors.ts";
import { type DiscordPayload, type PagerState, paginate, parsePagerId, renderPage } from "./render.ts";

const maxPagers = 500;
const pagerTtlMs = 24 * 3600_000;

/**
 * Views as Discord messages, long ones in pages: a view too long for one embed is shown one page at
 * a time with Prev/Next buttons, and the pages are kept here (the newest 500, for a day) so a press
 * can show another page. After that the buttons answer that the list has expired.
 *
 * ```ts
 * const pager = new Pager();
 * await client.rest.post(Routes.channelMessages(id), { body: pager.payload(view) });
 * await interaction.reply(pager.reply(view));   // ephemeral when the view is private
 * if (i.customId.startsWith(pagerPrefix)) await pager.turn(i);
 * ```
 */
export class Pager {
  private readonly pagers = new Map<string, { view: View; pages: string[]; at: number }>();

  /** A view as a message body; multi-page views get a pager that the Prev/Next buttons use. Throws `DeliveryError` for a view Discord cannot show. */
  payload(view: View): DiscordPayload {
    try {
      const pages = paginate(view);
      return renderPage(view, pages, pages.length > 1 ? this.remember(view, pages) : null);
    } catch (err) {
      if (err instanceof DiscordRenderError) {
        throw new DeliveryError(`discord cannot show this view: ${err.message}`, "discord", { permanent: true, cause: err });
      }
      throw err;
    }
  }

  /** discord.js's message options for a view (it wants `allowedMentions`, not `allowed_mentions`), with its picture attached. */
  message(view: View) {
    const { embeds, components } = this.payload(view);
    const files = view.image ? [new AttachmentBuilder(Buffer.from(view.image.png), { name: view.image.filename, description: view.image.alt })] : [];
    return { embeds, components, allowedMentions: { parse: [] as [] }, ...(files.length ? { files } : {}) };
  }

  /** The view's picture as a file for a REST post (multipart; the embed shows it as `attachment://<name>`), or none. */
  files(view: View): RawFile[] {
    return view.image ? [{ name: view.image.filename, data: Buffer.from(view.image.png), contentType: "image/png" }] : [];
  }

  /** A reply or follow-up: ephemeral when the view is private. */
  reply(view: View): InteractionReplyOptions {
    return { ...this.message(view), ...(view.private ? { flags: MessageFlags.Ephemeral } : {}) };
  }

  /** A Prev/Next press: shows the page asked for, or says the list has expired. */
  async turn(i: ButtonInteraction): Promise<void> {
    const target = parsePagerId(i.customId);
    const entry = target ? this.pagers.get(target.token) : undefined;
    if (!target || !entry) {
      await i.reply({ content: "This list has expired; run the command again.", flags: MessageFlags.Ephemeral });
      return;
    }
    const page = Math.min(target.page, entry.pages.length - 1);
    const { embeds, components } = renderPage(entry.view, entry.pages, { token: target.token, page, pages: entry.pages.length });
    await i.update({ embeds, components, allowedMentions: { parse: [] } });
  }

  private remember(view: View, pages: string[]): PagerState {
    const now = Date.now();
    for (const [token, entry] of this.pagers) {
      if (this.pagers.size < maxPagers && now - entry.at < pagerTtlMs) break;
      this.pagers.delete(token);
    }
    const token = randomBytes(6).toString("base64url");
    this.pagers.set(token, { view, pages, at: now });
    return { token, page: 0, pages: pages.length };
  }
}
