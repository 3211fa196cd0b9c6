/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: a tool
 * result can be megabytes, and a CLI printing garbage without newlines must not grow memory. An
 * oversized line is dropped whole and counted.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  /** Lines dropped for being over the limit. */
  oversized = 0;

  constructor(private readonly maxLineBytes = 16 * 1024 * 1024) {}

  /** Feeds a chunk; returns the whole lines it completed (without the newline). */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl));
      if (!this.skipping) out.push(Buffer.concat(this.parts, this.size).toString("utf8").replace(/\r$/, ""));
      this.parts = [];
      this.size = 0;
      this.skipping = false;
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
    return out.filter((l) => l.length > 0);
  }

  /** What is left when the stream ends (a last line without a newline). */
  end(): string[] {
    const rest = this.skipping || this.size === 0 ? [] : [Buffer.concat(this.parts, this.size).toString("utf8")];
    this.parts = [];
    this.size = 0;
    return rest.filter((l) => l.trim().length > 0);
  }

  private take(b: Buffer) {
    if (this.skipping || b.length === 0) return;
    if (this.size + b.length > this.maxLineBytes) {
      this.skipping = true;
      this.oversized++;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(b));
    this.size += b.length;
  }
}

/** Keeps the last `max` characters of a text stream (stderr, output). */
export class Tail {
  private text = "";
  constructor(private readonly max: number) {}
  push(s: string): void {
    this.text = (this.text + s).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}
