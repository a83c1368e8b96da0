// Applies in flight at once: the contract part (store-concurrent-applies.ts) on SQLite and
// PostgreSQL, and SQLite's group commit itself — the applies of one event-loop turn share
// one transaction, each in its own savepoint, and are answered after its COMMIT.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HandoffService } from '../../service/src/domain/handoffs.ts';
import { silentObserver, type Principal } from '../../service/src/domain/principal.ts';
import { RunService } from '../../service/src/domain/runs.ts';
import type { Handoff } from '../../service/src/domain/types.ts';
import { createLogger } from '../../service/src/log.ts';
import { createTimeoutSweep } from '../../service/src/loops/timeout-sweeper.ts';
import { MAX_GROUP_SIZE, type GroupCommitter } from '../../service/src/store/sqlite/group-commit.ts';
import { SqliteStore } from '../../service/src/store/sqlite/sqlite-store.ts';
import { VersionConflict, type Mutation } from '../../service/src/store/store.ts';
import { concurrentAppliesContract, fullCreate } from './store-concurrent-applies.ts';
import { makeHandoff, makeSubscription } from './store-contract.ts';
import { assertPostgresReachable, dropSchemas, openTestStore } from './pg.ts';

const dirs: string[] = [];
function tempDbPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-group-'));
  dirs.push(dir);
  return path.join(dir, 'cortex.db');
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

concurrentAppliesContract('sqlite (file)', async () => SqliteStore.open(tempDbPath()));

describe('concurrent applies on postgres', () => {
  before(assertPostgresReachable);
  after(dropSchemas);
  concurrentAppliesContract('postgres', () => openTestStore());
});

type Internals = { committer: GroupCommitter; db: Database.Database };

