import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Writable } from "node:stream";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { writeAbovePrompt } from "./prompt-guard.ts";

export type { Logger };

export interface LoggerOptions {
  /**
   * The level everywhere. Unset: `info`, except on a terminal, which shows `warn` and above so a line a
   * minute does not interleave with typing at the console prompt (the file, when set, still gets `info`).
   */
  level?: string | null;
  /** auto = readable when the stream is a TTY. */
  pretty?: "auto" | "always" | "never";
  /** Secret values to scrub from every line, whatever key or string they hide in. */
  secrets?: string[];
  /** Also append JSON lines here. */
  file?: string | null;
  /** Where to write (default stderr, so stdout stays clean for `--json` output and the console feed). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Key paths that hold secrets anywhere we might log them. */
export const redactPaths = [
  "token",
  "*.token",
  "*.*.token",
  "botToken",
  "*.botToken",
  "telegramBotToken",
  "*.telegramBotToken",
  "discordToken",
  "*.discordToken",
  "secrets",
  "*.secrets",
  "headers.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "req.headers.authorization",
  "authorization",
  "*.authorization",
];

/** Bot API URLs carry the token (`/bot123:abc/`); Discord interaction URLs carry interaction tokens. */
const tokenPatterns: RegExp[] = [/bot\d+:[A-Za-z0-9_-]{20,}/g, /\/interactions\/\d+\/[A-Za-z0-9._-]{20,}/g, /\/webhooks\/\d+\/[A-Za-z0-9._-]{20,}/g];

/** Removes secret values and token-shaped strings from a serialized log line. */
export function scrub(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join("[Redacted]");
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.split(escaped).join("[Redacted]");
  }
  for (const pattern of tokenPatterns) out = out.replace(pattern, "[Redacted]");
  return out;
}

/**
 * The process logger: pino, JSON lines by default, readable on a TTY. Redaction is two-layered:
 * `redact` removes known secret keys, and a write hook scrubs secret values from the final line,
 * because pino's redaction does not look inside strings (an HttpError message can carry a bot URL).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const secrets = options.secrets ?? [];
  const mode = options.pretty ?? "auto";
  const tty = Boolean(stream.isTTY);
  const readable = mode === "always" || (mode === "auto" && tty);
  // On a terminal the console prompt may be showing: lines go above it (see prompt-guard.ts).
  const target = tty
    ? new Writable({
        write(chunk, _enc, done) {
          writeAbovePrompt(stream, chunk);
          done();
        },
      })
    : stream;
  const main: DestinationStream = readable
    ? pretty({ destination: target, colorize: tty, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname" })
    : (target as DestinationStream);
  const level = options.level ?? (tty ? "warn" : "info");
  const fileLevel = options.level ?? "info";
  const streams: pino.StreamEntry[] = [{ stream: main, level: level as pino.Level }];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({ stream: createWriteStream(options.file, { flags: "a" }), level: fileLevel as pino.Level });
  }
  const verbose = pino.levels.values[fileLevel]! < pino.levels.values[level]! && options.file ? fileLevel : level;
  return pino(
    {
      level: verbose,
      base: undefined,
      redact: { paths: redactPaths, censor: "[Redacted]" },
      hooks: { streamWrite: (line) => scrub(line, secrets) },
    },
    streams.length === 1 ? main : pino.multistream(streams),
  );
}
