import { appendFileSync } from "node:fs";
import type { Driver, ProtocolIO, ProtocolSession, Reply, RunRequest, RunSpec, WorkerEvent } from "../../src/agents/driver.ts";

/**
 * A scripted protocol agent over a real child process: the "CLI" is `node` echoing its stdin,
 * so every line the session writes comes back as a stdout line the runner routes to `onLine` — the same
 * round trip a JSON-RPC CLI makes. The session is a tiny scripted agent: a prompt `cmd:<command>` asks
 * permission to run it, `ask:<question>` asks a question with options, `fail:` gives up through `io.fail`.
 */
export const ECHO = [process.execPath, "-e", "process.stdin.on('data', (c) => process.stdout.write(c)); process.stdin.on('end', () => process.exit(0))"];

export class ScriptedSession implements ProtocolSession {
  private n = 0;
  constructor(
    private readonly io: ProtocolIO,
    private readonly req: RunRequest,
    private readonly log: string,
  ) {}
  onLine(line: string) {
    appendFileSync(this.log, `${line}\n`);
    const m = JSON.parse(line) as { op: string; text?: string; id?: string; reply?: Reply };
    const ev: WorkerEvent[] = [];
    if (m.op === "turn") {
      ev.push({ type: "init", sessionId: this.req.resumeSessionId ?? "sess-1" });
      const text = m.text ?? "";
      const id = `r${++this.n}`;
      if (text.startsWith("cmd:")) {
        const command = text.slice(4);
        ev.push({ type: "permission", requestId: id, tool: "Bash", detail: command, reason: null, action: { kind: "command", command } });
      } else if (text.startsWith("ask:")) ev.push({ type: "question", requestId: id, text: text.slice(4), options: ["red", "blue"] });
      else if (text.startsWith("fail:")) this.io.fail("auth", "the server refused the handshake: 401");
      else ev.push(end(`echo ${text}`));
    } else if (m.op === "reply" && m.reply) {
      const r = m.reply;
      if (r.kind === "permission")
        ev.push(r.allow ? { type: "tool", name: "Bash", detail: "ran" } : { type: "other", kind: "denied" }, end(r.allow ? "ran it" : "not allowed"));
      else ev.push(end(`answer: ${r.answer ?? "(none)"}`));
    } else if (m.op === "interrupt") ev.push({ ...end(null), interrupted: true });
    this.io.emit(ev);
  }
  turn(text: string) {
    this.io.write(JSON.stringify({ op: "turn", text }));
  }
  reply(id: string, reply: Reply) {
    this.io.write(JSON.stringify({ op: "reply", id, reply }));
  }
  interrupt() {
    this.io.write(JSON.stringify({ op: "interrupt" }));
  }
  close() {}
}

const end = (result: string | null): Extract<WorkerEvent, { type: "turn_end" }> => ({
  type: "turn_end",
  result,
  isError: false,
  costUsd: null,
  durationMs: null,
  numTurns: 1,
  denied: [],
});

/** A Codex-labelled driver whose protocol session is the scripted one, logging every wire line to `wire`. */
export function scriptedDriver(wire: string): Driver {
  return {
    platform: "codex",
    defaultCommand: ["unused"],
    multiTurn: true,
    canAsk: true,
    sessionIdPattern: /^sess-\d+$/,
    runSpec: (): RunSpec => ({ args: [], prompt: "protocol" }),
    parseLine: () => [{ type: "other", kind: "not used with a session" }],
    openSession: (req, _spec, io) => new ScriptedSession(io, req, wire),
  };
}
