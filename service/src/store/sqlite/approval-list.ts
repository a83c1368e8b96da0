// Listing approvals in the SQLite store: migration 3 (approvals_list) and the newest-first
// keyset pages of GET /v1/approvals.
//
// Filters on status and created_by walk an index of the approvals table ending in
// (created_at, id). The approver filter cannot use the table: approvers live in the JSON
// body. They get a table of their own, approval_approvers (approver, created_at,
// approval_id), filled by a trigger on every approval insert (approvers never change after
// creation) and, for approvals made before this migration, from their bodies. An approver's
// page walks that table's primary key and joins the approvals, so every page is exact: at
// most limit+1 rows come back, and a short page means there is nothing more.
//
// The migration also adds approval.cancelled to the callbacks of approvals still pending
// (created with the three other outcome events), so that a cancellation reaches them too.

import type Database from 'better-sqlite3';
import type { Approval } from '../../domain/types.ts';
import { decodeCursor, pageOf } from '../cursor.ts';
import type { ApprovalQuery, Page } from '../store.ts';
import { ListStatements, type Params } from './lists.ts';

export const APPROVALS_LIST_MIGRATION_SQL = `
CREATE INDEX approvals_status            ON approvals (status, created_at, id);
CREATE INDEX approvals_created_by_status ON approvals (created_by, status, created_at, id);
CREATE INDEX approvals_created           ON approvals (created_at, id);

CREATE TABLE approval_approvers (
  approver    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  approval_id TEXT NOT NULL,
  PRIMARY KEY (approver, created_at, approval_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO approval_approvers (approver, created_at, approval_id)
  SELECT j.value, a.created_at, a.id FROM approvals a, json_each(a.body, '$.approvers') j;

CREATE TRIGGER approvals_list_approvers AFTER INSERT ON approvals BEGIN
  INSERT OR IGNORE INTO approval_approvers (approver, created_at, approval_id)
    SELECT value, NEW.created_at, NEW.id FROM json_each(NEW.body, '$.approvers');
END;

UPDATE subscriptions SET events = substr(events, 1, length(events) - 1) || ',"approval.cancelled"]'
 WHERE subscription_id IN (SELECT json_extract(body, '$.subscription_id') FROM approvals WHERE status = 'pending')
   AND events LIKE '["%"]' AND events NOT LIKE '%"approval.cancelled"%';
`;


export class ApprovalListQuery {
  private readonly statements: ListStatements;

  constructor(db: Database.Database) {
    this.statements = new ListStatements(db);
  }

  page(query: ApprovalQuery): Page<Approval> {
    const limit = Math.max(1, Math.floor(query.limit));
    const viaApprover = query.approver !== undefined && query.approver !== null;
    // Through the approver table the order columns are its own (p.*), so its key is walked.
    const [at, id] = viaApprover ? ['p.created_at', 'p.approval_id'] : ['a.created_at', 'a.id'];
    const conditions: string[] = [];
    const params: Params = { limit: limit + 1 };
    if (viaApprover) {
      conditions.push('p.approver = @approver');
      params.approver = query.approver!;
    }
    if (query.status !== undefined && query.status !== null) {
      conditions.push('a.status = @status');
      params.status = query.status;
    }
    if (query.created_by !== undefined && query.created_by !== null) {
      conditions.push('a.created_by = @created_by');
      params.created_by = query.created_by;
    }
    if (query.cursor !== undefined && query.cursor !== null) {
      const position = decodeCursor(query.cursor);
      conditions.push(`(${at}, ${id}) < (@cursor_at, @cursor_id)`);
      params.cursor_at = position.created_at;
      params.cursor_id = position.id;
    }
    const from = viaApprover ? 'approval_approvers p JOIN approvals a ON a.id = p.approval_id' : 'approvals a';
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    const sql = `SELECT a.body AS body, a.created_at AS created_at, a.id AS id FROM ${from}${where} ORDER BY ${at} DESC, ${id} DESC LIMIT @limit`;
    return pageOf<Approval>(this.statements.get(sql).all(params), limit);
  }
}
