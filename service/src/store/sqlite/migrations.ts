// SQLite schema migrations, embedded so that they need no copying next to the compiled
// output. Append new ones with the next version; never edit an applied one.
//
// Records (handoffs, runs) keep the columns their lists filter and sort on as real
// columns and the whole record as JSON in `body`. Indexes end in (created_at, id) so that
// a filtered list walks an index newest-first and stops after one page.

import { APPROVALS_LIST_MIGRATION_SQL } from './approval-list.ts';
import { APPROVALS_MIGRATION_SQL } from './approvals.ts';
import { RUN_PARTIES_MIGRATION_SQL } from './run-parties.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const init = `
CREATE TABLE handoffs (
  id              TEXT PRIMARY KEY,
  from_contractor TEXT NOT NULL,
  to_contractor   TEXT NOT NULL,
  task_id         TEXT NOT NULL,
  run_id          TEXT,
  status          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL,
  body            TEXT NOT NULL
);
CREATE INDEX handoffs_to_status ON handoffs (to_contractor, status, created_at, id);
CREATE INDEX handoffs_to        ON handoffs (to_contractor, created_at, id);
CREATE INDEX handoffs_from      ON handoffs (from_contractor, created_at, id);
CREATE INDEX handoffs_task      ON handoffs (task_id, created_at, id);
CREATE INDEX handoffs_run       ON handoffs (run_id, created_at, id) WHERE run_id IS NOT NULL;
CREATE INDEX handoffs_created   ON handoffs (created_at, id);

CREATE TABLE runs (
  id              TEXT PRIMARY KEY,
  workflow_id     TEXT NOT NULL,
  status          TEXT NOT NULL,
  concurrency_key TEXT,
  created_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL,
  body            TEXT NOT NULL
);
CREATE UNIQUE INDEX runs_concurrency_running ON runs (concurrency_key)
  WHERE status = 'running' AND concurrency_key IS NOT NULL;
CREATE INDEX runs_workflow ON runs (workflow_id, created_at, id);
CREATE INDEX runs_workflow_status ON runs (workflow_id, status, created_at, id);
CREATE INDEX runs_status   ON runs (status, created_at, id);
CREATE INDEX runs_created  ON runs (created_at, id);

CREATE TABLE history (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_kind TEXT NOT NULL,
  subject_id   TEXT NOT NULL,
  type         TEXT NOT NULL,
  actor        TEXT NOT NULL,
  at           INTEGER NOT NULL,
  data         TEXT NOT NULL
);
CREATE INDEX history_subject ON history (subject_kind, subject_id, seq);

CREATE TABLE timers (
  subject_kind TEXT NOT NULL,
  subject_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,
  due_at       INTEGER NOT NULL,
  lease_until  INTEGER,
  PRIMARY KEY (subject_kind, subject_id, kind)
);
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE idempotency (
  principal    TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  body         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (principal, key)
);

CREATE TABLE definitions (
  workflow_id   TEXT NOT NULL,
  version       TEXT NOT NULL,
  workflow_name TEXT NOT NULL,
  body          TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, version)
);
CREATE INDEX definitions_latest ON definitions (workflow_id, created_at);

CREATE TABLE subscriptions (
  subscription_id TEXT PRIMARY KEY,
  owner           TEXT NOT NULL,
  url             TEXT NOT NULL,
  events          TEXT NOT NULL,
  filter          TEXT NOT NULL,
  secret          TEXT NOT NULL,
  description     TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at);

CREATE TABLE outbox (
  message_id      TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_subscription ON outbox (subscription_id, status);

-- Counts by status kept by triggers, so that reading them does not scan the outbox.
CREATE TABLE outbox_counts (
  status TEXT PRIMARY KEY,
  n      INTEGER NOT NULL
);
INSERT INTO outbox_counts (status, n) VALUES ('pending', 0), ('delivered', 0), ('dead', 0);
CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
  UPDATE outbox_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status ON outbox WHEN OLD.status <> NEW.status BEGIN
  UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;
  UPDATE outbox_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TABLE contractor_participation (
  contractor TEXT NOT NULL,
  key        TEXT NOT NULL,
  PRIMARY KEY (contractor, key)
) WITHOUT ROWID;

CREATE TABLE contractor_stats (
  contractor             TEXT PRIMARY KEY,
  workflows_participated INTEGER NOT NULL DEFAULT 0,
  handoffs_finished      INTEGER NOT NULL DEFAULT 0,
  handoffs_failed        INTEGER NOT NULL DEFAULT 0,
  handoff_time_sum_ms    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE contractor_errors (
  contractor TEXT NOT NULL,
  error      TEXT NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (contractor, error)
) WITHOUT ROWID;

CREATE TABLE workflow_stats (
  workflow_id      TEXT PRIMARY KEY,
  total            INTEGER NOT NULL,
  successful       INTEGER NOT NULL,
  failed           INTEGER NOT NULL,
  duration_sum_ms  INTEGER NOT NULL,
  duration_min_ms  INTEGER,
  duration_max_ms  INTEGER,
  last_at          INTEGER,
  last_status      TEXT,
  last_duration_ms INTEGER
);

CREATE TABLE workflow_duration_buckets (
  workflow_id TEXT NOT NULL,
  bucket      INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, bucket)
) WITHOUT ROWID;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'approvals', sql: APPROVALS_MIGRATION_SQL },
  { version: 3, name: 'approvals_list', sql: APPROVALS_LIST_MIGRATION_SQL },
  { version: 4, name: 'run_parties', sql: RUN_PARTIES_MIGRATION_SQL },
];
