import { writeFileSync } from "node:fs";

/**
 * Writes a valid zstd frame made of raw and RLE blocks only (RFC 8878 §3.1.1), so a test can build a tiny
 * `.jsonl.zst` holding a line of any length at test time: a run of one byte is an RLE block of 4 bytes per
 * 128 KiB, so 64 MiB of "x" is 2 KiB on disk. No compressor is needed (fzstd, the decoder on Node 20, only
 * decompresses); the project's own decoder reads it back.
 */

/** A piece of the decompressed content: literal bytes, or one byte repeated `count` times. */
export type FramePart = Uint8Array | string | { byte: number; count: number };

const MAX_BLOCK = 128 * 1024;
/** Window_Descriptor for a 128 KiB window: exponent 7 (windowLog 17), mantissa 0. */
const WINDOW_DESCRIPTOR = 7 << 3;

function blockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const v = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
}

/** The frame's bytes for `parts`, in order. */
export function zstdFrame(parts: FramePart[]): Buffer {
  const blocks: Array<{ type: 0 | 1; size: number; body: Buffer }> = [];
  for (const part of parts) {
    if (typeof part === "object" && "byte" in part) {
      for (let left = part.count; left > 0; left -= MAX_BLOCK) {
        blocks.push({ type: 1, size: Math.min(left, MAX_BLOCK), body: Buffer.from([part.byte]) });
      }
    } else {
      const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part);
      for (let at = 0; at < bytes.length; at += MAX_BLOCK) {
        const body = bytes.subarray(at, at + MAX_BLOCK);
        blocks.push({ type: 0, size: body.length, body });
      }
    }
  }
  if (blocks.length === 0) blocks.push({ type: 0, size: 0, body: Buffer.alloc(0) });
  const out: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, WINDOW_DESCRIPTOR])];
  blocks.forEach((b, i) => {
    out.push(blockHeader(i === blocks.length - 1, b.type, b.size), b.body);
  });
  return Buffer.concat(out);
}

/** Writes `zstdFrame(parts)` to `path`; returns its size on disk. */
export function writeZstdFrame(path: string, parts: FramePart[]): number {
  const frame = zstdFrame(parts);
  writeFileSync(path, frame);
  return frame.length;
}
