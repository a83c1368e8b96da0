// Part of the Store contract: applies in flight at the same time. However a store commits
// them (SQLite groups the ones of one event-loop turn into one transaction, PostgreSQL runs
// them on several connections), each one commits or fails on its own: a mutation that
// loses rejects only its own caller and writes nothing, and the others commit whole.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Handoff, IdempotencyRecord } from '../../service/src/domain/types.ts';
import {
  ConcurrencyKeyTaken,
  DuplicateRecord,
  IdempotencyKeyTaken,
  VersionConflict,
  type Mutation,
  type Store,
} from '../../service/src/store/store.ts';
import { makeHandoff, makeRun, makeSubscription } from './store-contract.ts';

const T0 = 1_700_000_000_000;
let counter = 0;
const key = (): string => `concurrent-key-${++counter}`;

function idempotency(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return { principal: 'alice', key: key(), request_hash: 'sha256:abc', status: 201, body: '{"n":1}', created_at: T0, ...overrides };
}

/** A create with every part: record, history, event, timer, stats, idempotency. */
export function fullCreate(h: Handoff, record: IdempotencyRecord = idempotency()): Mutation {
  return {
    idempotency: record,
    handoff: { insert: h },
    history: [{ subject_kind: 'handoff', subject_id: h.handoff_id, type: 'handoff.created', actor: 'alice', at: T0, data: {} }],
    outgoing: [
      {
        type: 'handoff.created',
        attributes: { handoff_id: h.handoff_id, from_contractor: h.from_contractor, to_contractor: h.to_contractor },
        payload: { handoff_id: h.handoff_id },
      },
    ],
    timersToSet: [{ subject_kind: 'handoff', subject_id: h.handoff_id, kind: 'claim', due_at: T0 + 1000 }],
    stats: [{ kind: 'participation', contractor: h.to_contractor, key: h.handoff_id }],
  };
}

/** Nothing of this create is in the store (its record is checked by the caller). */
async function assertNoTrace(store: Store, h: Handoff, record: IdempotencyRecord | null): Promise<void> {
  assert.deepEqual(await store.listHistory('handoff', h.handoff_id, 0, 10), [], `history of ${h.handoff_id}`);
  if (record) assert.equal(await store.getIdempotency(record.principal, record.key), null, `idempotency of ${h.handoff_id}`);
}

