// The Store contract against SQLite on a real file (a fresh temporary directory per
// test), plus what is particular to SQLite: migrations, reopening, concurrent files.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { subscriptionMatches } from '../../service/src/domain/subscriptions.ts';
import type { OutgoingEvent, Subscription } from '../../service/src/domain/types.ts';
import { appliedVersions, migrate } from '../../service/src/store/sqlite/migrate.ts';
import { MIGRATIONS } from '../../service/src/store/sqlite/migrations.ts';
import { SqliteStore } from '../../service/src/store/sqlite/sqlite-store.ts';
import { VersionConflict } from '../../service/src/store/store.ts';
import { makeHandoff, makeRun, makeSubscription, storeContract } from './store-contract.ts';
import { runPartiesContract } from './store-run-parties.ts';

const dirs: string[] = [];
function tempDbPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-store-'));
  dirs.push(dir);
  return path.join(dir, 'cortex.db');
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

storeContract('sqlite (file)', async () => SqliteStore.open(tempDbPath()));
runPartiesContract('sqlite (file)', async () => SqliteStore.open(tempDbPath()));

describe('SqliteStore specifics', () => {
  it('works in memory', async () => {
    const store = SqliteStore.open(':memory:');
    await store.ping();
    await store.apply({ handoff: { insert: makeHandoff({ handoff_id: 'h1' }) } });
    assert.equal((await store.getHandoff('h1'))?.handoff_id, 'h1');
    await store.close();
    await store.close(); // closing twice is harmless
  });

  it('sets WAL, synchronous NORMAL, a busy timeout and foreign keys', async () => {
    const file = tempDbPath();
    const store = SqliteStore.open(file);
    await store.close();
    const db = new Database(file);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal'); // persistent in the file
    } finally {
      db.close();
    }
    // The per-connection settings are checked through the store's own connection.
    const again = SqliteStore.open(file) as unknown as { db: Database.Database; close(): Promise<void> };
    assert.equal(again.db.pragma('synchronous', { simple: true }), 1);
    assert.ok((again.db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
    assert.equal(again.db.pragma('foreign_keys', { simple: true }), 1);
    await again.close();
  });

  it('applies migrations once however often the file is opened or migrated', async () => {
    const file = tempDbPath();
    const first = SqliteStore.open(file);
    await first.migrate();
    await first.apply({ handoff: { insert: makeHandoff({ handoff_id: 'kept' }) } });
    await first.close();
    const second = SqliteStore.open(file);
    await second.migrate();
    assert.equal((await second.getHandoff('kept'))?.handoff_id, 'kept');
    await second.close();

    const db = new Database(file);
    try {
      assert.deepEqual(appliedVersions(db), MIGRATIONS.map((m) => m.version));
      const rows = db.prepare('SELECT version, name, applied_at FROM schema_migrations').all() as {
        version: number;
        name: string;
        applied_at: number;
      }[];
      assert.equal(rows.length, MIGRATIONS.length);
      assert.deepEqual(migrate(db), [], 'nothing left to apply');
    } finally {
      db.close();
    }
  });

  it('applies a later migration in its own transaction and rolls back a failing one', () => {
    const db = new Database(':memory:');
    try {
      const known = MIGRATIONS.map((m) => m.version);
      const next = Math.max(...known) + 1;
      assert.deepEqual(migrate(db), known);
      const extra = [
        ...MIGRATIONS,
        { version: next, name: 'extra', sql: 'CREATE TABLE extra_a (x INTEGER);' },
        { version: next + 1, name: 'broken', sql: 'CREATE TABLE extra_b (x INTEGER); THIS IS NOT SQL;' },
      ];
      assert.throws(() => migrate(db, extra), new RegExp(`^Error: migration ${next + 1} \\(broken\\) failed: .*syntax error`));
      assert.deepEqual(appliedVersions(db), [...known, next]);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'extra_%'").pluck().all();
      assert.deepEqual(tables, ['extra_a'], 'the failing migration left nothing behind');
    } finally {
      db.close();
    }
  });

  it('keeps every record across close and reopen', async () => {
    const file = tempDbPath();
    const store = SqliteStore.open(file);
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
    await store.putDefinition({ workflow_id: 'wf', workflow_name: 'W', version: '1', contractors: [], phases: [] }, 7);
    await store.close();

    const reopened = SqliteStore.open(file);
    assert.deepEqual(await reopened.getHandoff(h.handoff_id), h);
    assert.deepEqual(await reopened.getRun(r.run_id), r);
    assert.equal((await reopened.listHistory('handoff', h.handoff_id, 0, 10)).length, 1);
    assert.deepEqual(await reopened.outboxCounts(), { pending: 1, delivered: 0, dead: 0 });
    assert.equal(await reopened.nextTimerDue(), 42);
    assert.equal((await reopened.getWorkflowStats('wf'))?.total, 1);
    assert.equal((await reopened.getDefinition('wf'))?.workflow_name, 'W');
    assert.deepEqual(await reopened.getSubscription(sub.subscription_id), sub);
    await reopened.close();
  });

  it('sees subscriptions and versions written by another connection to the same file', async () => {
    const file = tempDbPath();
    const a = SqliteStore.open(file);
    const b = SqliteStore.open(file);
    try {
      const event: OutgoingEvent = { type: 'run.completed', attributes: { run_id: 'r' }, payload: {} };
      await a.apply({ outgoing: [event] }); // warms a's subscription cache (empty)
      const sub = makeSubscription({ events: ['run.completed'] });
      await b.createSubscription(sub);
      await a.apply({ outgoing: [event] });
      assert.equal((await b.outboxCounts()).pending, 1, 'a noticed the subscription b created');
      await b.deleteSubscription(sub.subscription_id);
      await a.apply({ outgoing: [event] });
      assert.equal((await a.outboxCounts()).pending, 0, 'a noticed the deletion');

      const h = makeHandoff();
      await a.apply({ handoff: { insert: h } });
      await b.apply({ handoff: { update: { ...h, version: 2, status: 'in_progress' }, expectedVersion: 1 } });
      await assert.rejects(
        a.apply({ handoff: { update: { ...h, version: 2, status: 'failed' }, expectedVersion: 1 } }),
        (err: unknown) => err instanceof VersionConflict,
      );
      assert.equal((await a.getHandoff(h.handoff_id))?.status, 'in_progress');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('checkpoints the WAL from its worker thread, and can be told not to', async () => {
    type Internals = { checkpointer: { last: { log: number; checkpointed: number } | null } | null; db: Database.Database };
    const store = SqliteStore.open(tempDbPath());
    try {
      const internals = store as unknown as Internals;
      assert.ok(internals.checkpointer, 'a file store starts the checkpointer');
      assert.equal(internals.db.pragma('wal_autocheckpoint', { simple: true }), 16384);
      for (let i = 0; i < 20; i++) await store.apply({ handoff: { insert: makeHandoff() } });
      const deadline = Date.now() + 5000;
      let last = internals.checkpointer.last;
      while ((!last || last.checkpointed < last.log) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        last = internals.checkpointer.last;
      }
      assert.ok(last && last.log > 0 && last.checkpointed === last.log, `worker checkpointed: ${JSON.stringify(last)}`);
    } finally {
      await store.close();
    }
    const plain = SqliteStore.open(tempDbPath(), { backgroundCheckpoints: false });
    const internals = plain as unknown as Internals;
    assert.equal(internals.checkpointer, null);
    assert.equal(internals.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    await plain.close();
    const memory = SqliteStore.open(':memory:') as unknown as Internals & { close(): Promise<void> };
    assert.equal(memory.checkpointer, null);
    await memory.close();
  });

  it('lists with indexes, not table scans', () => {
    const db = new Database(':memory:');
    try {
      migrate(db);
      const plan = (sql: string, ...params: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');
      const order = 'ORDER BY created_at DESC, id DESC LIMIT 10';
      for (const where of ['to_contractor = ? AND status = ?', 'from_contractor = ?', 'task_id = ?', 'run_id = ?']) {
        const args = where.split('?').length - 1;
        const detail = plan(`SELECT body FROM handoffs WHERE ${where} ${order}`, ...Array(args).fill('x'));
        assert.match(detail, /USING INDEX/, where);
        assert.doesNotMatch(detail, /TEMP B-TREE/, where);
      }
      const byParty = 'ORDER BY created_at DESC, run_id DESC LIMIT 10';
      for (const where of ['contractor = ?', 'contractor = ? AND workflow_id = ?', 'contractor = ? AND status = ?', 'contractor = ? AND workflow_id = ? AND status = ?']) {
        const args = where.split('?').length - 1;
        const detail = plan(`SELECT run_id FROM run_parties WHERE ${where} AND (created_at, run_id) < (?, ?) ${byParty}`, ...Array(args).fill('x'), 1, 'r');
        assert.match(detail, /USING COVERING INDEX run_parties_contractor/, where);
        assert.doesNotMatch(detail, /TEMP B-TREE/, where);
      }
      assert.match(plan('SELECT MIN(due_at) FROM timers'), /USING COVERING INDEX timers_due/);
      assert.match(
        plan("SELECT 1 FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 5", 1),
        /USING (COVERING )?INDEX outbox_due/,
      );
    } finally {
      db.close();
    }
  });
});

describe('subscriptionMatches', () => {
  const sub = (events: Subscription['events'], filter: Subscription['filter']) => ({ events, filter });
  const event = (attributes: OutgoingEvent['attributes']): OutgoingEvent => ({
    type: 'handoff.created',
    attributes,
    payload: {},
  });

  it('needs the event type to be listed', () => {
    assert.equal(subscriptionMatches(sub(['handoff.created'], {}), event({})), true);
    assert.equal(subscriptionMatches(sub(['handoff.completed'], {}), event({})), false);
    assert.equal(subscriptionMatches(sub([], {}), event({})), false);
  });

  it('needs every filter key to equal the event attribute', () => {
    const e = event({ to_contractor: 'bob', from_contractor: 'amy', handoff_id: 'h1' });
    assert.equal(subscriptionMatches(sub(['handoff.created'], { to_contractor: 'bob' }), e), true);
    assert.equal(subscriptionMatches(sub(['handoff.created'], { to_contractor: 'bob', from_contractor: 'amy' }), e), true);
    assert.equal(subscriptionMatches(sub(['handoff.created'], { to_contractor: 'bob', from_contractor: 'zed' }), e), false);
    assert.equal(subscriptionMatches(sub(['handoff.created'], { to_contractor: 'Bob' }), e), false);
  });

  it('does not match a filter key the event does not carry', () => {
    const e = event({ to_contractor: 'bob' });
    assert.equal(subscriptionMatches(sub(['handoff.created'], { run_id: 'r1' }), e), false);
    assert.equal(subscriptionMatches(sub(['handoff.created'], { workflow_id: 'wf' }), e), false);
  });
});
