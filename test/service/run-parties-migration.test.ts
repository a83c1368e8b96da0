// Migration 4 (run_parties) on databases that already hold runs: both stores are brought
// to the schema before it, get runs written the old way, are opened (which migrates), and
// then list every contractor's runs as if they had been written with the parties table.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { appliedVersions as pgApplied, migrate as pgMigrate } from '../../service/src/store/postgres/migrate.ts';
import { MIGRATIONS as PG_MIGRATIONS } from '../../service/src/store/postgres/migrations.ts';
import { mutationDocument } from '../../service/src/store/postgres/writes.ts';
import { appliedVersions, migrate } from '../../service/src/store/sqlite/migrate.ts';
import { MIGRATIONS } from '../../service/src/store/sqlite/migrations.ts';
import { runParams } from '../../service/src/store/sqlite/rows.ts';
import { SqliteStore } from '../../service/src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../service/src/store/store.ts';
import { makeRun } from './store-contract.ts';
import { assertInvolvingLists, finishSome, partyRuns } from './store-run-parties.ts';
import { assertPostgresReachable, dropSchemas, freshSchemaName, openTestStore, schemaPool } from './pg.ts';

const BEFORE = 4;

/** After the migration: the old runs' lists, status changes of old runs, and new runs beside them. */
async function checkMigrated(store: Store, runs: ReturnType<typeof partyRuns>): Promise<void> {
  await assertInvolvingLists(store, runs);
  await finishSome(store, runs);
  const fresh = makeRun({ started_by: 'ann', created_at: runs[0]!.created_at - 1, phases: [] });
  await store.apply({ run: { insert: fresh } });
  await assertInvolvingLists(store, [...runs, fresh]);
}

describe('migration 4 backfills run_parties: SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-migrate-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parties of runs stored under versions 1-3 are listed after opening', async () => {
    const file = path.join(dir, 'cortex.db');
    const runs = partyRuns();
    const db = new Database(file);
    try {
      assert.deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version < BEFORE)), [1, 2, 3]);
      const insert = db.prepare(
        `INSERT INTO runs (id, workflow_id, status, concurrency_key, created_at, version, body)
         VALUES (@id, @workflow_id, @status, @concurrency_key, @created_at, @version, @body)`,
      );
      for (const run of runs) insert.run(runParams(run));
    } finally {
      db.close();
    }
    const store = SqliteStore.open(file);
    try {
      await checkMigrated(store, runs);
    } finally {
      await store.close();
    }
    const reopened = new Database(file);
    try {
      assert.deepEqual(appliedVersions(reopened), [1, 2, 3, 4]);
    } finally {
      reopened.close();
    }
  });
});

describe('migration 4 backfills run_parties: PostgreSQL', () => {
  before(assertPostgresReachable);
  after(dropSchemas);

  it('parties of runs written by migration 1\'s cortex_apply are listed after opening', async () => {
    const schema = freshSchemaName('backfill');
    const runs = partyRuns();
    const pool = schemaPool(schema);
    try {
      assert.deepEqual(await pgMigrate(pool, schema, PG_MIGRATIONS.filter((m) => m.version < BEFORE)), [1, 2, 3]);
      for (const run of runs) {
        await pool.query('SELECT cortex_apply($1::jsonb, $2::bigint, 0::smallint)', [mutationDocument({ run: { insert: run } }, run.created_at), run.created_at]);
      }
      assert.equal((await pool.query("SELECT to_regclass('run_parties') AS t")).rows[0].t, null, 'no parties table yet');
      const store = await openTestStore({ schema });
      try {
        await checkMigrated(store, runs);
      } finally {
        await store.close();
      }
      assert.deepEqual(await pgApplied(pool), [1, 2, 3, 4]);
    } finally {
      await pool.end();
    }
  });
});
