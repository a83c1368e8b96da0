// The Store contract for runs listed by party (RunQuery.involving): the contractor that
// started a run or owns one of its phases sees it, once, newest first, in full pages,
// with the workflow and status filters; status changes follow the run. Run against both
// stores by their test files, which also check migration 4's backfill with
// `assertInvolvingLists` on runs stored before it.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Run, RunPhase, RunStatus } from '../../service/src/domain/types.ts';
import { ConcurrencyKeyTaken, DuplicateRecord, VersionConflict, type RunQuery, type Store } from '../../service/src/store/store.ts';
import { T0, collectPages, isError, makeRun, newestFirst } from './store-contract.ts';

const PEOPLE = ['ann', 'ben', 'cy', 'dee'] as const;

const phase = (phase_id: string, contractor: string): RunPhase => ({
  phase_id,
  contractor,
  status: 'pending',
  started_at: null,
  finished_at: null,
  error: null,
  output: null,
  actions: [],
});

/**
 * 30 runs, three per created_at: started by PEOPLE[i % 4]; the next person owns the first
 * and last phase; every other run the starter owns a phase too; every fifth one more person.
 */
export function partyRuns(): Run[] {
  return Array.from({ length: 30 }, (_, i) => {
    const owner = PEOPLE[(i + 1) % 4]!;
    const phases = [phase('p1', owner)];
    if (i % 2 === 0) phases.push(phase('p2', PEOPLE[i % 4]!));
    if (i % 5 === 0) phases.push(phase('p3', PEOPLE[(i + 2) % 4]!));
    phases.push(phase('p4', owner));
    return makeRun({
      started_by: PEOPLE[i % 4]!,
      workflow_id: i % 3 === 0 ? 'wf-a' : 'wf-b',
      phases,
      created_at: T0 + Math.floor(i / 3) * 10,
    });
  });
}

const involves = (run: Run, who: string): boolean => run.started_by === who || run.phases.some((p) => p.contractor === who);

/** Every party's lists, with and without filters, against the runs as they are now. */
export async function assertInvolvingLists(store: Store, runs: Run[]): Promise<void> {
  const expect = (pred: (r: Run) => boolean) =>
    runs
      .filter(pred)
      .map((r) => ({ created_at: r.created_at, id: r.run_id }))
      .sort(newestFirst)
      .map((x) => x.id);
  const pages = (q: Omit<RunQuery, 'cursor'>) => collectPages((cursor) => store.listRuns({ ...q, cursor }), (r) => r.run_id, q.limit);
  const statuses: RunStatus[] = ['running', 'completed', 'failed'];
  for (const who of PEOPLE) {
    const mine = expect((r) => involves(r, who));
    assert.ok(mine.length > 0 && mine.length < runs.length, `${who} is party to some runs only`);
    for (const limit of [1, 3, 7, 100]) assert.deepEqual(await pages({ involving: who, limit }), mine, `${who} limit ${limit}`);
    for (const workflow_id of ['wf-a', 'wf-b']) {
      assert.deepEqual(await pages({ involving: who, workflow_id, limit: 2 }), expect((r) => involves(r, who) && r.workflow_id === workflow_id), `${who} ${workflow_id}`);
      for (const status of statuses) {
        const both = expect((r) => involves(r, who) && r.workflow_id === workflow_id && r.status === status);
        assert.deepEqual(await pages({ involving: who, workflow_id, status, limit: 2 }), both, `${who} ${workflow_id} ${status}`);
      }
    }
    for (const status of statuses) {
      assert.deepEqual(await pages({ involving: who, status, limit: 2 }), expect((r) => involves(r, who) && r.status === status), `${who} ${status}`);
    }
  }
  // The items are the runs as they are now, not as they were inserted.
  const first = await store.listRuns({ involving: PEOPLE[0], limit: 100 });
  for (const item of first.items) assert.deepEqual(item, runs.find((r) => r.run_id === item.run_id));
  assert.deepEqual(await store.listRuns({ involving: 'nobody', limit: 5 }), { items: [], next_cursor: null });
  assert.deepEqual(await pages({ limit: 7 }), expect(() => true), 'without involving: every run');
}

/** Finishes some runs (completed, failed) through the store, in `runs` too. */
export async function finishSome(store: Store, runs: Run[]): Promise<void> {
  for (const [i, run] of runs.entries()) {
    const status: RunStatus | null = i % 3 === 1 ? 'completed' : i % 5 === 2 ? 'failed' : null;
    if (!status) continue;
    const next = { ...run, status, version: run.version + 1, finished_at: run.created_at + 5 };
    await store.apply({ run: { update: next, expectedVersion: run.version } });
    runs[i] = next;
  }
}

export function runPartiesContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, runs by party: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('lists the runs a contractor started or owns a phase of, once each, with filters and full pages', async () => {
      const runs = partyRuns();
      for (const run of runs) await store.apply({ run: { insert: run } });
      await assertInvolvingLists(store, runs);
      await finishSome(store, runs);
      assert.ok(runs.some((r) => r.status === 'completed') && runs.some((r) => r.status === 'failed'));
      await assertInvolvingLists(store, runs);
    });

    it('a refused run write changes no party row', async () => {
      const run = makeRun({ started_by: 'ann', phases: [phase('p1', 'ben')], concurrency_key: 'ck' });
      await store.apply({ run: { insert: run } });
      await assert.rejects(store.apply({ run: { insert: { ...run, started_by: 'cy', concurrency_key: null } } }), isError(DuplicateRecord));
      const rival = makeRun({ started_by: 'dee', phases: [phase('p1', 'dee')], concurrency_key: 'ck' });
      await assert.rejects(store.apply({ run: { insert: rival } }), isError(ConcurrencyKeyTaken));
      const stale = { ...run, status: 'failed' as const, version: 2 };
      await assert.rejects(store.apply({ run: { update: stale, expectedVersion: 7 } }), isError(VersionConflict));

      const ids = async (query: Omit<RunQuery, 'limit'>) => (await store.listRuns({ ...query, limit: 10 })).items.map((r) => r.run_id);
      assert.deepEqual(await ids({ involving: 'ann' }), [run.run_id]);
      assert.deepEqual(await ids({ involving: 'ben', status: 'running' }), [run.run_id]);
      assert.deepEqual(await ids({ involving: 'ben', status: 'failed' }), []);
      assert.deepEqual(await ids({ involving: 'cy' }), []);
      assert.deepEqual(await ids({ involving: 'dee' }), []);
    });
  });
}
