/**
 * Which files in an OpenClaw `agents/<id>/sessions/` folder are session transcripts.
 *
 * The folder holds more `.jsonl` files than transcripts. OpenClaw 2026.7.1 was seen writing a run
 * trajectory `<sessionId>.trajectory.jsonl` beside every transcript (plus a `.trajectory-path.json`
 * pointer). Its own sources also name compaction checkpoints `<sessionId>.checkpoint.<uuid>.jsonl`
 * and ACP stream logs `<sessionId>.acp-stream.jsonl`. None of them is a session of its own. Read as
 * transcripts, each would show up as an extra, empty, ended session.
 */

const SIDECAR_SUFFIXES = [".trajectory.jsonl", ".acp-stream.jsonl"];
const CHECKPOINT = /\.checkpoint\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$/i;

/** True for a file name that holds a session transcript (`<sessionId>.jsonl`, `<id>-topic-<t>.jsonl`). */
export function isTranscriptName(name: string): boolean {
  if (!name.endsWith(".jsonl")) return false;
  if (SIDECAR_SUFFIXES.some((s) => name.endsWith(s))) return false;
  return !CHECKPOINT.test(name);
}
