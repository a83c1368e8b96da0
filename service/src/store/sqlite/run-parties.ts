// A run's parties in the SQLite store (migration 4): one row per contractor that started
// the run or owns one of its phases (domain/run-parties.ts), written in the transaction
// that inserts the run. The run's list columns are copied beside each row so that
// "runs involving X [and workflow_id] [and status], newest first" walks one index and
// stops after a page, like the lists of all runs. Only status ever changes: workflow_id
// and created_at are fixed when a run starts.

import type Database from 'better-sqlite3';
import { runParties } from '../../domain/run-parties.ts';
import type { Run } from '../../domain/types.ts';
import type { Mutation } from '../store.ts';

export const RUN_PARTIES_MIGRATION_SQL = `
CREATE TABLE run_parties (
  run_id      TEXT NOT NULL,
  contractor  TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  status      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, contractor)
) WITHOUT ROWID;
CREATE INDEX run_parties_contractor                 ON run_parties (contractor, created_at, run_id);
CREATE INDEX run_parties_contractor_workflow        ON run_parties (contractor, workflow_id, created_at, run_id);
CREATE INDEX run_parties_contractor_workflow_status ON run_parties (contractor, workflow_id, status, created_at, run_id);
CREATE INDEX run_parties_contractor_status          ON run_parties (contractor, status, created_at, run_id);

-- Backfill from the stored runs, by the rule of domain/run-parties.ts.
INSERT OR IGNORE INTO run_parties (run_id, contractor, workflow_id, status, created_at)
SELECT id, contractor, workflow_id, status, created_at FROM (
  SELECT id, json_extract(body, '$.started_by') AS contractor, workflow_id, status, created_at FROM runs
  UNION
  SELECT r.id, json_extract(phase.value, '$.contractor'), r.workflow_id, r.status, r.created_at
    FROM runs r, json_each(r.body, '$.phases') AS phase
) WHERE contractor IS NOT NULL;
`;

interface RunPartyParams {
  run_id: string;
  contractor: string;
  workflow_id: string;
  status: string;
  created_at: number;
}

export function prepareRunPartyStatements(db: Database.Database) {
  return {
    insertRunParty: db.prepare<[RunPartyParams]>(
      `INSERT INTO run_parties (run_id, contractor, workflow_id, status, created_at)
       VALUES (@run_id, @contractor, @workflow_id, @status, @created_at)`,
    ),
    // Only rows whose status moves: SQLite rewrites the index entries of a SET column.
    updateRunPartyStatus: db.prepare<[{ run_id: string; status: string }]>(
      'UPDATE run_parties SET status = @status WHERE run_id = @run_id AND status <> @status',
    ),
  };
}

export type RunPartyStatements = ReturnType<typeof prepareRunPartyStatements>;

/** Inside the apply transaction, after the run's own row was written. */
export function writeRunParties(stmts: RunPartyStatements, write: NonNullable<Mutation['run']>): void {
  if ('update' in write) {
    stmts.updateRunPartyStatus.run({ run_id: write.update.run_id, status: write.update.status });
    return;
  }
  const run: Run = write.insert;
  for (const contractor of runParties(run)) {
    stmts.insertRunParty.run({ run_id: run.run_id, contractor, workflow_id: run.workflow_id, status: run.status, created_at: run.created_at });
  }
}
