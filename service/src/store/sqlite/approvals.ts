// Approvals in the SQLite store: the table (migration 2), its statements and the record
// write that Store.apply makes. Like handoffs and runs, the whole record is JSON in `body`
// beside the columns that queries look at.

import type Database from 'better-sqlite3';
import type { Approval } from '../../domain/types.ts';
import { DuplicateRecord, VersionConflict, type Mutation } from '../store.ts';
import { isPrimaryKeyClash } from './errors.ts';

export const APPROVALS_MIGRATION_SQL = `
CREATE TABLE approvals (
  id          TEXT PRIMARY KEY,
  status      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  body        TEXT NOT NULL
);
CREATE INDEX approvals_created_by ON approvals (created_by, created_at, id);
`;

export interface ApprovalParams {
  id: string;
  status: string;
  created_by: string;
  created_at: number;
  version: number;
  body: string;
}

export function approvalParams(approval: Approval): ApprovalParams {
  return {
    id: approval.approval_id,
    status: approval.status,
    created_by: approval.created_by,
    created_at: approval.created_at,
    version: approval.version,
    body: JSON.stringify(approval),
  };
}

export function prepareApprovalStatements(db: Database.Database) {
  return {
    insertApproval: db.prepare<[ApprovalParams]>(
      `INSERT INTO approvals (id, status, created_by, created_at, version, body)
       VALUES (@id, @status, @created_by, @created_at, @version, @body)`,
    ),
    updateApproval: db.prepare<[ApprovalParams & { expected_version: number }]>(
      `UPDATE approvals SET status = @status, version = @version, body = @body
       WHERE id = @id AND version = @expected_version`,
    ),
    getApproval: db.prepare<[string], string>('SELECT body FROM approvals WHERE id = ?').pluck(),
  };
}

export type ApprovalStatements = ReturnType<typeof prepareApprovalStatements>;

/** Inside the apply transaction. */
export function writeApproval(stmts: ApprovalStatements, write: NonNullable<Mutation['approval']>): void {
  if ('insert' in write) {
    try {
      stmts.insertApproval.run(approvalParams(write.insert));
    } catch (err) {
      if (isPrimaryKeyClash(err)) throw new DuplicateRecord('approval', write.insert.approval_id);
      throw err;
    }
    return;
  }
  if (stmts.updateApproval.run({ ...approvalParams(write.update), expected_version: write.expectedVersion }).changes === 0) {
    throw new VersionConflict('approval', write.update.approval_id);
  }
}
