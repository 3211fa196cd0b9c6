/** Output streams of a CLI command; tests pass their own. */
export interface CliIo {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export const print = (io: CliIo, text: string) => io.out.write(text.endsWith("\n") ? text : `${text}\n`);
export const printJson = (io: CliIo, value: unknown) => print(io, JSON.stringify(value, null, 2));

/** Fixed-width table for terminals; cells are cut to their column width. */
export function table(headers: string[], rows: string[][], maxWidths: number[] = []): string {
  const widths = headers.map((h, i) => Math.min(maxWidths[i] ?? 60, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const cell = (s: string, i: number) => {
    const w = widths[i]!;
    return (s.length > w ? `${s.slice(0, w - 1)}…` : s).padEnd(w);
  };
  return [headers, ...rows].map((r) => r.map(cell).join("  ").trimEnd()).join("\n");
}
