/**
 * Reading loosely shaped JSON (a CLI's stream line, a payload) without casts at every step: each accessor
 * answers the value when it has the expected type, else null.
 */

/** A JSON object as parsed. */
export type Json = Record<string, unknown>;

/** `v` when it is a plain object (not an array), else null. */
export const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);

/** `v` when it is a string (empty included), else null. */
export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** `v` when it is a non-empty string, else null. */
export const text = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** `v` when it is a finite number, else null. */
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** One line parsed as a JSON object, or null when it is not JSON or not an object. Never throws. */
export function parseObject(line: string): Json | null {
  try {
    return obj(JSON.parse(line));
  } catch {
    return null;
  }
}
