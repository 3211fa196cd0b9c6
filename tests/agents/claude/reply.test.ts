import { describe, expect, it } from "vitest";
import { claudeDriver } from "../../../src/agents/claude/driver.ts";
import { parseClaudeLine } from "../../../src/agents/claude/stream.ts";

const ask = {
  type: "control_request",
  request_id: "req-1",
  request: {
    subtype: "can_use_tool",
    tool_name: "AskUserQuestion",
    input: { questions: [{ question: "Which database?", header: "DB", options: [{ label: "SQLite" }, { label: "Postgres" }], multiSelect: false }] },
  },
};

describe("Claude's questions and permission actions", () => {
  it("AskUserQuestion becomes a question with its options; the answer goes back as the tool input's answers", () => {
    const [q] = parseClaudeLine(JSON.stringify(ask));
    expect(q).toMatchObject({ type: "question", requestId: "req-1", text: "Which database?", options: ["SQLite", "Postgres"] });
    const line = JSON.parse(claudeDriver.encodeReply!("req-1", { kind: "question", answer: "Postgres" }, ask.request.input));
    expect(line.response.request_id).toBe("req-1");
    expect(line.response.response).toEqual({ behavior: "allow", updatedInput: { ...ask.request.input, answers: { "Which database?": "Postgres" } } });
    const none = JSON.parse(claudeDriver.encodeReply!("req-1", { kind: "question", answer: null }, ask.request.input));
    expect(none.response.response.behavior).toBe("deny");
  });

  it("a single question's option descriptions are shown under it, one line each (the buttons carry the labels)", () => {
    const input = {
      questions: [
        {
          question: "Which database?",
          header: "DB",
          options: [{ label: "SQLite", description: "one file, no server" }, { label: "Postgres", description: "" }, { label: "MySQL" }],
          multiSelect: false,
        },
      ],
    };
    const [q] = parseClaudeLine(JSON.stringify({ ...ask, request: { ...ask.request, input } }));
    expect(q).toMatchObject({ type: "question", text: "Which database?\n• SQLite: one file, no server", options: ["SQLite", "Postgres", "MySQL"] });
  });

  it("several questions at once: numbered with their choices, answered by one line each (or one answer for all)", () => {
    const input = {
      questions: [
        { question: "Which database?", header: "DB", options: [{ label: "SQLite" }, { label: "Postgres" }], multiSelect: false },
        { question: "Add tests?", header: "Tests", options: [{ label: "Yes" }, { label: "No" }], multiSelect: false },
      ],
    };
    const [q] = parseClaudeLine(JSON.stringify({ ...ask, request: { ...ask.request, input } }));
    expect(q).toMatchObject({ type: "question", text: "1. Which database? (SQLite / Postgres)\n2. Add tests? (Yes / No)\nReply with one line per question." });
    expect(q).not.toHaveProperty("options");
    const answersOf = (answer: string) =>
      JSON.parse(claudeDriver.encodeReply!("req-1", { kind: "question", answer }, input)).response.response.updatedInput.answers;
    expect(answersOf("1. Postgres\n2) Yes")).toEqual({ "Which database?": "Postgres", "Add tests?": "Yes" });
    expect(answersOf("Postgres\n\nNo\n")).toEqual({ "Which database?": "Postgres", "Add tests?": "No" });
    expect(answersOf("whatever you think best")).toEqual({ "Which database?": "whatever you think best", "Add tests?": "whatever you think best" });
  });

  it("built-in tools carry the action auto-response rules match on", () => {
    const req = (tool_name: string, input: unknown) =>
      parseClaudeLine(JSON.stringify({ type: "control_request", request_id: "r", request: { subtype: "can_use_tool", tool_name, input } }))[0];
    expect(req("Bash", { command: "npm test" })).toMatchObject({ action: { kind: "command", command: "npm test" } });
    expect(req("Write", { file_path: "/w/a.txt", content: "x" })).toMatchObject({ action: { kind: "edit", paths: ["/w/a.txt"] } });
    expect(req("Read", { file_path: "/w/a.txt" })).toMatchObject({ action: { kind: "read", paths: ["/w/a.txt"] } });
    expect(req("mcp__github__create_issue", { title: "x" })).toMatchObject({ action: { kind: "other" } });
  });
});
