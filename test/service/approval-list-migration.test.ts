// Migration 3 (approvals_list) on both stores, from a database at migration 2 that already
// holds approvals: their approvers are listed afterwards (backfilled from the bodies), the
// callbacks of pending approvals also get approval.cancelled (those of decided ones do not),
// and new approvals are listed through the insert trigger. On SQLite, the approval lists'
// query plans walk indexes without sorting.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrate as migrateSqlite } from '../../service/src/store/sqlite/migrate.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../service/src/store/sqlite/migrations.ts';
import { approvalParams } from '../../service/src/store/sqlite/approvals.ts';
import { subscriptionParams } from '../../service/src/store/sqlite/rows.ts';
import { SqliteStore } from '../../service/src/store/sqlite/sqlite-store.ts';
import { migrate as migratePostgres } from '../../service/src/store/postgres/migrate.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../../service/src/store/postgres/migrations.ts';
import type { Approval, Subscription } from '../../service/src/domain/types.ts';
import type { Store } from '../../service/src/store/store.ts';
import { makeApproval, makeSubscription } from './store-contract.ts';
import { assertPostgresReachable, dropSchemas, freshSchemaName, openTestStore, schemaPool } from './pg.ts';

const FINAL = ['approval.approved', 'approval.rejected', 'approval.timed_out'] as const;

/** Two approvals made before migration 3, each with its callback: one pending, one approved. */
function earlier(): { approvals: Approval[]; subscriptions: Subscription[] } {
  const subscriptions = [makeSubscription({ events: [...FINAL] }), makeSubscription({ events: [...FINAL] })];
  const approvals = [
    makeApproval({ approvers: ['alice', 'bob'], subscription_id: subscriptions[0]!.subscription_id, created_at: 1_000 }),
    makeApproval({ approvers: ['bob'], status: 'approved', subscription_id: subscriptions[1]!.subscription_id, created_at: 2_000 }),
  ];
  return { approvals, subscriptions };
}

async function checkAfterMigration(store: Store, before: ReturnType<typeof earlier>): Promise<void> {
  const [pending, approved] = before.approvals;
  const ids = async (approver: string) => (await store.listApprovals({ approver, limit: 10 })).items.map((a) => a.approval_id);
  assert.deepEqual(await ids('alice'), [pending!.approval_id]);
  assert.deepEqual(await ids('bob'), [approved!.approval_id, pending!.approval_id]);
  assert.deepEqual((await store.getSubscription(before.subscriptions[0]!.subscription_id))?.events, [...FINAL, 'approval.cancelled']);
  assert.deepEqual((await store.getSubscription(before.subscriptions[1]!.subscription_id))?.events, [...FINAL], 'an approval already decided keeps its callback as it was');

  const later = makeApproval({ approvers: ['alice', 'carol'], created_at: 3_000 });
  await store.apply({ approval: { insert: later } });
  assert.deepEqual(await ids('alice'), [later.approval_id, pending!.approval_id]);
  assert.deepEqual(await ids('carol'), [later.approval_id]);
}

describe('migration 3 (approvals_list) on SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-m3-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists the approvals made before it by approver and lets pending callbacks hear a cancellation', async () => {
    const file = path.join(dir, 'cortex.db');
    const db = new Database(file);
    const data = earlier();
    try {
      migrateSqlite(db, SQLITE_MIGRATIONS.filter((m) => m.version < 3));
      const insertSubscription = db.prepare(
        'INSERT INTO subscriptions (subscription_id, owner, url, events, filter, secret, description, created_at) VALUES (@subscription_id, @owner, @url, @events, @filter, @secret, @description, @created_at)',
      );
      for (const s of data.subscriptions) insertSubscription.run(subscriptionParams(s));
      const insertApproval = db.prepare('INSERT INTO approvals (id, status, created_by, created_at, version, body) VALUES (@id, @status, @created_by, @created_at, @version, @body)');
      for (const a of data.approvals) insertApproval.run(approvalParams(a));
    } finally {
      db.close();
    }
    const store = SqliteStore.open(file);
    try {
      await checkAfterMigration(store, data);
    } finally {
      await store.close();
    }
  });

  it('lists approvals with indexes, not table scans or sorts', () => {
    const db = new Database(':memory:');
    try {
      migrateSqlite(db);
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
      const direct = (where: string) => `SELECT a.body FROM approvals a ${where} ORDER BY a.created_at DESC, a.id DESC LIMIT 10`;
      for (const where of ['', "WHERE a.status = 'x'", "WHERE a.created_by = 'x'", "WHERE a.created_by = 'x' AND a.status = 'y'"]) {
        const detail = plan(direct(where));
        assert.match(detail, /USING (COVERING )?INDEX/, where);
        assert.doesNotMatch(detail, /TEMP B-TREE/, where);
      }
      const viaApprover = plan(
        "SELECT a.body FROM approval_approvers p JOIN approvals a ON a.id = p.approval_id WHERE p.approver = 'x' AND a.status = 'y' ORDER BY p.created_at DESC, p.approval_id DESC LIMIT 10",
      );
      assert.match(viaApprover, /SEARCH p USING PRIMARY KEY \(approver=\?\)/);
      assert.doesNotMatch(viaApprover, /TEMP B-TREE/);
    } finally {
      db.close();
    }
  });
});

describe('migration 3 (approvals_list) on PostgreSQL', () => {
  before(assertPostgresReachable);
  after(dropSchemas);

  it('lists the approvals made before it by approver and lets pending callbacks hear a cancellation', async () => {
    const schema = freshSchemaName('m3');
    const pool = schemaPool(schema);
    const data = earlier();
    try {
      await migratePostgres(pool, schema, POSTGRES_MIGRATIONS.filter((m) => m.version < 3));
      for (const s of data.subscriptions) {
        const r = subscriptionParams(s);
        await pool.query('INSERT INTO subscriptions (subscription_id, owner, url, events, filter, secret, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          r.subscription_id,
          r.owner,
          r.url,
          r.events,
          r.filter,
          r.secret,
          r.description,
          r.created_at,
        ]);
      }
      for (const a of data.approvals) {
        const r = approvalParams(a);
        await pool.query('INSERT INTO approvals (id, status, created_by, created_at, version, body) VALUES ($1, $2, $3, $4, $5, $6)', [r.id, r.status, r.created_by, r.created_at, r.version, r.body]);
      }
    } finally {
      await pool.end();
    }
    const store = await openTestStore({ schema });
    try {
      await checkAfterMigration(store, data);
    } finally {
      await store.close();
    }
  });
});
