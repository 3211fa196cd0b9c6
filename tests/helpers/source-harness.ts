import { join } from "node:path";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.ts";
import { createLogger } from "../../src/lib/log.ts";
import type { ScanContext } from "../../src/sources/source.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import { SessionStore } from "../../src/store/sessions.ts";

/** A real asm store in `dir` and a scan context over it, for driving one source cycle by cycle. */
export interface SourceHarness {
  db: Db;
  sessions: SessionStore;
  kv: KvStore;
  config: Config;
  ctx(now?: number): ScanContext;
  /** Rows of the turns table for a session, oldest first. */
  turns(
    uid: string,
  ): { ts: number; model: string | null; input: number; output: number; cache_read: number; cache_write: number; context_tokens: number | null }[];
  close(): void;
}

export function sourceHarness(dir: string, input: ConfigInput = {}): SourceHarness {
  const db = openStore(join(dir, "asm.db"));
  const config = configSchema.parse(input);
  const log = createLogger({ level: "silent", pretty: "never" });
  const sessions = new SessionStore(db);
  return {
    db,
    sessions,
    kv: new KvStore(db),
    config,
    ctx: (now = Date.now()) => ({ db, sessions, config, log, now }),
    turns: (uid) => db.prepare("SELECT * FROM turns WHERE session_uid = ? ORDER BY ts, rowid").all(uid) as ReturnType<SourceHarness["turns"]>,
    close: () => db.close(),
  };
}