export function concurrentAppliesContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, concurrent applies: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('each commits or fails on its own: the losers reject alone and write nothing', async () => {
      await store.createSubscription(makeSubscription({ events: ['handoff.created'] }));
      const existing = makeHandoff({ to_contractor: 'loser' });
      const taken = idempotency();
      await store.apply({ handoff: { insert: existing }, idempotency: taken });
      await store.apply({ run: { insert: makeRun({ concurrency_key: 'ck' }) } });

      const winners = Array.from({ length: 12 }, () => makeHandoff({ to_contractor: 'winner' }));
      const staleTarget = makeHandoff({ ...existing, status: 'in_progress', version: 2 });
      const stale: Mutation = { ...fullCreate(staleTarget), handoff: { update: staleTarget, expectedVersion: 5 } };
      const duplicate = makeHandoff({ handoff_id: existing.handoff_id, to_contractor: 'loser' });
      const reusedKey = makeHandoff({ to_contractor: 'loser' });
      const reusedRecord = idempotency({ key: taken.key, body: '{"other":true}' });
      const heldRun = makeRun({ concurrency_key: 'ck' });
      const losers: { mutation: Mutation; error: abstract new (...args: never[]) => Error }[] = [
        { mutation: stale, error: VersionConflict },
        { mutation: fullCreate(duplicate), error: DuplicateRecord },
        { mutation: fullCreate(reusedKey, reusedRecord), error: IdempotencyKeyTaken },
        { mutation: { ...fullCreate(makeHandoff({ to_contractor: 'loser' })), run: { insert: heldRun } }, error: ConcurrencyKeyTaken },
      ];
      // Winners and losers interleaved, all in flight at once.
      const mutations: Mutation[] = [];
      winners.forEach((h, i) => {
        mutations.push(fullCreate(h));
        if (i % 3 === 1 && losers[(i - 1) / 3]) mutations.push(losers[(i - 1) / 3]!.mutation);
      });
      assert.equal(mutations.length, winners.length + losers.length);
      const settled = await Promise.allSettled(mutations.map((m) => store.apply(m)));

      for (const [i, outcome] of settled.entries()) {
        const loser = losers.find((l) => l.mutation === mutations[i]);
        if (!loser) {
          assert.equal(outcome.status, 'fulfilled', `mutation ${i}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`);
          continue;
        }
        assert.equal(outcome.status, 'rejected', `mutation ${i} should lose`);
        assert.ok((outcome as PromiseRejectedResult).reason instanceof loser.error, String((outcome as PromiseRejectedResult).reason));
      }
      const keyTaken = settled.find(
        (s) => s.status === 'rejected' && s.reason instanceof IdempotencyKeyTaken,
      ) as PromiseRejectedResult;
      assert.deepEqual((keyTaken.reason as IdempotencyKeyTaken).existing, taken, 'carries the first record');

      // The winners committed whole.
      for (const h of winners) {
        assert.deepEqual(await store.getHandoff(h.handoff_id), h);
        assert.equal((await store.listHistory('handoff', h.handoff_id, 0, 10)).length, 1);
      }
      assert.equal((await store.outboxCounts()).pending, winners.length);
      assert.equal(await store.countTimers(), winners.length);
      assert.equal((await store.getContractorStats('winner', 5))?.workflows_participated, winners.length);
      // The losers wrote nothing.
      assert.deepEqual(await store.getHandoff(existing.handoff_id), existing);
      assert.equal(await store.getRun(heldRun.run_id), null);
      assert.equal(await store.getHandoff(reusedKey.handoff_id), null);
      assert.deepEqual(await store.getIdempotency(taken.principal, taken.key), taken);
      for (const { mutation } of losers) {
        const write = mutation.handoff!;
        const h = 'insert' in write ? write.insert : write.update;
        if ('insert' in write && h.handoff_id !== existing.handoff_id) assert.equal(await store.getHandoff(h.handoff_id), null);
        await assertNoTrace(store, h, mutation.idempotency === reusedRecord ? null : mutation.idempotency!);
      }
      assert.equal(await store.getContractorStats('loser', 5), null);
    });

    it('two updates of one record from the same version at once: one wins, the other conflicts', async () => {
      const h = makeHandoff();
      await store.apply({ handoff: { insert: h } });
      const claimed = { ...h, status: 'in_progress' as const, version: 2 };
      const cancelled = { ...h, status: 'failed' as const, version: 2 };
      const settled = await Promise.allSettled([
        store.apply({ handoff: { update: claimed, expectedVersion: 1 }, stats: [{ kind: 'participation', contractor: 'a', key: 'k' }] }),
        store.apply({ handoff: { update: cancelled, expectedVersion: 1 }, stats: [{ kind: 'participation', contractor: 'b', key: 'k' }] }),
      ]);
      const won = settled.findIndex((s) => s.status === 'fulfilled');
      assert.notEqual(won, -1);
      const lost = settled[1 - won]!;
      assert.equal(lost.status, 'rejected');
      assert.ok((lost as PromiseRejectedResult).reason instanceof VersionConflict);
      assert.deepEqual(await store.getHandoff(h.handoff_id), won === 0 ? claimed : cancelled);
      assert.deepEqual(await store.listContractorsWithStats(), [won === 0 ? 'a' : 'b']);
    });

    it('one idempotency key twice at once: one records it, the other gets that record', async () => {
      const k = key();
      const first = idempotency({ key: k, body: '{"first":true}' });
      const second = idempotency({ key: k, body: '{"second":true}' });
      const a = makeHandoff();
      const b = makeHandoff();
      const settled = await Promise.allSettled([store.apply(fullCreate(a, first)), store.apply(fullCreate(b, second))]);
      const won = settled.findIndex((s) => s.status === 'fulfilled');
      assert.notEqual(won, -1);
      const lost = settled[1 - won] as PromiseRejectedResult;
      assert.ok(lost.reason instanceof IdempotencyKeyTaken);
      const winner = won === 0 ? first : second;
      assert.deepEqual(lost.reason.existing, winner);
      assert.deepEqual(await store.getIdempotency('alice', k), winner);
      assert.equal(await store.getHandoff((won === 0 ? b : a).handoff_id), null);
    });
  });
}
