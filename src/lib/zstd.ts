import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { Decompress } from "fzstd";
import { type LineHandler, LineSplitter, MAX_LINE_BYTES } from "./jsonl-reader.ts";

/**
 * Streaming zstd decompression for the `.jsonl.zst` rollouts Codex leaves behind for idle sessions.
 * node:zlib's zstd is used when the runtime has it (Node ≥ 22.15); on Node 20 the pure-JS `fzstd`
 * streaming decoder is. Either way only a window and one chunk are in memory, never the whole file, and a
 * line longer than the cap is skipped and counted as it streams by (a few KB of zstd can hold a 3 GB line).
 */

/** The compressed file is damaged or not zstd; carries the path for the problem record. */
export class ZstdReadError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`cannot decompress ${path}: ${(cause as Error)?.message ?? cause}`);
    this.name = "ZstdReadError";
  }
}

export interface ZstdReadOutcome {
  /** Compressed bytes read from disk. */
  bytesRead: number;
  /** Decompressed bytes seen. */
  bytesOut: number;
  lineNo: number;
  /** Lines longer than the cap, skipped without being held. */
  oversized: number;
  /** Size of the largest line buffer used: bounded by the cap, whatever the file holds. */
  peakBuffer: number;
}

/** How to read: the line cap (`sources.maxLineBytes`) and, for tests, which decoder. */
export interface ZstdReadOptions {
  maxLineBytes?: number;
  /** Use node:zlib's decoder (default: when the runtime has it). */
  useNode?: boolean;
}

const CHUNK = 256 * 1024;

type ZstdFactory = () => NodeJS.ReadWriteStream;
const nodeZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

/** Which decoder this runtime uses ("node:zlib" or "fzstd"), for logs and tests. */
export const zstdDecoder = nodeZstd ? "node:zlib" : "fzstd";

/**
 * Decompresses `path` as a stream and hands every line (the last one even without a newline: a .zst file is
 * complete by construction) to `onLine`. Throws ZstdReadError for damaged data, the fs error for I/O.
 */
export async function readZstdLines(path: string, onLine: LineHandler, options: ZstdReadOptions = {}): Promise<ZstdReadOutcome> {
  const useNode = options.useNode ?? nodeZstd !== undefined;
  const splitter = new LineSplitter(onLine, 0, undefined, options.maxLineBytes ?? MAX_LINE_BYTES);
  let bytesOut = 0;
  const sink = (data: Uint8Array) => {
    bytesOut += data.length;
    splitter.push(data);
  };
  let bytesRead = 0;
  if (useNode && nodeZstd) {
    const input = createReadStream(path, { highWaterMark: CHUNK });
    input.on("data", (c) => {
      bytesRead += (c as Buffer).length;
    });
    try {
      // pipeline, not pipe: an error on either side (a vanished file, bad data) ends the read instead of hanging it.
      await pipeline(input, nodeZstd(), async (source: AsyncIterable<string | Buffer>) => {
        for await (const chunk of source) sink(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).syscall) throw err; // an fs error, not bad data
      throw new ZstdReadError(path, err);
    }
  } else {
    bytesRead = decodeSync(path, sink);
  }
  splitter.finish();
  splitter.release();
  return { bytesRead, bytesOut, lineNo: splitter.lineNo, oversized: splitter.oversized, peakBuffer: splitter.peakBuffer };
}

/** fzstd's streaming decoder over the file, one chunk at a time, into `sink`. Returns the compressed bytes read. */
function decodeSync(path: string, sink: (data: Uint8Array) => void): number {
  let bytesRead = 0;
  const fd = openSync(path, "r");
  try {
    const dec = new Decompress(sink);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, bytesRead);
      bytesRead += n;
      try {
        // fzstd may keep a reference to the chunk until the next push; hand it a copy.
        dec.push(n === 0 ? new Uint8Array(0) : Uint8Array.prototype.slice.call(buf, 0, n), n === 0);
      } catch (err) {
        throw new ZstdReadError(path, err);
      }
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  return bytesRead;
}

/**
 * `readZstdLines` for synchronous callers (the full-text transcript readers behind chat commands): always the
 * fzstd streaming decoder, the same line cap, never the whole file in memory.
 */
export function readZstdLinesSync(path: string, onLine: LineHandler, options: Pick<ZstdReadOptions, "maxLineBytes"> = {}): ZstdReadOutcome {
  const splitter = new LineSplitter(onLine, 0, undefined, options.maxLineBytes ?? MAX_LINE_BYTES);
  let bytesOut = 0;
  const bytesRead = decodeSync(path, (data) => {
    bytesOut += data.length;
    splitter.push(data);
  });
  splitter.finish();
  splitter.release();
  return { bytesRead, bytesOut, lineNo: splitter.lineNo, oversized: splitter.oversized, peakBuffer: splitter.peakBuffer };
}
