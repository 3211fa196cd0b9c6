import { describe, expect, it } from "vitest";
import { isTranscriptName } from "../../../src/agents/openclaw/transcript-names.ts";

describe("isTranscriptName", () => {
  it("accepts session and topic transcripts", () => {
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.jsonl")).toBe(true);
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd-topic-42.jsonl")).toBe(true);
    expect(isTranscriptName("my.session.v2.jsonl")).toBe(true);
  });

  it("rejects the sidecars OpenClaw writes beside them, and archives", () => {
    // seen beside every transcript written by OpenClaw 2026.7.1
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.trajectory.jsonl")).toBe(false);
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.trajectory-path.json")).toBe(false);
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.acp-stream.jsonl")).toBe(false);
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.checkpoint.0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0.jsonl")).toBe(false);
    expect(isTranscriptName("33ba00ec-52c7-444b-b099-2efe2a239fdd.jsonl.reset.2026-07-01T10-00-00.000Z")).toBe(false);
    expect(isTranscriptName("sessions.json")).toBe(false);
  });
});
