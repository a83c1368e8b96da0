// A run's parties in the PostgreSQL store (migration 4): the table and indexes of
// ../sqlite/run-parties.ts, the backfill of the stored runs, and cortex_apply replaced
// (CREATE OR REPLACE; migration 1's text stays as existing schemas ran it) by the same
// function with one more step after the run's own row:
//   an insert: one run_parties row per party, taken from the run's body by
//              cortex_run_parties, the rule of domain/run-parties.ts in SQL;
//   an update: the new status copied onto the rows whose status differs.
// The parties come from the body rather than from the client, so that a replica of an
// older version still writing runs during a rolling upgrade writes their parties too.
// cortex_apply_approval (migration 2) calls cortex_apply and so gets the new step as well.

import { APPLY_FUNCTION_SQL } from './apply-function.ts';

const PARTIES_STEP = `
  v_rec := m->'run';
  IF jsonb_typeof(v_rec) = 'object' THEN
    IF v_rec->>'op' = 'insert' THEN
      INSERT INTO run_parties (run_id, contractor, workflow_id, status, created_at)
      SELECT v_rec->>'id', p.contractor, v_rec->>'workflow_id', v_rec->>'status', (v_rec->>'created_at')::bigint
        FROM cortex_run_parties((v_rec->>'body')::jsonb) AS p(contractor);
    ELSE
      UPDATE run_parties SET status = v_rec->>'status'
       WHERE run_id = v_rec->>'id' AND status <> v_rec->>'status';
    END IF;
  END IF;

`;

/** Replaces `anchor` (which must occur exactly once) with `replacement`. */
function replaceOnce(text: string, anchor: string, replacement: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) throw new Error(`cortex_apply: anchor not found exactly once: ${anchor}`);
  return text.slice(0, at) + replacement + text.slice(at + anchor.length);
}

const HISTORY_STEP = '  INSERT INTO history (subject_kind, subject_id, type, actor, at, data)';

/** Migration 1's cortex_apply with the parties step between the records and the history. */
const APPLY_FUNCTION_WITH_PARTIES_SQL = replaceOnce(
  replaceOnce(APPLY_FUNCTION_SQL, 'CREATE FUNCTION cortex_apply(', 'CREATE OR REPLACE FUNCTION cortex_apply('),
  HISTORY_STEP,
  PARTIES_STEP + HISTORY_STEP,
);

export const RUN_PARTIES_MIGRATION_SQL = `
CREATE TABLE run_parties (
  run_id      TEXT COLLATE "C" NOT NULL,
  contractor  TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  status      TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (run_id, contractor)
);
CREATE INDEX run_parties_contractor                 ON run_parties (contractor, created_at, run_id);
CREATE INDEX run_parties_contractor_workflow        ON run_parties (contractor, workflow_id, created_at, run_id);
CREATE INDEX run_parties_contractor_workflow_status ON run_parties (contractor, workflow_id, status, created_at, run_id);
CREATE INDEX run_parties_contractor_status          ON run_parties (contractor, status, created_at, run_id);

-- The contractor that started the run and the contractors of its phases, each once.
CREATE FUNCTION cortex_run_parties(body jsonb) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT body->>'started_by' WHERE body->>'started_by' IS NOT NULL
  UNION
  SELECT phase->>'contractor'
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body->'phases') = 'array' THEN body->'phases' ELSE '[]'::jsonb END) AS phase
   WHERE phase->>'contractor' IS NOT NULL
$fn$;

INSERT INTO run_parties (run_id, contractor, workflow_id, status, created_at)
SELECT r.id, p.contractor, r.workflow_id, r.status, r.created_at
  FROM runs r CROSS JOIN LATERAL cortex_run_parties(r.body::jsonb) AS p(contractor)
ON CONFLICT DO NOTHING;
${APPLY_FUNCTION_WITH_PARTIES_SQL}`;
