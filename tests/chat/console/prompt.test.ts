import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleTransport } from "../../../src/chat/console/transport.ts";
import { createLogger } from "../../../src/lib/log.ts";
import { writeAbovePrompt } from "../../../src/lib/prompt-guard.ts";
import type { Inbound } from "../../../src/messages/transport.ts";
import { textView } from "../../../src/messages/view.ts";

/**
 * What a terminal shows after `raw`: lines as the person sees them. Handles what readline and the prompt
 * guard write: \n, \r, erase line (CSI 2K), erase to the end (CSI 0K), cursor to a column (CSI nG) and
 * cursor moves it uses while redrawing (CSI nC / nD), colours ignored.
 */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let line = "";
  let col = 0;
  const put = (ch: string) => {
    line = line.padEnd(col, " ");
    line = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === "\x1b") {
      const m = /^\x1b\[(\d*)([A-Za-z])/.exec(raw.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number(m[1] || "0");
      if (m[2] === "K" && n === 2) line = "";
      else if (m[2] === "K") line = line.slice(0, col);
      else if (m[2] === "G") col = Math.max(0, n - 1);
      else if (m[2] === "C") col += n || 1;
      else if (m[2] === "D") col = Math.max(0, col - (n || 1));
      continue;
    }
    if (ch === "\n") {
      lines.push(line);
      line = "";
      col = 0;
    } else if (ch === "\r") col = 0;
    else put(ch);
  }
  lines.push(line);
  return lines;
}

/** A terminal: stdout and stderr both write to it, and it is a TTY (readline echoes and redraws). */
function terminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const out = Object.assign(new PassThrough(), { isTTY: true, columns: 80, rows: 24 });
  let raw = "";
  out.on("data", (d) => (raw += d));
  const inbound: Inbound = {
    async command(_caller, name) {
      return textView(`answer to /${name}`);
    },
    async button() {
      return {};
    },
  };
  return { input, out, inbound, raw: () => raw };
}

const tick = () => new Promise((r) => setTimeout(r, 30));
const started: ConsoleTransport[] = [];
afterEach(async () => {
  for (const t of started.splice(0)) await t.stop();
});

describe("the console prompt and other output", () => {
  it("draws the prompt again, with what was typed, under a log line that arrives while typing", async () => {
    const t = terminal();
    const console = new ConsoleTransport({ in: t.input, out: t.out });
    started.push(console);
    await console.start(t.inbound);
    t.input.write("/sess");
    await tick();
    expect(screen(t.raw()).at(-1)).toBe("asm> /sess");
    const log = createLogger({ stream: t.out, level: "warn", pretty: "never" });
    log.warn("gateway slow");
    await tick();
    const lines = screen(t.raw());
    expect(lines.filter((l) => l.includes("gateway slow"))).toHaveLength(1);
    expect(lines.find((l) => l.includes("gateway slow"))).not.toContain("asm>");
    expect(lines.at(-1)).toBe("asm> /sess");
    t.input.write("ions\r");
    await tick();
    expect(screen(t.raw())).toContain("answer to /sessions");
    expect(screen(t.raw()).at(-1)).toBe("asm> ");
  });

  it("prints an alert above the prompt, and one prompt after a typed command's answer", async () => {
    const t = terminal();
    const console = new ConsoleTransport({ in: t.input, out: t.out });
    started.push(console);
    await console.start(t.inbound);
    await console.send(textView("gateway down", { tone: "critical" }));
    await tick();
    let lines = screen(t.raw());
    expect(lines.find((l) => l.includes("gateway down"))).toBe("[!!] gateway down");
    expect(lines.at(-1)).toBe("asm> ");
    t.input.write("/health\r");
    await tick();
    lines = screen(t.raw());
    expect(lines.at(-1)).toBe("asm> ");
    expect(
      lines.filter((l) => l.startsWith("asm> ")),
      "no prompt left half-drawn or doubled",
    ).toEqual(["asm> /health", "asm> "]);
  });

  it("puts the banner above a prompt that is already showing", async () => {
    const t = terminal();
    const console = new ConsoleTransport({ in: t.input, out: t.out });
    started.push(console);
    await console.start(t.inbound);
    writeAbovePrompt(t.out, "asm 1.2.3 running\n  database:   /x/asm.db\n");
    const lines = screen(t.raw());
    expect(lines).toEqual(["asm 1.2.3 running", "  database:   /x/asm.db", "asm> "]);
  });
});

describe("the log on a terminal", () => {
  const tty = () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true });
    let text = "";
    stream.on("data", (d) => (text += d));
    return { stream, text: () => text };
  };

  it("shows warnings and errors only, unless a level is set; a log file still gets info", async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "asm-log-tty-"));
    try {
      const quiet = tty();
      const file = join(dir, "asm.log");
      const log = createLogger({ stream: quiet.stream, file });
      log.info("cycle done");
      log.warn("outbox backlog");
      await tick();
      expect(quiet.text()).toContain("outbox backlog");
      expect(quiet.text()).not.toContain("cycle done");
      expect(readFileSync(file, "utf8")).toContain("cycle done");

      const chosen = tty();
      createLogger({ stream: chosen.stream, level: "info" }).info("cycle done");
      await tick();
      expect(chosen.text(), "log.level / ASM_LOG_LEVEL set: that level").toContain("cycle done");

      const piped = new PassThrough();
      let text = "";
      piped.on("data", (d) => (text += d));
      createLogger({ stream: piped }).info("cycle done");
      await tick();
      expect(text, "not a terminal (systemd, Docker): info").toContain("cycle done");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
