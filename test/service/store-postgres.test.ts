// The Store contract against PostgreSQL (the machine's server; a fresh schema per store,
// dropped at the end), plus what is particular to PostgreSQL: migrations under the
// advisory lock when two stores open at once, idempotency keys and timer leases across
// several stores (as several replicas would have).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Timer } from '../../service/src/domain/types.ts';
import { appliedVersions, migrate } from '../../service/src/store/postgres/migrate.ts';
import { MIGRATIONS } from '../../service/src/store/postgres/migrations.ts';
import { PostgresStore } from '../../service/src/store/postgres/postgres-store.ts';
import { IdempotencyKeyTaken, VersionConflict } from '../../service/src/store/store.ts';
import { makeHandoff, makeRun, makeSubscription, storeContract } from './store-contract.ts';
import { runPartiesContract } from './store-run-parties.ts';
import { TEST_DATABASE_URL, assertPostgresReachable, dropSchemas, freshSchemaName, openTestStore, schemaPool } from './pg.ts';

before(assertPostgresReachable);
after(dropSchemas);

storeContract('postgres', () => openTestStore());
runPartiesContract('postgres', () => openTestStore());

describe('PostgresStore specifics', () => {
  it('two stores opening an empty schema at once migrate it once', async () => {
    const schema = freshSchemaName('migrate');
    const [a, b] = await Promise.all([
      PostgresStore.open(TEST_DATABASE_URL, { schema }),
      PostgresStore.open(TEST_DATABASE_URL, { schema }),
    ]);
    const pool = schemaPool(schema);
    try {
      assert.deepEqual(await appliedVersions(pool), MIGRATIONS.map((m) => m.version));
      const rows = await pool.query('SELECT version FROM schema_migrations');
      assert.equal(rows.rowCount, MIGRATIONS.length);
      assert.deepEqual(await migrate(pool, schema), [], 'nothing left to apply');
      // Both work on the same tables.
      const h = makeHandoff();
      await a.apply({ handoff: { insert: h } });
      assert.deepEqual(await b.getHandoff(h.handoff_id), h);
      // Ten more at once still find nothing to do.
      const more = await Promise.all(Array.from({ length: 10 }, () => PostgresStore.open(TEST_DATABASE_URL, { schema, poolSize: 1 })));
      await Promise.all(more.map((s) => s.close()));
      assert.equal((await pool.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n, MIGRATIONS.length);
    } finally {
      await pool.end();
      await a.close();
      await b.close();
    }
  });

  it('applies a later migration in its own transaction and rolls back a failing one', async () => {
    const schema = freshSchemaName('migrate');
    const store = await openTestStore({ schema });
    const pool = schemaPool(schema);
    try {
      const known = MIGRATIONS.map((m) => m.version);
      const next = Math.max(...known) + 1;
      const extra = [
        ...MIGRATIONS,
        { version: next, name: 'extra', sql: 'CREATE TABLE extra_a (x INTEGER);' },
        { version: next + 1, name: 'broken', sql: 'CREATE TABLE extra_b (x INTEGER); THIS IS NOT SQL;' },
      ];
      await assert.rejects(migrate(pool, schema, extra), new RegExp(`^Error: migration ${next + 1} \\(broken\\) failed: .*syntax error`));
      assert.deepEqual(await appliedVersions(pool), [...known, next]);
      const tables = await pool.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'extra_%'",
        [schema],
      );
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['extra_a'], 'the failing migration left nothing behind');
    } finally {
      await pool.end();
      await store.close();
    }
  });

  it('keeps its tables in its own schema and refuses odd schema names', async () => {
    const schema = freshSchemaName('own');
    const store = await openTestStore({ schema });
    const other = await openTestStore();
    try {
      const h = makeHandoff();
      await store.apply({ handoff: { insert: h } });
      assert.equal(await other.getHandoff(h.handoff_id), null, 'another schema is another store');
      const pool = schemaPool(schema);
      try {
        const n = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".handoffs`);
        assert.equal(n.rows[0].n, 1);
      } finally {
        await pool.end();
      }
      for (const bad of ['Bad', 'x;drop', 'a b', '', '1abc']) {
        await assert.rejects(PostgresStore.open(TEST_DATABASE_URL, { schema: bad }), /invalid PostgreSQL schema name/);
      }
    } finally {
      await store.close();
      await other.close();
      await store.close(); // closing twice is harmless
    }
  });

  it('concurrent applies of one idempotency key from two stores: one wins, the other gets IdempotencyKeyTaken', async () => {
    const schema = freshSchemaName('idem');
    const a = await openTestStore({ schema });
    const b = await openTestStore({ schema });
    try {
      for (let round = 0; round < 20; round++) {
        const key = `key-${round}`;
        const record = (body: string) => ({ principal: 'alice', key, request_hash: `sha256:${body}`, status: 201, body, created_at: round });
        const ha = makeHandoff();
        const hb = makeHandoff();
        const results = await Promise.allSettled([
          a.apply({ handoff: { insert: ha }, idempotency: record('a') }),
          b.apply({ handoff: { insert: hb }, idempotency: record('b') }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one wins`);
        assert.equal(lost.length, 1);
        const error = lost[0]!.reason as unknown;
        assert.ok(error instanceof IdempotencyKeyTaken, `round ${round}: got ${String(error)}`);
        const winner = results[0]!.status === 'fulfilled' ? 'a' : 'b';
        assert.deepEqual(error.existing, record(winner));
        assert.equal((await a.getHandoff(ha.handoff_id)) !== null, winner === 'a');
        assert.equal((await a.getHandoff(hb.handoff_id)) !== null, winner === 'b');
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('many concurrent updates of one record from two stores: exactly one per version', async () => {
    const schema = freshSchemaName('race');
    const a = await openTestStore({ schema });
    const b = await openTestStore({ schema });
    try {
      const h = makeHandoff();
      await a.apply({ handoff: { insert: h } });
      const tries = Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).apply({ handoff: { update: { ...h, version: 2, task_id: `t${i}` }, expectedVersion: 1 } }),
      );
      const results = await Promise.allSettled(tries);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof VersionConflict, String(r.reason));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('claimDueTimers from several stores in parallel never hands out one timer twice', async () => {
    const schema = freshSchemaName('timers');
    const stores = await Promise.all(Array.from({ length: 3 }, () => openTestStore({ schema, poolSize: 4 })));
    try {
      const T = 1_000_000;
      const timers: Timer[] = Array.from({ length: 3000 }, (_, i) => ({
        subject_kind: 'handoff',
        subject_id: `h${i}`,
        kind: 'claim',
        due_at: T + (i % 97),
      }));
      for (let i = 0; i < timers.length; i += 500) await stores[0]!.apply({ timersToSet: timers.slice(i, i + 500) });
      const seen = new Map<string, number>();
      // 12 claimers (4 per store) racing with small batches, leases long enough to outlast the race.
      await Promise.all(
        Array.from({ length: 12 }, async (_, worker) => {
          const store = stores[worker % 3]!;
          for (let round = 0; round < 1000; round++) {
            const batch = await store.claimDueTimers(T + 100, 1 + (round % 37), 60_000);
            if (batch.length === 0) return;
            for (const t of batch) {
              const key = `${t.subject_id}/${t.kind}`;
              seen.set(key, (seen.get(key) ?? 0) + 1);
            }
          }
        }),
      );
      assert.equal(seen.size, timers.length, 'every due timer was handed out');
      assert.ok([...seen.values()].every((n) => n === 1), 'and none twice');
      // After the leases run out they are free again, once more each.
      const again = await Promise.all(stores.map((s) => s.claimDueTimers(T + 60_100, 5000, 1000)));
      assert.equal(again.flat().length, timers.length);
      assert.equal(new Set(again.flat().map((t) => t.subject_id)).size, timers.length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('claimDueOutbox from several stores in parallel never hands out one message twice', async () => {
    const schema = freshSchemaName('outbox');
    const stores = await Promise.all(Array.from({ length: 3 }, () => openTestStore({ schema, poolSize: 4 })));
    try {
      await stores[0]!.createSubscription(makeSubscription({ events: ['run.completed'] }));
      const event = { type: 'run.completed' as const, attributes: { run_id: 'r' }, payload: {} };
      for (let i = 0; i < 10; i++) await stores[0]!.apply({ outgoing: Array.from({ length: 100 }, () => event) });
      const ids: string[] = [];
      await Promise.all(
        Array.from({ length: 9 }, async (_, worker) => {
          for (let round = 0; round < 1000; round++) {
            const batch = await stores[worker % 3]!.claimDueOutbox(Date.now() + 1, 7, 60_000);
            if (batch.length === 0) return;
            ids.push(...batch.map((m) => m.message_id));
          }
        }),
      );
      assert.equal(ids.length, 1000);
      assert.equal(new Set(ids).size, 1000);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps every record across close and reopen', async () => {
    const schema = freshSchemaName('reopen');
    const store = await openTestStore({ schema });
    const h = makeHandoff();
    const r = makeRun({ dry_run: true, concurrency_key: 'k' });
    const sub = makeSubscription({ events: ['handoff.created'] });
    await store.createSubscription(sub);
    await store.apply({
      handoff: { insert: h },
      run: { insert: r },
      history: [{ subject_kind: 'handoff', subject_id: h.handoff_id, type: 'created', actor: 'a', at: 1, data: {} }],
      outgoing: [{ type: 'handoff.created', attributes: {}, payload: { x: 1 } }],
      timersToSet: [{ subject_kind: 'handoff', subject_id: h.handoff_id, kind: 'claim', due_at: 42 }],
      stats: [{ kind: 'run_finished', workflow_id: 'wf', status: 'completed', duration_ms: 10, at: 5 }],
    });
    await store.close();
    const reopened = await openTestStore({ schema });
    try {
      assert.deepEqual(await reopened.getHandoff(h.handoff_id), h);
      assert.deepEqual(await reopened.getRun(r.run_id), r);
      assert.equal((await reopened.listHistory('handoff', h.handoff_id, 0, 10)).length, 1);
      assert.deepEqual(await reopened.outboxCounts(), { pending: 1, delivered: 0, dead: 0 });
      assert.equal(await reopened.nextTimerDue(), 42);
      assert.equal((await reopened.getWorkflowStats('wf'))?.total, 1);
      assert.deepEqual(await reopened.getSubscription(sub.subscription_id), sub);
    } finally {
      await reopened.close();
    }
  });

  it('an unreachable server is an error saying so', async () => {
    await assert.rejects(
      PostgresStore.open('postgres://postgres@127.0.0.1:1/test', { schema: freshSchemaName('none') }),
      (error: unknown) => (error as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED|connect/.test(String(error)),
    );
  });
});
