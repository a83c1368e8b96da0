// Approvals in the PostgreSQL store: the table and the apply function of migration 2, the
// approval's part of the mutation document, and its errors.
//
// cortex_apply_approval(m, now_ms, stats_shard) is cortex_apply (migration 1) with two
// more parts, still one statement and so one transaction:
//   1. the mutation's new subscriptions (an approval's callback), inserted first so that the
//      fan-out inside cortex_apply reaches them;
//   2. cortex_apply itself (idempotency first, as the contract orders it, then records,
//      history, outbox, timers, stats);
//   3. the approval record: an insert, or an update from the expected version; a lost race
//      raises CX409 with DETAIL 'approval', and the whole call rolls back.
// The store calls it only for mutations that carry an approval or subscriptions; every
// other mutation keeps its single cortex_apply call.

import { approvalParams, type ApprovalParams } from '../sqlite/approvals.ts';
import { subscriptionParams } from '../sqlite/rows.ts';
import { DuplicateRecord, VersionConflict, type Mutation } from '../store.ts';

export const APPROVALS_MIGRATION_SQL = `
CREATE TABLE approvals (
  id          TEXT COLLATE "C" PRIMARY KEY,
  status      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  version     INTEGER NOT NULL,
  body        TEXT NOT NULL
);
CREATE INDEX approvals_created_by ON approvals (created_by, created_at, id);

CREATE FUNCTION cortex_apply_approval(m jsonb, now_ms bigint, stats_shard smallint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  v_rec jsonb;
  v_changed bigint;
BEGIN
  INSERT INTO subscriptions (subscription_id, owner, url, events, filter, secret, description, created_at)
  SELECT s->>'subscription_id', s->>'owner', s->>'url', s->>'events', s->>'filter', s->>'secret', s->>'description',
         (s->>'created_at')::bigint
    FROM jsonb_array_elements(coalesce(m->'subscriptions', '[]'::jsonb)) WITH ORDINALITY AS x(s, n)
   ORDER BY x.n;

  PERFORM cortex_apply(m, now_ms, stats_shard);

  v_rec := m->'approval';
  IF jsonb_typeof(v_rec) = 'object' THEN
    IF v_rec->>'op' = 'insert' THEN
      INSERT INTO approvals (id, status, created_by, created_at, version, body)
      VALUES (v_rec->>'id', v_rec->>'status', v_rec->>'created_by', (v_rec->>'created_at')::bigint,
              (v_rec->>'version')::integer, v_rec->>'body');
    ELSE
      UPDATE approvals SET status = v_rec->>'status', version = (v_rec->>'version')::integer, body = v_rec->>'body'
       WHERE id = v_rec->>'id' AND version = (v_rec->>'expected_version')::integer;
      GET DIAGNOSTICS v_changed = ROW_COUNT;
      IF v_changed = 0 THEN
        RAISE EXCEPTION 'approval % was changed concurrently', v_rec->>'id' USING ERRCODE = 'CX409', DETAIL = 'approval';
      END IF;
    END IF;
  END IF;
END
$fn$;
`;

/** Whether a mutation needs cortex_apply_approval rather than cortex_apply. */
export const needsApprovalApply = (m: Mutation): boolean => m.approval !== undefined || (m.subscriptions?.length ?? 0) > 0;

/** The parts of the mutation document that only cortex_apply_approval reads. */
export function approvalDocumentParts(m: Mutation): { approval?: ApprovalParams & { op: string; expected_version: number | null }; subscriptions?: unknown[] } {
  const parts: ReturnType<typeof approvalDocumentParts> = {};
  if (m.approval) {
    const write = m.approval;
    parts.approval =
      'insert' in write
        ? { op: 'insert', ...approvalParams(write.insert), expected_version: null }
        : { op: 'update', ...approvalParams(write.update), expected_version: write.expectedVersion };
  }
  if (m.subscriptions?.length) parts.subscriptions = m.subscriptions.map(subscriptionParams);
  return parts;
}

/** cortex_apply_approval's own errors as the contract's, or null. */
export function mapApprovalError(code: string | undefined, detail: string | undefined, constraint: string | undefined, m: Mutation): Error | null {
  if (code === 'CX409' && detail === 'approval' && m.approval) {
    return new VersionConflict('approval', 'insert' in m.approval ? m.approval.insert.approval_id : m.approval.update.approval_id);
  }
  if (code !== '23505') return null;
  if (constraint === 'approvals_pkey' && m.approval && 'insert' in m.approval) return new DuplicateRecord('approval', m.approval.insert.approval_id);
  if (constraint === 'subscriptions_pkey' && m.subscriptions?.length) {
    // Which one clashed is not said; with one subscription per approval it is that one.
    return new DuplicateRecord('subscription', m.subscriptions[0]!.subscription_id);
  }
  return null;
}
