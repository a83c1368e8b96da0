// Listing approvals in the PostgreSQL store: migration 3 (approvals_list) and the
// newest-first keyset pages of GET /v1/approvals — the same shapes as SQLite's
// approval-list.ts: indexes of the approvals table ending in (created_at, id) for status and
// created_by, and approval_approvers (approver, created_at, approval_id), filled by a
// trigger on every approval insert and, for earlier approvals, from their bodies, for the
// approver filter. Every page reads at most limit+1 rows; a short page is the last one.
//
// The migration also adds approval.cancelled to the callbacks of approvals still pending.

import type { Pool } from 'pg';
import type { Approval } from '../../domain/types.ts';
import { decodeCursor, pageOf, type ListRow } from '../cursor.ts';
import type { ApprovalQuery, Page } from '../store.ts';

export const APPROVALS_LIST_MIGRATION_SQL = `
CREATE INDEX approvals_status            ON approvals (status, created_at, id);
CREATE INDEX approvals_created_by_status ON approvals (created_by, status, created_at, id);
CREATE INDEX approvals_created           ON approvals (created_at, id);

CREATE TABLE approval_approvers (
  approver    TEXT COLLATE "C" NOT NULL,
  created_at  BIGINT NOT NULL,
  approval_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (approver, created_at, approval_id)
);

INSERT INTO approval_approvers (approver, created_at, approval_id)
  SELECT DISTINCT j.approver, a.created_at, a.id
    FROM approvals a CROSS JOIN LATERAL json_array_elements_text(a.body::json -> 'approvers') AS j(approver);

CREATE FUNCTION cortex_approval_approvers() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO approval_approvers (approver, created_at, approval_id)
  SELECT DISTINCT j.approver, NEW.created_at, NEW.id
    FROM json_array_elements_text(NEW.body::json -> 'approvers') AS j(approver)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER approvals_list_approvers AFTER INSERT ON approvals
  FOR EACH ROW EXECUTE FUNCTION cortex_approval_approvers();

UPDATE subscriptions SET events = left(events, -1) || ',"approval.cancelled"]'
 WHERE subscription_id IN (SELECT body::json ->> 'subscription_id' FROM approvals WHERE status = 'pending')
   AND events LIKE '["%"]' AND events NOT LIKE '%"approval.cancelled"%';
`;

export async function listApprovals(pool: Pool, query: ApprovalQuery): Promise<Page<Approval>> {
  const limit = Math.max(1, Math.floor(query.limit));
  const params: (string | number)[] = [];
  const param = (value: string | number) => {
    params.push(value);
    return `$${params.length}`;
  };
  const viaApprover = query.approver !== undefined && query.approver !== null;
  // Through the approver table the order columns are its own (p.*), so its key is walked.
  const [at, id] = viaApprover ? ['p.created_at', 'p.approval_id'] : ['a.created_at', 'a.id'];
  const conditions: string[] = [];
  if (viaApprover) conditions.push(`p.approver = ${param(query.approver!)}`);
  if (query.status !== undefined && query.status !== null) conditions.push(`a.status = ${param(query.status)}`);
  if (query.created_by !== undefined && query.created_by !== null) conditions.push(`a.created_by = ${param(query.created_by)}`);
  if (query.cursor !== undefined && query.cursor !== null) {
    const position = decodeCursor(query.cursor);
    conditions.push(`(${at}, ${id}) < (${param(position.created_at)}::bigint, ${param(position.id)})`);
  }
  const from = viaApprover ? 'approval_approvers p JOIN approvals a ON a.id = p.approval_id' : 'approvals a';
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const sql = `SELECT a.body, a.created_at, a.id FROM ${from}${where} ORDER BY ${at} DESC, ${id} DESC LIMIT ${param(limit + 1)}`;
  const { rows } = await pool.query<ListRow>(sql, params);
  return pageOf<Approval>(rows, limit);
}
