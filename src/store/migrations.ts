/**
 * Forward-only schema migrations, applied in order by `PRAGMA user_version`. Never edit a migration
 * that has shipped; add the next number. Each runs inside one transaction.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: "sessions, files, turns, kv",
    sql: `
      CREATE TABLE sessions (
        uid               TEXT PRIMARY KEY,          -- platform:agentId:sessionId
        platform          TEXT NOT NULL,
        agent_id          TEXT,
        session_id        TEXT NOT NULL,
        session_key       TEXT,
        kind              TEXT NOT NULL DEFAULT 'session', -- main | dm | group | channel | sidechain | subagent | session
        parent_uid        TEXT,
        project           TEXT,
        title             TEXT,
        model             TEXT,
        first_activity    INTEGER,                   -- epoch ms
        last_activity     INTEGER,
        message_count     INTEGER NOT NULL DEFAULT 0,
        path              TEXT,
        size_bytes        INTEGER NOT NULL DEFAULT 0,
        context_tokens    INTEGER,
        context_window    INTEGER,
        context_percent   REAL,
        input_tokens      INTEGER NOT NULL DEFAULT 0,
        output_tokens     INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        parse_errors      INTEGER NOT NULL DEFAULT 0,
        last_parse_error  TEXT,
        state             TEXT NOT NULL DEFAULT 'unknown', -- running | waiting | idle | errored | ended | unknown
        present           INTEGER NOT NULL DEFAULT 1,
        extra             TEXT NOT NULL DEFAULT '{}', -- platform-specific JSON (fallback fields, rate limits, ...)
        scanned_at        INTEGER NOT NULL
      );
      CREATE INDEX sessions_platform ON sessions(platform, last_activity);
      CREATE INDEX sessions_context ON sessions(context_percent);

      -- What has been read of each file: identity, size, mtime, bytes consumed, and the reader's state.
      CREATE TABLE files (
        path        TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        dev         INTEGER NOT NULL,
        ino         INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        mtime_ms    INTEGER NOT NULL,
        offset      INTEGER NOT NULL DEFAULT 0,
        line_no     INTEGER NOT NULL DEFAULT 0,
        session_uid TEXT,
        state       TEXT NOT NULL DEFAULT '{}',
        seen_at     INTEGER NOT NULL
      );
      CREATE INDEX files_source ON files(source);

      -- Per-turn token usage, kept compactly for rates and windows.
      CREATE TABLE turns (
        session_uid    TEXT NOT NULL,
        ts             INTEGER NOT NULL,
        model          TEXT,
        input          INTEGER NOT NULL DEFAULT 0,
        output         INTEGER NOT NULL DEFAULT 0,
        cache_read     INTEGER NOT NULL DEFAULT 0,
        cache_write    INTEGER NOT NULL DEFAULT 0,
        context_tokens INTEGER
      );
      CREATE INDEX turns_session ON turns(session_uid, ts);
      CREATE INDEX turns_ts ON turns(ts);

      CREATE TABLE kv (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "alerts, silences, outbox, series, fallback decisions",
    sql: `
      CREATE TABLE alerts (
        id               INTEGER PRIMARY KEY,
        fingerprint      TEXT NOT NULL,
        check_name       TEXT NOT NULL,
        subject          TEXT NOT NULL,
        severity         TEXT NOT NULL,
        status           TEXT NOT NULL,            -- pending | firing | resolved
        summary          TEXT NOT NULL,
        report           TEXT NOT NULL DEFAULT '{}', -- the latest finding as JSON (value, threshold, action, ...)
        first_seen       INTEGER NOT NULL,
        last_seen        INTEGER NOT NULL,
        fired_at         INTEGER,
        resolved_at      INTEGER,
        last_notified_at INTEGER,
        notified_severity TEXT,
        acked_by         TEXT,
        acked_at         INTEGER,
        missed           INTEGER NOT NULL DEFAULT 0 -- consecutive cycles of its check without this finding
      );
      CREATE UNIQUE INDEX alerts_open ON alerts(fingerprint) WHERE status != 'resolved';
      CREATE INDEX alerts_status ON alerts(status, check_name);

      CREATE TABLE silences (
        id          INTEGER PRIMARY KEY,
        fingerprint TEXT,
        check_name  TEXT,
        subject_pattern TEXT,                      -- glob (* and ?) over the subject; NULL = every subject
        starts_at   INTEGER NOT NULL DEFAULT 0,
        ends_at     INTEGER NOT NULL,
        created_by  TEXT NOT NULL,
        reason      TEXT,
        created_at  INTEGER NOT NULL
      );

      -- One row per message to deliver per transport; drained by the sender.
      CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        alert_id    INTEGER REFERENCES alerts(id) ON DELETE CASCADE,
        alert_ids   TEXT NOT NULL DEFAULT '[]',   -- every alert this message covers (several for a group), JSON
        transport   TEXT NOT NULL,
        kind        TEXT NOT NULL,                 -- fire | repeat | escalate | resolve | group | view
        payload     TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'pending', -- pending | sending | sent | failed | cancelled | merged
        merged_into INTEGER,                       -- the group row that replaced this one (status merged)
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        message_ref TEXT,
        created_at  INTEGER NOT NULL,
        sent_at     INTEGER
      );
      CREATE INDEX outbox_pending ON outbox(status, transport, not_before);

      CREATE TABLE delivery_attempts (
        outbox_id  INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        at         INTEGER NOT NULL,
        ok         INTEGER NOT NULL,
        error      TEXT,
        retry_after_ms INTEGER
      );

      -- Every message posted about an alert on each transport, so all of them are edited when it resolves.
      CREATE TABLE alert_messages (
        alert_id   INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        transport  TEXT NOT NULL,
        ref        TEXT NOT NULL,
        grouped    INTEGER NOT NULL DEFAULT 0,     -- the message is a group message shared with other alerts
        created_at INTEGER NOT NULL,
        PRIMARY KEY (alert_id, transport, ref)
      );

      CREATE TABLE series (
        name    TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        ts      INTEGER NOT NULL,
        value   REAL,
        ok      INTEGER,
        extra   TEXT
      );
      CREATE INDEX series_name ON series(name, subject, ts);

      CREATE TABLE fallback_decisions (
        id             INTEGER PRIMARY KEY,
        ts             INTEGER NOT NULL,
        worker         TEXT,
        original_model TEXT NOT NULL,
        error_type     TEXT,
        next_model     TEXT,
        source         TEXT NOT NULL,
        dedup_key      TEXT UNIQUE
      );
      CREATE INDEX fallback_ts ON fallback_decisions(ts);
    `,
  },
  {
    version: 3,
    name: "actions",
    sql: `
      CREATE TABLE actions (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,              -- restart_gateway | reset_session | cleanup
        target       TEXT,
        reason       TEXT,
        requested_by TEXT NOT NULL,              -- transport:userId
        nonce        TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending',
        decided_by   TEXT,
        decided_at   INTEGER,
        started_at   INTEGER,
        finished_at  INTEGER,
        exit_code    INTEGER,
        output_tail  TEXT,
        verify_note  TEXT,
        fingerprint  TEXT,                       -- fingerprint of the alert that proposed it, if any
        details      TEXT NOT NULL DEFAULT '{}', -- what exactly will be done (e.g. the entries a cleanup removes)
        message_refs TEXT NOT NULL DEFAULT '[]'  -- message refs of the approval messages, to edit them later
      );
      CREATE INDEX actions_status ON actions(status, created_at);
    `,
  },
  {
    version: 4,
    name: "scan indexes",
    sql: `
      -- A no-change scan cycle reads every cursor of a source: answer it from the index alone, never
      -- touching the rows (whose parser state is the bulk of the table).
      CREATE INDEX files_cursor ON files(source, path, dev, ino, size, mtime_ms, offset, line_no, session_uid);
      -- Each cycle ages waiting → idle and stale running → unknown: only those few rows are visited.
      CREATE INDEX sessions_waiting ON sessions(platform, last_activity) WHERE state = 'waiting';
      CREATE INDEX sessions_running ON sessions(platform, last_activity) WHERE state = 'running';
    `,
  },
  {
    version: 5,
    name: "session list index",
    sql: `
      -- /sessions (most urgent first) walks this in order and stops at its LIMIT instead of sorting
      -- every row: the expressions match SessionStore's "urgency" ORDER BY exactly.
      CREATE INDEX sessions_urgency ON sessions(present DESC, COALESCE(context_percent, -1) DESC, COALESCE(last_activity, 0) DESC);
    `,
  },
  {
    version: 6,
    name: "managed workers",
    sql: `
      CREATE TABLE workers (
        id             TEXT PRIMARY KEY,            -- w1, w2, ... (short, typed on a phone)
        agent          TEXT NOT NULL,               -- platform of the CLI
        model          TEXT,
        workspace      TEXT NOT NULL,               -- name from runner.workspaces
        cwd            TEXT NOT NULL,
        prompt         TEXT NOT NULL,
        status         TEXT NOT NULL,               -- queued|starting|running|waiting-for-input|completed|failed|killed|interrupted
        waiting_reason TEXT,                        -- permission|question|turn-finished
        session_id     TEXT,                        -- the agent's own session id, from its init event
        session_uid    TEXT,                        -- the sessions row the on-disk source finds for it
        pid            INTEGER,
        pid_start      TEXT,                        -- /proc/<pid>/stat start time, so a reused pid is never ours
        turns          INTEGER NOT NULL DEFAULT 0,
        input_tokens   INTEGER NOT NULL DEFAULT 0,
        output_tokens  INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        context_tokens INTEGER,
        cost_usd       REAL,
        exit_code      INTEGER,
        signal         TEXT,
        error_class    TEXT,                        -- an ErrorReason, or crash|timeout|spawn
        error_message  TEXT,
        stderr_tail    TEXT NOT NULL DEFAULT '',
        output_tail    TEXT NOT NULL DEFAULT '',
        last_tool      TEXT,
        denied         TEXT NOT NULL DEFAULT '[]',  -- tools the CLI refused on its own (JSON array)
        resumed_from   TEXT REFERENCES workers(id),
        requested_by   TEXT,                        -- transport:user
        thread         TEXT,                        -- JSON: where its messages go, per transport
        status_refs    TEXT NOT NULL DEFAULT '[]',  -- JSON: status messages to edit in place
        created_at     INTEGER NOT NULL,
        started_at     INTEGER,
        ended_at       INTEGER,
        updated_at     INTEGER NOT NULL
      );
      CREATE INDEX workers_status ON workers(status, created_at);
      CREATE INDEX workers_session ON workers(session_id);
      CREATE TABLE worker_events (
        id        INTEGER PRIMARY KEY,
        worker_id TEXT NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
        ts        INTEGER NOT NULL,
        type      TEXT NOT NULL,
        payload   TEXT NOT NULL                     -- compact JSON, long text cut
      );
      CREATE INDEX worker_events_worker ON worker_events(worker_id, id);
      -- What a worker (or a non-admin's /spawn) waits for an admin to decide: single-use, expiring,
      -- decided by one conditional UPDATE like actions.
      CREATE TABLE worker_requests (
        id          INTEGER PRIMARY KEY,
        worker_id   TEXT,
        kind        TEXT NOT NULL,                  -- permission | question | spawn
        request_id  TEXT,                           -- the agent's own id, echoed in the answer
        nonce       TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'pending', -- pending | allowed | denied | expired | answered
        payload     TEXT NOT NULL DEFAULT '{}',
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        decided_at  INTEGER,
        decided_by  TEXT,
        message_refs TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX worker_requests_pending ON worker_requests(status, expires_at);
    `,
  },
  {
    version: 7,
    name: "fallback chain",
    sql: `
      -- A worker's model chain and where it stands in it.
      ALTER TABLE workers ADD COLUMN chain TEXT NOT NULL DEFAULT '[]';     -- JSON array of model ids
      ALTER TABLE workers ADD COLUMN chain_index INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE workers ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;   -- tries of the current model
      ALTER TABLE workers ADD COLUMN not_before INTEGER;                 -- a retry waits until then
      -- Per-model circuit breaker, kept across restarts so a dead model is not hammered again.
      CREATE TABLE model_breakers (
        model        TEXT PRIMARY KEY,
        state        TEXT NOT NULL DEFAULT 'closed',  -- closed | open | half-open
        failures     INTEGER NOT NULL DEFAULT 0,      -- in a row
        opens        INTEGER NOT NULL DEFAULT 0,      -- times opened in a row (the cool-off ladder step)
        open_until   INTEGER,
        last_error   TEXT,
        updated_at   INTEGER NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: "session memories",
    sql: `
      -- Extractive (or summarized) memories of sessions, for context handover (src/handover/).
      CREATE TABLE session_memories (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        session_uid   TEXT NOT NULL,
        platform      TEXT NOT NULL,
        session_id    TEXT NOT NULL,
        kind          TEXT NOT NULL,                 -- extractive | summarized
        tokens        INTEGER NOT NULL,              -- estimated tokens of the Markdown
        handover_count INTEGER NOT NULL DEFAULT 0,
        file_path     TEXT,                          -- the JSON written to handover.memoryDir
        memory_json   TEXT NOT NULL,
        created_at    INTEGER NOT NULL
      );
      CREATE INDEX session_memories_uid ON session_memories(session_uid, id);
    `,
  },
  {
    version: 9,
    name: "worker owner",
    sql: `
      -- The asm process that runs a worker (pid + start time), so a restart of one asm never takes over
      -- a worker another live asm process (asm spawn --wait) is running.
      ALTER TABLE workers ADD COLUMN owner TEXT;
    `,
  },
  {
    version: 10,
    name: "agents that ask",
    sql: `
      -- Requests answered by an auto-response rule (capped per worker by autoRespond.maxAutoResponds).
      ALTER TABLE workers ADD COLUMN respond_count INTEGER NOT NULL DEFAULT 0;
      -- What a waiting worker waits for, as a person reads it: "permission: Bash(npm test)", "question: …".
      ALTER TABLE workers ADD COLUMN waiting_detail TEXT;
      -- When the last reminder about a waiting worker was posted (null = none since it began waiting).
      ALTER TABLE workers ADD COLUMN reminded_at INTEGER;
      -- How a request was answered (the option or the free text of a question; the rule of an auto-response).
      ALTER TABLE worker_requests ADD COLUMN answer TEXT;
    `,
  },
  {
    version: 11,
    name: "durable notes",
    sql: `
      -- A note (kind 'note': a worker's result, a notice) is posted into its place on the transport, a forum
      -- topic or a thread ({"chatId", "threadId"} JSON; null = the feed), and keeps its order per subject
      -- ("worker:w3") as alert rows keep theirs per alert.
      ALTER TABLE outbox ADD COLUMN place TEXT;
      ALTER TABLE outbox ADD COLUMN subject TEXT;
    `,
  },
];

/** The schema version this build writes. */
export const latestVersion = migrations[migrations.length - 1]!.version;
