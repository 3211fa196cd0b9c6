import type { MessageRef, Transport } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";

/** A transport that keeps what the core posts and edits (one feed chat, numbered messages), so a test can press the buttons it carried. */
export class Recorder implements Transport {
  readonly name = "telegram" as const;
  sent: { ref: MessageRef; view: View }[] = [];
  edits: { ref: MessageRef; view: View }[] = [];
  async start() {}
  async stop() {}
  async send(view: View) {
    const ref = { transport: this.name, chatId: "-100", messageId: String(this.sent.length + 1) };
    this.sent.push({ ref, view });
    return ref;
  }
  async edit(ref: MessageRef, view: View) {
    this.edits.push({ ref, view });
  }
}

/** A Discord-named transport that keeps only the views it was asked to post (what a monitor sent, in order). */
export class ViewRecorder implements Transport {
  readonly name = "discord" as const;
  readonly sent: View[] = [];
  async start() {}
  async stop() {}
  async send(view: View): Promise<MessageRef> {
    this.sent.push(view);
    return { transport: "discord", chatId: "1", messageId: String(this.sent.length) };
  }
  async edit() {}
}
