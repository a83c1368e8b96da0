// PostgreSQL schema migrations, embedded like the SQLite ones. Append new ones with the
// next version; never edit an applied one. Tables are created unqualified: every
// connection of the store has search_path set to the store's schema.
//
// The same shape as SQLite: list columns beside the whole record as JSON text in `body`
// (text, not jsonb, so that a record reads back byte for byte as it was written), times
// as BIGINT epoch milliseconds, indexes ending in (created_at, id) for keyset pages.
// Columns that lists sort on use COLLATE "C" (byte order) so that pages come back in
// the same order as on SQLite whatever the database's default collation is.
//
// Differences from SQLite: history.seq and definitions.seq are identities (the latter
// breaks created_at ties by storage order, what SQLite's rowid does); outbox counts are
// counted on demand rather than kept by triggers, because one counter row updated by
// every fan-out would serialize all writers of all replicas on that row; for the same
// reason the stats counters are sharded (see below).

import { APPLY_FUNCTION_SQL } from './apply-function.ts';
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
  id              TEXT COLLATE "C" PRIMARY KEY,
  from_contractor TEXT NOT NULL,
  to_contractor   TEXT NOT NULL,
  task_id         TEXT NOT NULL,
  run_id          TEXT,
  status          TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  version         INTEGER NOT NULL,
  body            TEXT NOT NULL
);
CREATE INDEX handoffs_to_status ON handoffs (to_contractor, status, created_at, id);
CREATE INDEX handoffs_to        ON handoffs (to_contractor, created_at, id);
CREATE INDEX handoffs_from      ON handoffs (from_contractor, created_at, id);
CREATE INDEX handoffs_task      ON handoffs (task_id, created_at, id);
CREATE INDEX handoffs_run       ON handoffs (run_id, created_at, id) WHERE run_id IS NOT NULL;
CREATE INDEX handoffs_status    ON handoffs (status, created_at, id);
CREATE INDEX handoffs_created   ON handoffs (created_at, id);

CREATE TABLE runs (
  id              TEXT COLLATE "C" PRIMARY KEY,
  workflow_id     TEXT NOT NULL,
  status          TEXT NOT NULL,
  concurrency_key TEXT,
  created_at      BIGINT NOT NULL,
  version         INTEGER NOT NULL,
  body            TEXT NOT NULL
);
CREATE UNIQUE INDEX runs_concurrency_running ON runs (concurrency_key)
  WHERE status = 'running' AND concurrency_key IS NOT NULL;
CREATE INDEX runs_workflow        ON runs (workflow_id, created_at, id);
CREATE INDEX runs_workflow_status ON runs (workflow_id, status, created_at, id);
CREATE INDEX runs_status          ON runs (status, created_at, id);
CREATE INDEX runs_created         ON runs (created_at, id);

CREATE TABLE history (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject_kind TEXT NOT NULL,
  subject_id   TEXT NOT NULL,
  type         TEXT NOT NULL,
  actor        TEXT NOT NULL,
  at           BIGINT NOT NULL,
  data         TEXT NOT NULL
);
CREATE INDEX history_subject ON history (subject_kind, subject_id, seq);

CREATE TABLE timers (
  subject_kind TEXT NOT NULL,
  subject_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,
  due_at       BIGINT NOT NULL,
  lease_until  BIGINT,
  PRIMARY KEY (subject_kind, subject_id, kind)
);
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE idempotency (
  principal    TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  body         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  CONSTRAINT idempotency_pkey PRIMARY KEY (principal, key)
);

CREATE TABLE definitions (
  workflow_id   TEXT COLLATE "C" NOT NULL,
  version       TEXT COLLATE "C" NOT NULL,
  workflow_name TEXT NOT NULL,
  body          TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  seq           BIGINT GENERATED ALWAYS AS IDENTITY,
  CONSTRAINT definitions_pkey PRIMARY KEY (workflow_id, version)
);
CREATE INDEX definitions_latest ON definitions (workflow_id, created_at, seq);

CREATE TABLE subscriptions (
  subscription_id TEXT COLLATE "C" PRIMARY KEY,
  owner           TEXT NOT NULL,
  url             TEXT NOT NULL,
  events          TEXT NOT NULL,
  filter          TEXT NOT NULL,
  secret          TEXT NOT NULL,
  description     TEXT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at, subscription_id);

CREATE TABLE outbox (
  message_id      TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until     BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  finished_at     BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_subscription ON outbox (subscription_id, status);

CREATE TABLE contractor_participation (
  contractor TEXT NOT NULL,
  key        TEXT NOT NULL,
  PRIMARY KEY (contractor, key)
);

-- Counters are split over a few shard rows per contractor / workflow (a writer picks one
-- shard per transaction; readers add the shards up): every finished handoff of one
-- contractor would otherwise queue on one row lock held until its commit is on disk.
CREATE TABLE contractor_stats (
  contractor             TEXT COLLATE "C" NOT NULL,
  shard                  SMALLINT NOT NULL,
  workflows_participated BIGINT NOT NULL DEFAULT 0,
  handoffs_finished      BIGINT NOT NULL DEFAULT 0,
  handoffs_failed        BIGINT NOT NULL DEFAULT 0,
  handoff_time_sum_ms    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (contractor, shard)
);

CREATE TABLE contractor_errors (
  contractor TEXT NOT NULL,
  error      TEXT COLLATE "C" NOT NULL,
  shard      SMALLINT NOT NULL,
  count      BIGINT NOT NULL,
  PRIMARY KEY (contractor, error, shard)
);

-- last_seq orders finished runs with the same last_at across shards (the later applied
-- one is the last, as on SQLite).
CREATE SEQUENCE workflow_finish_seq;
CREATE TABLE workflow_stats (
  workflow_id      TEXT COLLATE "C" NOT NULL,
  shard            SMALLINT NOT NULL,
  total            BIGINT NOT NULL,
  successful       BIGINT NOT NULL,
  failed           BIGINT NOT NULL,
  duration_sum_ms  BIGINT NOT NULL,
  duration_min_ms  BIGINT,
  duration_max_ms  BIGINT,
  last_at          BIGINT,
  last_seq         BIGINT,
  last_status      TEXT,
  last_duration_ms BIGINT,
  PRIMARY KEY (workflow_id, shard)
);

CREATE TABLE workflow_duration_buckets (
  workflow_id TEXT NOT NULL,
  bucket      INTEGER NOT NULL,
  shard       SMALLINT NOT NULL,
  count       BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, bucket, shard)
);
${APPLY_FUNCTION_SQL}`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'approvals', sql: APPROVALS_MIGRATION_SQL },
  { version: 3, name: 'approvals_list', sql: APPROVALS_LIST_MIGRATION_SQL },
  { version: 4, name: 'run_parties', sql: RUN_PARTIES_MIGRATION_SQL },
];
