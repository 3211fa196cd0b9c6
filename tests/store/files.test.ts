import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openStore } from "../../src/store/db.ts";
import { type FileCursor, FileStore } from "../../src/store/files.ts";

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "asm-files-"));
  db = openStore(join(dir, "asm.db"));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const cursor = (path: string, over: Partial<FileCursor> = {}): FileCursor => ({
  path,
  source: "claude",
  dev: 2049,
  ino: 1234567,
  size: 100,
  mtimeMs: 1_790_000_000_123,
  offset: 90,
  lineNo: 3,
  tail: "eyJhIjoxfQo=",
  sessionUid: "claude::s1",
  state: '{"lastIds":["msg_1"],"n":2}',
  seenAt: 5,
  ...over,
});

describe("FileStore", () => {
  it("round-trips a cursor with its tail fingerprint and parser state", () => {
    const files = new FileStore(db);
    files.put(cursor("/a/ü 日本.jsonl"));
    expect(files.get("/a/ü 日本.jsonl")).toEqual(cursor("/a/ü 日本.jsonl"));
    expect(JSON.parse(files.get("/a/ü 日本.jsonl")!.state)).toEqual({ lastIds: ["msg_1"], n: 2 });
  });

  it("updates in place and lists by source", () => {
    const files = new FileStore(db);
    files.put(cursor("/a.jsonl"));
    files.put(cursor("/b.jsonl", { source: "codex", tail: "", state: "{}" }));
    files.put(cursor("/a.jsonl", { offset: 100, lineNo: 4, state: "{}" }));
    const claude = files.bySource("claude");
    expect([...claude.keys()]).toEqual(["/a.jsonl"]);
    expect(claude.get("/a.jsonl")).toMatchObject({ offset: 100, lineNo: 4, state: "{}" });
    expect(files.bySource("codex").get("/b.jsonl")).toMatchObject({ tail: "", state: "{}" });
    files.delete("/a.jsonl");
    expect(files.get("/a.jsonl")).toBeUndefined();
  });

  it("an empty state string is stored as an empty object", () => {
    const files = new FileStore(db);
    files.put(cursor("/c.jsonl", { state: "" }));
    expect(files.get("/c.jsonl")!.state).toBe("{}");
  });
});

describe("FileStore.index / detailsOf / stateOf", () => {
  it("lists cursors without tails or states (from the index alone), and fetches them on demand", () => {
    const files = new FileStore(db);
    files.put(cursor("/a.jsonl"));
    files.put(cursor("/b.jsonl", { tail: "", state: '{"x":"\\",\\"s\\":"}' }));
    const idx = files.index("claude");
    expect(idx.get("/a.jsonl")).toEqual({ ...cursor("/a.jsonl"), tail: "", state: "", seenAt: 0 });
    expect(idx.get("/b.jsonl")).toMatchObject({ tail: "", state: "" });
    expect(files.detailsOf("/a.jsonl")).toEqual({ tail: "eyJhIjoxfQo=", state: '{"lastIds":["msg_1"],"n":2}' });
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT path, dev, ino, size, mtime_ms, offset, line_no, session_uid FROM files INDEXED BY files_cursor WHERE source = ?")
      .all("claude") as { detail: string }[];
    expect(plan[0]!.detail).toMatch(/COVERING INDEX files_cursor/);
    expect(files.stateOf("/a.jsonl")).toBe('{"lastIds":["msg_1"],"n":2}');
    expect(JSON.parse(files.stateOf("/b.jsonl")!)).toEqual({ x: '","s":' });
    expect(files.stateOf("/nope")).toBeUndefined();
  });
});
