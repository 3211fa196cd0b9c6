import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { platforms, type SessionState } from "../../src/agents/session.ts";
import { contextSkip, contextSkipColumn } from "../../src/checks/context-scope.ts";
import { openStore } from "../../src/store/db.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { cfg, HOUR, NOW, session } from "../helpers/checks.ts";
import { tempDir } from "../helpers/tmp.ts";

const dbs: { close(): void }[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

describe("which sessions the context check watches: one rule, in code and in SQL", () => {
  it("the SQL column the lists rank by gives the same reason as contextSkip for every kind of session", () => {
    const db = openStore(join(tempDir(), "asm.db"));
    dbs.push(db);
    const store = new SessionStore(db);
    const config = cfg({ checks: { context: { activeWithinHours: 24 } } });
    const states: SessionState[] = ["running", "waiting", "idle", "errored", "ended", "unknown"];
    let n = 0;
    for (const platform of platforms)
      for (const present of [true, false])
        for (const state of states)
          for (const lastActivity of [null, NOW - HOUR, NOW - 24 * HOUR, NOW - 24 * HOUR - 1, NOW - 30 * 24 * HOUR])
            store.upsert(session({ platform, sessionId: `s${n++}`, present, state, lastActivity }));
    const rows = store.scoped({ watchedOnly: false, sort: "activity", limit: -1 }, contextSkipColumn(config, NOW)).rows;
    expect(rows).toHaveLength(n);
    for (const r of rows)
      expect(r.skip, `${r.session.uid} ${r.session.state} ${r.session.present} ${r.session.lastActivity}`).toBe(contextSkip(r.session, config, NOW));
    // All three reasons occur, and the chat agent's old sessions stay watched.
    expect(new Set(rows.map((r) => r.skip))).toEqual(new Set([null, "gone", "ended", "idle"]));
    expect(rows.filter((r) => r.session.platform === "openclaw" && r.session.present && r.session.state !== "ended").every((r) => r.skip === null)).toBe(true);
  });
});
