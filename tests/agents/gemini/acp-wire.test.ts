import { describe, expect, it } from "vitest";
import {
  permissionAction,
  permissionEvent,
  permissionOutcome,
  quotaModel,
  quotaUsage,
  rpcErrorMessage,
  rpcErrorReason,
  rpcErrorStatus,
  stopReasonError,
  updateEvents,
} from "../../../src/agents/gemini/acp-wire.ts";

// Gemini CLI 0.61.0's options on a shell permission request, as recorded (acp-tool-allow.exchange.jsonl).
const geminiOptions = [
  { optionId: "proceed_always", name: "Allow for this session", kind: "allow_always" as const },
  { optionId: "proceed_once", name: "Allow", kind: "allow_once" as const },
  { optionId: "cancel", name: "Reject", kind: "reject_once" as const },
];

describe("permissionOutcome", () => {
  it("picks by kind, never by position: allow once, reject once", () => {
    expect(permissionOutcome(geminiOptions, true)).toEqual({ outcome: "selected", optionId: "proceed_once" });
    expect(permissionOutcome(geminiOptions, false)).toEqual({ outcome: "selected", optionId: "cancel" });
    expect(permissionOutcome([...geminiOptions].reverse(), true)).toEqual({ outcome: "selected", optionId: "proceed_once" });
  });

  it("never widens an allow to 'always'; without allow_once the request is cancelled", () => {
    expect(permissionOutcome([geminiOptions[0]!, geminiOptions[2]!], true)).toEqual({ outcome: "cancelled" });
  });

  it("a deny falls back to reject_always, then to cancelled", () => {
    expect(permissionOutcome([{ optionId: "no", name: "Never", kind: "reject_always" }], false)).toEqual({ outcome: "selected", optionId: "no" });
    expect(permissionOutcome([], false)).toEqual({ outcome: "cancelled" });
  });
});

describe("permissionAction", () => {
  it("the shell tool: its title is the command line", () => {
    expect(permissionAction({ kind: "execute", title: "npm test", locations: [] })).toEqual({ kind: "command", command: "npm test" });
    expect(permissionAction({ kind: "execute", title: "" })).toEqual({ kind: "other" });
  });

  it("edits name their files from locations and diffs; reads and searches their paths", () => {
    expect(
      permissionAction({
        kind: "edit",
        title: "Writing to a.txt",
        locations: [{ path: "/w/a.txt" }],
        content: [
          { type: "diff", path: "/w/a.txt", oldText: null, newText: "x" },
          { type: "diff", path: "/w/b.txt", newText: "" },
        ],
      }),
    ).toEqual({ kind: "edit", paths: ["/w/a.txt", "/w/b.txt"] });
    expect(permissionAction({ kind: "delete", locations: [{ path: "/w/x" }] })).toEqual({ kind: "edit", paths: ["/w/x"] });
    expect(permissionAction({ kind: "read", locations: [{ path: "/etc/passwd" }] })).toEqual({ kind: "read", paths: ["/etc/passwd"] });
  });

  it("anything without paths, and fetch / MCP / other kinds, asks a person", () => {
    expect(permissionAction({ kind: "edit", locations: [] })).toEqual({ kind: "other" });
    expect(permissionAction({ kind: "fetch", title: "https://x", locations: [{ path: "/w" }] })).toEqual({ kind: "other" });
    expect(permissionAction({ kind: "other", title: "mcp tool" })).toEqual({ kind: "other" });
    expect(permissionAction({})).toEqual({ kind: "other" });
  });
});

describe("permissionEvent", () => {
  it("names the tool by its kind, the command as detail, the explanation as reason", () => {
    const ev = permissionEvent("0.abc", {
      sessionId: "s",
      options: geminiOptions,
      toolCall: {
        toolCallId: "run_shell_command_1",
        status: "pending",
        title: "echo hi > f",
        content: [{ type: "content", content: { type: "text", text: "[current working directory /w]" } }],
        locations: [],
        kind: "execute",
      },
    });
    expect(ev).toMatchObject({
      type: "permission",
      requestId: "0.abc",
      tool: "Shell",
      detail: "echo hi > f",
      reason: "[current working directory /w]",
      action: { kind: "command", command: "echo hi > f" },
    });
  });
});

