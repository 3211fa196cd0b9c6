import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import { setPromptGuard, writeAbovePrompt } from "../../lib/prompt-guard.ts";
import type { Inbound, MessageRef, ThreadPlace, ThreadRequest, Transport } from "../../messages/transport.ts";
import type { Button, View, ViewImage } from "../../messages/view.ts";
import { viewToText } from "../../messages/view.ts";
import { EditOrder } from "../edit-order.ts";

export interface ConsoleOptions {
  out?: NodeJS.WritableStream;
  in?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** auto = prompt only when stdin is a TTY; never = print only (Docker, CI, service managers). */
  prompt?: "auto" | "never";
  /** Who the person at the terminal is, for the audit trail. */
  user?: string;
  /**
   * Ctrl-C at the prompt. On a terminal readline reads the key itself, so no SIGINT reaches the
   * process unless we raise one (without this the first Ctrl-C only paused the prompt).
   */
  onInterrupt?: () => void;
  /** Where pictures that come with a view (a chart report) are written; default: a reports/ folder in the working directory. */
  imageDir?: string;
}

const toneMark = { critical: "!!", warning: "! ", info: "i ", ok: "ok" } as const;

/**
 * The default transport when no chat token is configured: alerts print to stdout as readable
 * blocks; on a TTY a prompt accepts the same slash commands as the chat platforms. Messages are numbered
 * `m12` (never `#12`, which is how actions and alerts are numbered) and their buttons `m12.1`, `m12.2`: typing
 * that presses the button on that message, so a press always names its target. The person at the terminal already has the machine, so
 * they are treated as an admin. A worker's messages are its "thread": each of their lines starts with the
 * worker id (`w3 │ …`), and `w3: <text>` is its next turn.
 */
export class ConsoleTransport implements Transport {
  readonly name = "console" as const;
  private readonly out: NodeJS.WritableStream;
  private readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  private rl: Interface | null = null;
  /** The prompt is on screen, waiting for typing (not while a typed command is being answered). */
  private promptShown = false;
  private nextId = 1;
  private nextImage = 1;
  private readonly messages = new Map<string, View>();
  /** Buttons by message number (`m12.1` is `pressable.get("12")[0]`). */
  private readonly pressable = new Map<string, { buttons: Button[]; ref: MessageRef }>();
  private inbound: Inbound | null = null;
  private busy: Promise<void> = Promise.resolve();
  private readonly order = new EditOrder();

  constructor(private readonly options: ConsoleOptions = {}) {
    this.out = options.out ?? process.stdout;
    this.input = options.in ?? process.stdin;
  }

  get interactive(): boolean {
    return (this.options.prompt ?? "auto") === "auto" && Boolean(this.input.isTTY);
  }

  async start(inbound: Inbound): Promise<void> {
    this.inbound = inbound;
    if (!this.interactive) return;
    this.rl = createInterface({ input: this.input, output: this.out, prompt: "asm> " });
    this.rl.on("SIGINT", this.options.onInterrupt ?? (() => process.kill(process.pid, "SIGINT")));
    this.rl.on("line", (line) => {
      this.promptShown = false;
      this.busy = this.busy.then(() => this.handleLine(line.trim())).then(() => this.showPrompt());
    });
    // Log lines and the banner arrive while the person types: they go above the prompt, which is drawn again.
    setPromptGuard({
      before: () => {
        if (!this.promptShown) return;
        clearLine(this.out, 0);
        cursorTo(this.out, 0);
      },
      after: () => {
        if (this.promptShown) this.rl?.prompt(true);
      },
    });
    const rl = this.rl;
    // Ctrl-D ends the input, not asm: say so, or the person is left at a prompt that no longer reads.
    rl.on("close", () => {
      if (this.rl !== rl) return;
      this.rl = null;
      this.promptShown = false;
      setPromptGuard(null);
      this.print("\ninput closed: no more commands here; alerts still print. Ctrl-C stops asm.");
    });
    this.showPrompt();
  }

  private showPrompt(): void {
    if (!this.rl) return;
    this.promptShown = true;
    this.rl.prompt();
  }

  async stop(): Promise<void> {
    const rl = this.rl;
    this.rl = null;
    if (rl) setPromptGuard(null);
    this.promptShown = false;
    rl?.close();
    await this.busy;
  }

