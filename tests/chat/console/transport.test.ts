import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConsoleTransport } from "../../../src/chat/console/transport.ts";
import type { Caller, Inbound, MessageRef } from "../../../src/messages/transport.ts";
import { textView } from "../../../src/messages/view.ts";

function setup(tty: boolean) {
  const input = Object.assign(new PassThrough(), { isTTY: tty });
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => (text += d));
  const calls: { kind: string; caller: Caller; value: string; args?: string[]; ref?: MessageRef | null }[] = [];
  const inbound: Inbound = {
    async command(caller, name, args) {
      calls.push({ kind: "command", caller, value: name, args });
      return textView(`answer to /${name} ${args.join(" ")}`, {
        buttons: [
          [
            { label: "Approve", data: "a:1:n:y" },
            { label: "Deny", data: "a:1:n:n" },
          ],
        ],
      });
    },
    async button(caller, data, ref) {
      calls.push({ kind: "button", caller, value: data, ref });
      return { toast: "approved", reply: textView("done") };
    },
  };
  const transport = new ConsoleTransport({ in: input, out });
  return { input, transport, inbound, calls, text: () => text };
}

const tick = () => new Promise((r) => setTimeout(r, 30));

describe("ConsoleTransport", () => {
  it("on a TTY, answers slash commands and presses numbered buttons as an admin", async () => {
    const t = setup(true);
    await t.transport.start(t.inbound);
    t.input.write("/Sessions claude all\n");
    await tick();
    expect(t.calls[0]).toMatchObject({ kind: "command", value: "sessions", args: ["claude", "all"] });
    expect(t.calls[0]!.caller).toMatchObject({ transport: "console", allowed: true, admin: true });
    expect(t.text()).toContain("answer to /sessions claude all");
    // Buttons are named by their message (m1), never a bare number that presses whatever came last.
    expect(t.text()).toContain("[m1.1] Approve");
    t.input.write("m1.2\n");
    await tick();
    expect(t.calls[1]).toMatchObject({ kind: "button", value: "a:1:n:n", ref: { messageId: "1" } });
    expect(t.text()).toContain("» Deny on m1: approved");
    t.input.write("2\n");
    t.input.write("m1.9\n");
    t.input.write("hello\n");
    await tick();
    expect(t.calls).toHaveLength(2);
    expect(t.text()).toContain('a button is pressed by its message and number: m<message>.<button>, e.g. m1.1 for "Approve" on m1');
    expect(t.text()).toContain("no button m1.9");
    expect(t.text()).toContain('commands start with "/"');
    await t.transport.stop();
    expect(t.text()).not.toContain("input closed");
  });

  it("reads at 40 columns: separators, a worker's prefixed lines and buttons that would not fit on one line", async () => {
    const t = setup(false);
    await t.transport.start(t.inbound);
    const place = await t.transport.openThread({ title: "w3 app: fix the test", tag: "w3" });
    const buttons = [
      [
        { label: "Save memory", data: "h:s:1" },
        { label: "Continue as a worker", data: "h:c:1" },
        { label: "Save memory & reset", data: "h:r:1" },
      ],
    ];
    const ref = await t.transport.send(textView("w3 completed", { buttons }), place);
    await t.transport.edit(ref, textView("w3 completed", { buttons }));
    await t.transport.send(textView("Context high"));
    const lines = t.text().split("\n").filter(Boolean);
    expect(lines.filter((l) => l.includes("──"))).toHaveLength(3);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(40);
    expect(lines).toContain(`w3 │ [m${ref.messageId}.2] Continue as a worker`);
    await t.transport.stop();
  });

  it("Ctrl-C at a terminal prompt stops asm like a SIGINT (readline would swallow it)", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
    out.resume();
    let interrupts = 0;
    const transport = new ConsoleTransport({ in: input, out, onInterrupt: () => interrupts++ });
    await transport.start(setup(true).inbound);
    input.write("\x03");
    await tick();
    expect(interrupts).toBe(1);
    await transport.stop();
  });

  it("end of input (Ctrl-D) says that asm keeps running and how to stop it", async () => {
    const t = setup(true);
    await t.transport.start(t.inbound);
    t.input.end();
    await tick();
    expect(t.text()).toContain("input closed: no more commands here; alerts still print. Ctrl-C stops asm.");
    await t.transport.stop();
    expect(t.text().match(/input closed/g)).toHaveLength(1);
  });

  it("without a TTY it prints alerts and never prompts", async () => {
    const t = setup(false);
    await t.transport.start(t.inbound);
    const ref = await t.transport.send({ title: "Context high", sections: [{ lines: ["claude 5f0c: 86%"] }], tone: "warning" });
    await t.transport.edit(ref, { title: "Resolved: Context high", sections: [{ lines: ["back to 40%"] }], tone: "ok" });
    t.input.write("/help\n");
    await tick();
    expect(t.calls).toHaveLength(0);
    expect(t.text()).not.toContain("asm> ");
    expect(t.text()).toContain("[! ] Context high");
    expect(t.text()).toMatch(/m1 \(updated\)/);
    await t.transport.stop();
  });
});
