import type { OpencodeMessage } from "./messages.ts";

/**
 * Older OpenCode releases stored the AI SDK's usage as it came: `tokens.input` was the SDK's
 * `inputTokens`, which for every provider but Anthropic and Bedrock already contains the cached
 * tokens that `tokens.cache.read` reports again. Later releases subtract them, so that context is
 * always `input + cache.read + cache.write`.
 *
 * Seen in the real releases' code and files: 0.5.29, 1.0.0 and 1.0.61 store the raw figure; 1.0.98
 * and 1.1.x subtract (the change landed in between; no release of that range was available to
 * check, so those are read the newer way).
 */
const LAST_RAW: readonly [number, number, number] = [1, 0, 61];

/** Providers whose SDK reports `inputTokens` without the cached part, as OpenCode always assumed. */
const UNCACHED_INPUT_PROVIDER = /anthropic|bedrock/i;

/** True when a session written by this OpenCode `version` stored raw SDK input counts. */
export function storesRawInput(version: string | null | undefined): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) if (v[i] !== LAST_RAW[i]) return v[i]! < LAST_RAW[i]!;
  return true;
}

/**
 * One message of a raw-input release in today's terms: the cached tokens taken out of `input`.
 * Only when the provider is not an Anthropic-style one and the figures allow it (input that holds
 * the cache reads is at least as large as them); anything else is left as written.
 */
export function withoutCachedInput(m: OpencodeMessage): OpencodeMessage {
  if (m.role !== "assistant" || m.cacheRead <= 0 || m.input < m.cacheRead) return m;
  if (m.provider && UNCACHED_INPUT_PROVIDER.test(m.provider)) return m;
  return { ...m, input: m.input - m.cacheRead };
}