  /** Runs one typed line: a slash command, or the number of a button shown earlier. */
  async handleLine(line: string): Promise<void> {
    if (!line || !this.inbound) return;
    const caller = { transport: "console" as const, userId: this.options.user ?? "console", allowed: true, admin: true, chatId: "console" };
    try {
      if (/^\d+$/.test(line)) {
        const latest = [...this.pressable.keys()].at(-1);
        const hint = latest ? `, e.g. m${latest}.1 for "${this.pressable.get(latest)!.buttons[0]!.label}" on m${latest}` : "";
        return this.print(`a button is pressed by its message and number: m<message>.<button>${hint}`);
      }
      const press = /^m(\d{1,9})\.(\d{1,2})$/i.exec(line);
      if (press) {
        const onMessage = this.pressable.get(press[1]!);
        const button = onMessage?.buttons[Number(press[2]) - 1];
        if (!onMessage || !button) return this.print(`no button ${line} (buttons are shown as [m12.1] under their message)`);
        const entry = { button, ref: onMessage.ref };
        const mark = this.order.mark();
        const outcome = await this.inbound.button(caller, entry.button.data, entry.ref);
        if (outcome.toast) this.print(`» ${entry.button.label} on m${entry.ref.messageId}: ${outcome.toast}`);
        // The core may have shown something newer on that message already (a fast action's result).
        if (outcome.edit && !this.order.editedSince(entry.ref, mark)) await this.edit(entry.ref, outcome.edit);
        if (outcome.reply) await this.reply(outcome.reply);
        return;
      }
      const turn = /^(w\d{1,9}):\s*(\S[\s\S]*)$/.exec(line);
      if (turn && this.inbound.text) {
        const answer = await this.inbound.text(caller, turn[2]!, { chatId: "console", threadId: turn[1]! });
        if (answer) this.render(answer, null, false, turn[1]);
        else this.print(`${turn[1]} has no messages here; /send ${turn[1]} <text> works for any worker`);
        return;
      }
      if (!line.startsWith("/")) return this.print('commands start with "/" — try /help');
      const [name = "", ...args] = line.slice(1).split(/\s+/);
      await this.reply(await this.inbound.command(caller, name.toLowerCase(), args));
    } catch (err) {
      this.print(`error: ${(err as Error).message}`);
    }
  }

  /** An answer to the person; one the core will edit later (it has a key) gets a number like a feed message. */
  private async reply(view: View): Promise<void> {
    // A plain answer needs no number, unless it has buttons: they are pressed by its number.
    if (!view.key && !view.buttons?.some((row) => row.length)) return this.render(view, null);
    const ref = await this.send(view);
    if (view.key) this.inbound?.delivered?.(view.key, ref);
  }

  async send(view: View, to?: { chatId: string; threadId?: string | undefined }): Promise<MessageRef> {
    const ref: MessageRef = { transport: "console", chatId: "console", messageId: String(this.nextId++), threadId: to?.threadId };
    this.messages.set(ref.messageId, view);
    this.render(view, ref, false, ref.threadId);
    return ref;
  }

  async edit(ref: MessageRef, view: View): Promise<void> {
    this.order.editing(ref);
    this.messages.set(ref.messageId, view);
    this.render(view, ref, true, ref.threadId);
  }

  /** A worker's "thread" on the console: its id in front of every line of its messages. */
  async openThread(request: ThreadRequest): Promise<ThreadPlace> {
    return { chatId: "console", threadId: request.tag };
  }

  private render(view: View, ref: MessageRef | null, edited = false, tag?: string): void {
    const mark = view.tone ? `[${toneMark[view.tone]}] ` : "";
    // 40 columns with the worker's prefix (`w3 │ `): a console read over SSH on a phone.
    const width = 40 - (tag ? tag.length + 3 : 0);
    const title = ref ? `── m${ref.messageId}${edited ? " (updated)" : ""} ` : "";
    const head = title + "─".repeat(Math.max(3, width - title.length));
    const lines = [head, `${mark}${viewToText(view)}`];
    if (view.image) lines.push(this.saveImage(view.image));
    const buttons = (view.buttons ?? []).flat();
    if (ref) {
      // An edit without buttons leaves none to press on that message.
      this.pressable.delete(ref.messageId);
      if (buttons.length) this.pressable.set(ref.messageId, { buttons, ref });
      if (this.pressable.size > 500) this.pressable.delete(this.pressable.keys().next().value!);
    }
    if (buttons.length && ref) {
      const labels = buttons.map((b, i) => `[m${ref.messageId}.${i + 1}] ${b.label}`);
      const oneLine = labels.join("   ");
      lines.push(...(oneLine.length <= width ? [oneLine] : labels));
    }
    const text = lines.join("\n");
    this.print(tag ? text.replace(/^/gm, `${tag} │ `) : text);
  }

  /**
   * A picture cannot be shown in a terminal: it is written to a file (a new name per message, so an earlier report is not
   * overwritten) and its path printed, or why not.
   */
  private saveImage(image: ViewImage): string {
    const dir = resolve(this.options.imageDir ?? "reports");
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    const path = join(dir, `${stamp}-${this.nextImage++}-${image.filename.replace(/[^A-Za-z0-9._-]/g, "_")}`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, image.png);
      return `picture (${image.width}×${image.height}, ${image.alt}): ${path}`;
    } catch (err) {
      return `picture not saved: cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
  }

  private print(text: string): void {
    writeAbovePrompt(this.out, `${text}\n`);
  }
}