describe("updateEvents", () => {
  it("message chunks are text deltas; thoughts and the command list are other", () => {
    const seen = new Set<string>();
    expect(updateEvents({ sessionUpdate: "agent_message_chunk", content: { type: "text", text: "Hi" } }, seen)).toEqual([
      { type: "text", text: "Hi", delta: true },
    ]);
    expect(updateEvents({ sessionUpdate: "agent_thought_chunk", content: { type: "text", text: "hmm" } }, seen)).toEqual([
      { type: "other", kind: "acp/agent_thought_chunk" },
    ]);
    expect(updateEvents({ sessionUpdate: "available_commands_update", availableCommands: [] }, seen)).toEqual([
      { type: "other", kind: "acp/available_commands_update" },
    ]);
  });

  it("a tool is reported once, from tool_call or (after a permission) from its first update", () => {
    const seen = new Set<string>();
    expect(updateEvents({ sessionUpdate: "tool_call", toolCallId: "t1", status: "in_progress", title: "README.md", kind: "read" }, seen)).toEqual([
      { type: "tool", name: "Read", detail: "README.md" },
    ]);
    expect(updateEvents({ sessionUpdate: "tool_call_update", toolCallId: "t1", status: "completed" }, seen)[0]?.type).toBe("other");
    expect(updateEvents({ sessionUpdate: "tool_call_update", toolCallId: "t2", status: "completed", title: "ls", kind: "execute" }, seen)).toEqual([
      { type: "tool", name: "Shell", detail: "ls" },
    ]);
  });

  it("the spec's usage_update is the context meter", () => {
    expect(updateEvents({ sessionUpdate: "usage_update", used: 1200, size: 1_000_000 }, new Set())).toEqual([
      { type: "usage", input: 0, output: 0, cacheRead: 0, cacheWrite: 0, contextTokens: 1200, contextWindow: 1_000_000 },
    ]);
  });
});

describe("quota usage (the prompt response's _meta)", () => {
  const one = { quota: { token_count: { input_tokens: 29554, output_tokens: 28 }, model_usage: [{ model: "gemini-3.8-flash", token_count: {} }] } };
  const routed = {
    quota: {
      token_count: { input_tokens: 59248, output_tokens: 60 },
      model_usage: [
        { model: "gemini-3.8-flash", token_count: {} },
        { model: "auto", token_count: {} },
      ],
    },
  };

  it("one call to one model: its input is the context now", () => {
    expect(quotaUsage(one, 0)).toEqual([{ type: "usage", input: 29554, output: 28, cacheRead: 0, cacheWrite: 0, contextTokens: 29554 }]);
    expect(quotaUsage(one, 1)[0]).toMatchObject({ contextTokens: null });
    expect(quotaUsage(routed, 0)[0]).toMatchObject({ input: 59248, contextTokens: null });
  });

  it("no tokens, no usage; the model is the one that is not the router alias", () => {
    expect(quotaUsage(undefined, 0)).toEqual([]);
    expect(quotaModel(routed)).toBe("gemini-3.8-flash");
    expect(quotaModel({ quota: { model_usage: [{ model: "a" }, { model: "b" }] } })).toBeNull();
  });
});

describe("stop reasons and JSON-RPC errors", () => {
  it("only end_turn and cancelled are clean ends", () => {
    expect(stopReasonError("end_turn")).toBeNull();
    expect(stopReasonError("cancelled")).toBeNull();
    expect(stopReasonError("max_tokens")?.reason).toBe("context_overflow");
    expect(stopReasonError("max_turn_requests")?.reason).toBe("error");
    expect(stopReasonError("refusal")?.message).toMatch(/refused/);
  });

  it("Gemini's HTTP status as the code, its JSON body unwrapped, ACP's -32000 as auth", () => {
    const e401 = {
      code: 401,
      message: '{"error":{"code":401,"message":"API key not valid. Please pass a valid API key.","status":"UNAUTHENTICATED"}}',
    };
    expect(rpcErrorMessage(e401)).toBe("API key not valid. Please pass a valid API key.");
    expect(rpcErrorReason(e401)).toBe("auth");
    expect(rpcErrorStatus(e401)).toBe(401);
    const e429 = { code: 429, message: "Resource has been exhausted (e.g. check quota)." };
    expect([rpcErrorReason(e429), rpcErrorStatus(e429)]).toEqual(["rate_limit", 429]);
    expect(rpcErrorReason({ code: -32000, message: "Gemini API key is missing or not configured." })).toBe("auth");
    expect(rpcErrorStatus({ code: -32603, message: "Internal error" })).toBeNull();
    expect(rpcErrorMessage({ code: -32603, message: "Internal error", data: { details: 'Invalid session identifier "x".' } })).toBe(
      'Internal error: Invalid session identifier "x".',
    );
  });
});
