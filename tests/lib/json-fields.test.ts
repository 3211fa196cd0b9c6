import { describe, expect, it } from "vitest";
import { elements, fields, isNullOrAbsent, isTrue, jsonAt, numberAt, sameBytes, stringAt, stringIs, timeAt, whole } from "../../src/lib/json-fields.ts";

const K = ["type", "message", "n", "flag", "none", "ts"] as const;
const MK = ["id", "usage", "content"] as const;
const T = ["type"] as const;

describe("fields", () => {
  it("finds top-level keys only, whatever nests or hides in strings before them", () => {
    const obj = {
      message: { type: "message", content: [{ type: "text", text: 'a "quoted" \\ "type":"user" }{ ][' }], id: "msg_1", usage: { input_tokens: 3 } },
      n: -12.5e3,
      flag: true,
      none: null,
      type: "assistant",
      ts: "2026-11-20T09:00:03.512Z",
      extra: "日本語 ☕ \u0000 \n",
    };
    const line = Buffer.from(JSON.stringify(obj));
    const f = fields(line, whole(line), K)!;
    expect(stringAt(line, f.type)).toBe("assistant");
    expect(jsonAt(line, f.message)).toEqual(obj.message);
    expect(numberAt(line, f.n)).toBe(-12500);
    expect(isTrue(line, f.flag)).toBe(true);
    expect(isNullOrAbsent(line, f.none)).toBe(true);
    const m = fields(line, f.message!, MK)!;
    expect(stringAt(line, m.id)).toBe("msg_1");
    expect(jsonAt(line, m.usage)).toEqual({ input_tokens: 3 });
    const blocks = elements(line, m.content!)!;
    expect(blocks).toHaveLength(1);
    const b = fields(line, blocks[0]!, T)!;
    expect(stringIs(line, b.type, Buffer.from("text"))).toBe(true);
    expect(stringIs(line, b.type, Buffer.from("tex"))).toBe(false);
  });

  it("decodes escapes, handles backslash runs before quotes and whitespace between tokens", () => {
    const line = Buffer.from('{ "a" : "x\\\\" , "type" :"q\\"u\\u00e9\\\\\\"" ,"b":[ 1 , {"c":"}"} ] }  ');
    const f = fields(line, whole(line), ["a", "type", "b"] as const)!;
    expect(stringAt(line, f.a)).toBe("x\\");
    expect(stringAt(line, f.type)).toBe('q"ué\\"');
    expect(jsonAt(line, f.b)).toEqual([1, { c: "}" }]);
  });

  it("returns null for lines it cannot follow: truncated, not an object, unterminated string", () => {
    for (const bad of ['{"type":"user","message":{"content":"abc', "[1,2]", '{"type":"us}', '{"type" "x"}', '{"a":1,}', "", '"str"']) {
      const line = Buffer.from(bad);
      expect(fields(line, whole(line), K), bad).toBeNull();
    }
    // The outer brace is missing: caught by a walk that reaches it. (A walk that stops early, every wanted key
    // found, vouches only for the bytes it read.)
    const cut = Buffer.from('{"type":"user","message":{"content":"abc"}');
    expect(fields(cut, whole(cut), K)).toBeNull();
  });

  it("stops walking once every wanted key is found", () => {
    // Garbage after the wanted keys is not looked at (the closing brace is still required).
    const line = Buffer.from('{"timestamp":"2026-11-20T09:00:03Z","type":"response_item","payload":{unparsed garbage}');
    const f = fields(line, whole(line), ["timestamp", "type"] as const)!;
    expect(stringAt(line, f.type)).toBe("response_item");
    expect(timeAt(line, f.timestamp)).toBe(Date.parse("2026-11-20T09:00:03Z"));
  });
});

describe("value helpers", () => {
  it("timeAt reads ISO timestamps from bytes and falls back to Date.parse", () => {
    const cases = ["2026-11-20T09:00:03.512Z", "2026-11-20T09:00:03Z", "2026-11-20T10:00:03.5+01:00", "not a date"];
    for (const ts of cases) {
      const line = Buffer.from(JSON.stringify({ ts }));
      const f = fields(line, whole(line), ["ts"] as const)!;
      const got = timeAt(line, f.ts);
      if (ts === "not a date") expect(got).toBeNaN();
      else expect(got).toBe(Date.parse(ts));
    }
    expect(timeAt(Buffer.from("{}"), undefined)).toBeNaN();
  });

  it("sameBytes compares a value with remembered bytes", () => {
    const line = Buffer.from('{"cwd":"/home/ü"}');
    const f = fields(line, whole(line), ["cwd"] as const)!;
    const copy = Uint8Array.prototype.slice.call(line, f.cwd!.start, f.cwd!.end);
    expect(sameBytes(line, f.cwd, copy)).toBe(true);
    expect(sameBytes(line, f.cwd, Buffer.from('"/home/u"'))).toBe(false);
    expect(sameBytes(line, f.cwd, null)).toBe(false);
  });

  it("numberAt and stringAt refuse the wrong kinds", () => {
    const line = Buffer.from('{"s":"12","n":12,"o":{}}');
    const f = fields(line, whole(line), ["s", "n", "o"] as const)!;
    expect(numberAt(line, f.s)).toBeNull();
    expect(stringAt(line, f.n)).toBeNull();
    expect(numberAt(line, f.n)).toBe(12);
    expect(stringAt(line, f.o)).toBeNull();
  });
});