describe('SQLite group commit', () => {
  it('commits the applies of one turn in one transaction and answers each after the COMMIT', async () => {
    const file = tempDbPath();
    const store = SqliteStore.open(file);
    const { committer } = store as unknown as Internals;
    // Another connection sees only what is committed.
    const reader = new Database(file, { readonly: true });
    const committed = reader.prepare('SELECT COUNT(*) FROM handoffs').pluck();
    try {
      const before = { ...committer.stats };
      const handoffs = Array.from({ length: 10 }, () => makeHandoff());
      const seenWhenAnswered: number[] = [];
      const stale: Mutation = { handoff: { update: { ...makeHandoff(), version: 2 }, expectedVersion: 1 } };
      const calls = [...handoffs.map((h) => fullCreate(h)), stale].map((m) =>
        store.apply(m).then(
          () => void seenWhenAnswered.push(committed.get() as number),
          (error: unknown) => {
            seenWhenAnswered.push(committed.get() as number);
            throw error;
          },
        ),
      );
      const settled = await Promise.allSettled(calls);
      assert.equal(committer.stats.groups - before.groups, 1, 'one transaction');
      assert.equal(committer.stats.mutations - before.mutations, 11);
      assert.deepEqual(settled.map((s) => s.status), [...Array(10).fill('fulfilled'), 'rejected']);
      assert.ok((settled[10] as PromiseRejectedResult).reason instanceof VersionConflict);
      // Every caller, the losing one too, was answered once all ten were visible to others.
      assert.deepEqual(seenWhenAnswered, Array(11).fill(10));
    } finally {
      reader.close();
      await store.close();
    }
  });

  it(`holds at most ${MAX_GROUP_SIZE} mutations per transaction`, async () => {
    const store = SqliteStore.open(tempDbPath());
    const { committer } = store as unknown as Internals;
    try {
      const count = MAX_GROUP_SIZE * 2 + 5;
      const handoffs = Array.from({ length: count }, () => makeHandoff());
      await Promise.all(handoffs.map((h) => store.apply(fullCreate(h))));
      assert.equal(committer.stats.largest, MAX_GROUP_SIZE);
      assert.equal(committer.stats.groups, 3);
      assert.equal((await store.listHandoffs({ limit: 500 })).items.length, count);
      assert.equal(await store.countTimers(), count);
    } finally {
      await store.close();
    }
  });

  it('applies awaited one after another still commit one by one', async () => {
    const store = SqliteStore.open(tempDbPath());
    const { committer } = store as unknown as Internals;
    try {
      for (let i = 0; i < 3; i++) await store.apply(fullCreate(makeHandoff()));
      assert.equal(committer.stats.groups, 3);
      assert.equal(committer.stats.largest, 1);
    } finally {
      await store.close();
    }
  });

  it('a group that cannot commit rejects every caller and writes nothing', async () => {
    const file = tempDbPath();
    const store = SqliteStore.open(file);
    const { db } = store as unknown as Internals;
    const other = new Database(file);
    try {
      db.pragma('busy_timeout = 20');
      other.exec('BEGIN IMMEDIATE'); // holds the write lock
      const handoffs = Array.from({ length: 3 }, () => makeHandoff());
      const settled = await Promise.allSettled(handoffs.map((h) => store.apply(fullCreate(h))));
      for (const s of settled) {
        assert.equal(s.status, 'rejected');
        assert.equal((s as PromiseRejectedResult).reason.code, 'SQLITE_BUSY');
      }
      other.exec('ROLLBACK');
      assert.equal(db.inTransaction, false);
      for (const h of handoffs) assert.equal(await store.getHandoff(h.handoff_id), null);
      assert.equal(await store.countTimers(), 0);
      // And the store goes on.
      await store.apply(fullCreate(handoffs[0]!));
      assert.deepEqual(await store.getHandoff(handoffs[0]!.handoff_id), handoffs[0]);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('a mutation that fails after its fan-out leaves nothing for the next ones to fan out to', async () => {
    const store = SqliteStore.open(tempDbPath());
    try {
      const event = { type: 'run.completed' as const, attributes: { run_id: 'r1' }, payload: {} };
      const sub = makeSubscription({ events: ['run.completed'] });
      // Inserts a subscription, fans out to it, then fails on a timer the driver cannot bind.
      const failing: Mutation = {
        subscriptions: [sub],
        outgoing: [event],
        timersToSet: [{ subject_kind: 'run', subject_id: 'r1', kind: 'run', due_at: undefined as unknown as number }],
      };
      const settled = await Promise.allSettled([store.apply(failing), store.apply({ outgoing: [event] })]);
      assert.equal(settled[0].status, 'rejected');
      assert.equal(settled[1].status, 'fulfilled');
      assert.equal(await store.getSubscription(sub.subscription_id), null);
      assert.deepEqual(await store.outboxCounts(), { pending: 0, delivered: 0, dead: 0 });
      await store.apply({ outgoing: [event] });
      assert.deepEqual(await store.outboxCounts(), { pending: 0, delivered: 0, dead: 0 });
    } finally {
      await store.close();
    }
  });

  it('close commits what is still queued', async () => {
    const file = tempDbPath();
    const store = SqliteStore.open(file);
    const h: Handoff = makeHandoff();
    const applied = store.apply(fullCreate(h));
    await store.close();
    await applied;
    const reopened = SqliteStore.open(file);
    try {
      assert.deepEqual(await reopened.getHandoff(h.handoff_id), h);
    } finally {
      await reopened.close();
    }
  });
});

describe('the timeout sweeper on SQLite', () => {
  it('fires a leased batch 32 at a time, committed in groups, each deadline exactly once', async () => {
    const store = SqliteStore.open(tempDbPath());
    const { committer } = store as unknown as Internals;
    let now = 1_700_000_000_000;
    const clock = { now: () => now };
    const handoffs = new HandoffService(store, clock, silentObserver);
    const runs = new RunService(store, clock, silentObserver);
    const admin: Principal = { name: 'admin', role: 'admin' };
    try {
      const base = { from_contractor: 'alice', to_contractor: 'bob', task_id: 't' };
      const pending = await Promise.all(Array.from({ length: 150 }, () => handoffs.create(admin, { ...base, claim_timeout: 1 })));
      // Completion and heartbeat deadlines of one handoff due together: only one may fire.
      const working = await Promise.all(
        Array.from({ length: 30 }, () => handoffs.create(admin, { ...base, completion_timeout: 1, heartbeat_timeout: 1 })),
      );
      for (const { record } of working) await handoffs.claim(admin, record.handoff_id);
      assert.equal(await store.countTimers(), 150 + 2 * 30);
      now += 5_000;
      const sweep = createTimeoutSweep({ store, handoffs, runs, clock, logger: createLogger('silent'), batchSize: 500, concurrency: 32 });
      const before = { ...committer.stats };
      await sweep();
      const groups = committer.stats.groups - before.groups;
      const mutations = committer.stats.mutations - before.mutations;
      assert.ok(mutations >= 180, `${mutations} mutations`);
      assert.ok(groups * 8 <= mutations, `${mutations} mutations in ${groups} transactions`);
      assert.equal(await store.countTimers(), 0);
      for (const { record } of [...pending, ...working]) {
        const h = await store.getHandoff(record.handoff_id);
        assert.equal(h?.status, 'failed');
        const timedOut = (await store.listHistory('handoff', record.handoff_id, 0, 10)).filter((e) => e.type === 'handoff.timed_out');
        assert.equal(timedOut.length, 1, record.handoff_id);
      }
      assert.equal((await store.getContractorStats('bob', 5))?.handoffs_finished, 180);
    } finally {
      await store.close();
    }
  });

  it('after firing, holds the next tick back by coalesceMs so that deadlines due meanwhile fire together', async () => {
    const store = SqliteStore.open(tempDbPath());
    let now = Date.now();
    const clock = { now: () => now };
    const handoffs = new HandoffService(store, clock, silentObserver);
    const runs = new RunService(store, clock, silentObserver);
    const admin: Principal = { name: 'admin', role: 'admin' };
    try {
      const base = { from_contractor: 'alice', to_contractor: 'bob', task_id: 't' };
      const first = await handoffs.create(admin, { ...base, claim_timeout: 0.001 });
      const second = await handoffs.create(admin, { ...base, claim_timeout: 0.002 });
      const third = await handoffs.create(admin, { ...base, claim_timeout: 0.003 });
      const deps = { store, handoffs, runs, clock, logger: createLogger('silent'), batchSize: 10 };
      now += 1;
      const started = Date.now();
      const held = await createTimeoutSweep({ ...deps, coalesceMs: 5_000 })();
      assert.equal((await store.getHandoff(first.record.handoff_id))?.status, 'failed');
      assert.ok(typeof held === 'number' && held >= started + 5_000, `next tick at ${held}, started ${started}`);
      now += 1;
      const plain = await createTimeoutSweep(deps)();
      assert.equal((await store.getHandoff(second.record.handoff_id))?.status, 'failed');
      assert.equal(plain, third.record.created_at + 3, 'without it, the next deadline');
      // A tick that fired nothing does not hold the next one back.
      assert.equal(await createTimeoutSweep({ ...deps, coalesceMs: 5_000 })(), third.record.created_at + 3);
    } finally {
      await store.close();
    }
  });
});
