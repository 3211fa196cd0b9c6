import { type LoadOptions, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { type Secrets, secretValues } from "../config/secrets.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { backupDirOf } from "./backup.ts";
import { type Db, openStore } from "./db.ts";
import { KvStore } from "./kv.ts";
import { SessionStore } from "./sessions.ts";

/** Everything a command or the long-running bot needs, opened once. */
export interface Runtime {
  config: Config;
  secrets: Secrets;
  log: Logger;
  db: Db;
  kv: KvStore;
  sessions: SessionStore;
  /** Config files that were layered. */
  configFiles: string[];
  close(): void;
}

export interface RuntimeOptions extends LoadOptions {
  logStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** false: a command that only reads; a missing database is a `StoreMissingError`, never created. Default true. */
  create?: boolean;
}

/** Loads config (throws ConfigError), creates the logger, opens the store (throws StoreVersionError, StoreMissingError, …). */
export function openRuntime(options: RuntimeOptions = {}): Runtime {
  const { config, secrets, files } = loadConfig(options);
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    file: config.log.file,
    secrets: secretValues(secrets),
    ...(options.logStream ? { stream: options.logStream } : {}),
  });
  const backup = { dir: backupDirOf(config.store.path, config.store.backupDir), keep: config.store.backupKeep };
  return runtimeOver(openStore(config.store.path, { mustExist: options.create === false, backup }), config, { secrets, log, configFiles: files });
}

/**
 * A runtime over an open database and an already-validated config (benchmarks and tests that build
 * their config in code). Defaults: no secrets, a silent logger.
 */
export function runtimeOver(db: Db, config: Config, parts: { secrets?: Secrets; log?: Logger; configFiles?: string[] } = {}): Runtime {
  let closed = false;
  return {
    config,
    secrets: parts.secrets ?? { telegramBotToken: null, discordToken: null },
    log: parts.log ?? createLogger({ level: "silent", pretty: "never" }),
    db,
    kv: new KvStore(db),
    sessions: new SessionStore(db),
    configFiles: parts.configFiles ?? [],
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
