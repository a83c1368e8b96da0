// The Store contract: every implementation (SQLite now, PostgreSQL next) must pass it.
// `makeStore` returns a fresh, migrated, EMPTY store for every test; the suite closes it.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CortexError } from '../../service/src/domain/errors.ts';
import { bucketOf } from '../../service/src/domain/histogram.ts';
import type {
  Approval,
  EventType,
  Handoff,
  HistoryEvent,
  IdempotencyRecord,
  OutgoingEvent,
  Run,
  StatsDelta,
  Subscription,
  Timer,
  WorkflowDefinition,
} from '../../service/src/domain/types.ts';
import {
  ConcurrencyKeyTaken,
  DuplicateRecord,
  IdempotencyKeyTaken,
  VersionConflict,
  type Mutation,
  type Store,
} from '../../service/src/store/store.ts';
import { approvalListContract } from './store-contract-approval-list.ts';

// ---------------------------------------------------------------- factories

export const T0 = 1_700_000_000_000;
let counter = 0;
const uid = (prefix: string): string => `${prefix}_${(++counter).toString().padStart(6, '0')}`;

export function makeHandoff(overrides: Partial<Handoff> = {}): Handoff {
  return {
    handoff_id: uid('ho'),
    from_contractor: 'alice',
    to_contractor: 'bob',
    task_id: 'task-1',
    data: { vm: 101, tags: ['a', 'b'], nested: { ok: true, none: null } },
    status: 'pending',
    run_id: null,
    phase_id: null,
    result: null,
    error: null,
    progress: null,
    claim_timeout: 300,
    completion_timeout: null,
    heartbeat_timeout: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
    claimed_at: null,
    finished_at: null,
    last_heartbeat_at: null,
    ...overrides,
  };
}

export function makeRun(overrides: Partial<Run> = {}): Run {
  return {
    run_id: uid('run'),
    workflow_id: 'wf-deploy',
    workflow_version: '1.0.0',
    status: 'running',
    parameters: { cluster: 'c1', replicas: 3, debug: false, extra: null },
    concurrency_key: null,
    dry_run: false,
    started_by: 'alice',
    phases: [
      {
        phase_id: 'p1',
        contractor: 'bob',
        status: 'in_progress',
        started_at: T0,
        finished_at: null,
        error: null,
        output: null,
        actions: [{ action_id: 'a1', status: 'in_progress', started_at: T0, finished_at: null, error: null }],
      },
    ],
    error: null,
    rollback: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
    finished_at: null,
    ...overrides,
  };
}

export function makeSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    subscription_id: uid('sub'),
    owner: 'alice',
    url: 'https://hooks.example.test/cortex',
    events: ['handoff.created', 'handoff.completed'],
    filter: {},
    secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=',
    description: null,
    created_at: T0,
    ...overrides,
  };
}

export function makeApproval(overrides: Partial<Approval> = {}): Approval {
  return {
    approval_id: uid('apr'),
    title: 'Deploy',
    description: '**now**',
    context: { cluster: 'c1', nodes: [1, 2], extra: null, ok: true },
    approvers: ['alice', 'bob', 'carol'],
    approvers_requested: ['alice', 'group:ops'],
    required_approvals: 2,
    reject_on_first_rejection: true,
    status: 'pending',
    decisions: [],
    outcome_reason: null,
    deadline_at: T0 + 60_000,
    callback_url: 'https://n8n.example.test/webhook-waiting/1?signature=x',
    subscription_id: null,
    created_by: 'alice',
    version: 1,
    created_at: T0,
    updated_at: T0,
    finished_at: null,
    ...overrides,
  };
}

export function makeDefinition(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    workflow_id: 'wf-deploy',
    workflow_name: 'Deploy',
    version: '1.0.0',
    contractors: ['alice', 'bob'],
    phases: [{ phase_id: 'p1', contractor: 'bob', actions: [{ action_id: 'a1', action: 'noop', parameters: { x: 1 } }] }],
    ...overrides,
  };
}

function historyOf(subject: 'handoff' | 'run', id: string, type: string, at = T0): HistoryEvent {
  return { subject_kind: subject, subject_id: id, type, actor: 'alice', at, data: { note: type, n: null } };
}

function historyOfApproval(id: string): HistoryEvent {
  return { subject_kind: 'approval', subject_id: id, type: 'approval.decision', actor: 'bob', at: T0, data: { decision: 'approve' } };
}

function handoffEvent(type: EventType, h: Handoff): OutgoingEvent {
  return {
    type,
    attributes: {
      handoff_id: h.handoff_id,
      from_contractor: h.from_contractor,
      to_contractor: h.to_contractor,
      ...(h.run_id ? { run_id: h.run_id } : {}),
    },
    payload: { handoff_id: h.handoff_id, status: h.status },
  };
}

function idem(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    principal: 'alice',
    key: uid('key'),
    request_hash: 'sha256:abc',
    status: 201,
    body: '{"handoff_id":"x"}',
    created_at: T0,
    ...overrides,
  };
}

export function isError<E extends Error>(cls: abstract new (...args: never[]) => E, check?: (err: E) => void) {
  return (err: unknown): true => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    check?.(err as E);
    return true;
  };
}

/** Pages through a list, asserting page sizes; returns all ids in order. */
export async function collectPages<T>(
  list: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
  idOf: (item: T) => string,
  limit: number,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await list(cursor);
    assert.ok(page.items.length <= limit, 'page larger than limit');
    ids.push(...page.items.map(idOf));
    if (page.next_cursor === null) return ids;
    assert.equal(page.items.length, limit, 'a page with a next_cursor is full');
    assert.equal(typeof page.next_cursor, 'string');
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
}

export const newestFirst = (a: { created_at: number; id: string }, b: { created_at: number; id: string }) =>
  b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

// ---------------------------------------------------------------- the suite

export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('lifecycle', () => {
      it('pings, reports its kind, and migrates again without harm', async () => {
        assert.ok(store.kind === 'sqlite' || store.kind === 'postgres');
        await store.ping();
        await store.migrate();
        await store.migrate();
        await store.ping();
        assert.equal(await store.countTimers(), 0);
      });
    });

    describe('handoffs', () => {
      it('round-trips a handoff exactly and returns null for an unknown id', async () => {
        const h = makeHandoff({
          run_id: 'run_x',
          phase_id: 'p1',
          progress: { pct: 50, msg: 'half', list: [1, null, 'x'] },
          error: { code: 'E1', message: 'boom' },
          result: { ok: false, nothing: null },
          completion_timeout: 60,
          claimed_at: T0 + 5,
        });
        await store.apply({ handoff: { insert: h } });
        assert.deepEqual(await store.getHandoff(h.handoff_id), h);
        assert.equal(await store.getHandoff('ho_missing'), null);
      });

      it('rejects a second insert of the same id with DuplicateRecord and keeps the first', async () => {
        const h = makeHandoff();
        await store.apply({ handoff: { insert: h } });
        const again = { ...h, task_id: 'other' };
        await assert.rejects(
          store.apply({ handoff: { insert: again }, history: [historyOf('handoff', h.handoff_id, 'dup')] }),
          isError(DuplicateRecord, (e) => {
            assert.equal(e.subject, 'handoff');
            assert.equal(e.id, h.handoff_id);
          }),
        );
        assert.deepEqual(await store.getHandoff(h.handoff_id), h);
        assert.deepEqual(await store.listHistory('handoff', h.handoff_id, 0, 10), []);
      });

      it('updates from the expected version and refuses a stale one with VersionConflict', async () => {
        const h = makeHandoff();
        await store.apply({ handoff: { insert: h } });
        const claimed = { ...h, status: 'in_progress' as const, version: 2, claimed_at: T0 + 10, updated_at: T0 + 10 };
        const failed = {
          ...h,
          status: 'failed' as const,
          version: 2,
          error: { code: 'X', message: 'x' },
          updated_at: T0 + 11,
        };
        await store.apply({ handoff: { update: claimed, expectedVersion: 1 } });
        await assert.rejects(
          store.apply({ handoff: { update: failed, expectedVersion: 1 } }),
          isError(VersionConflict, (e) => {
            assert.equal(e.subject, 'handoff');
            assert.equal(e.id, h.handoff_id);
          }),
        );
        assert.deepEqual(await store.getHandoff(h.handoff_id), claimed);
        const done = { ...claimed, status: 'completed' as const, version: 3, result: { out: 1 } };
        await store.apply({ handoff: { update: done, expectedVersion: 2 } });
        assert.deepEqual(await store.getHandoff(h.handoff_id), done);
        const list = await store.listHandoffs({ status: 'completed', limit: 10 });
        assert.deepEqual(
          list.items.map((x) => x.handoff_id),
          [h.handoff_id],
        );
        assert.equal((await store.listHandoffs({ status: 'pending', limit: 10 })).items.length, 0);
      });

      it('treats an update of a missing record as a VersionConflict', async () => {
        const h = makeHandoff();
        await assert.rejects(
          store.apply({ handoff: { update: h, expectedVersion: 1 } }),
          isError(VersionConflict),
        );
        assert.equal(await store.getHandoff(h.handoff_id), null);
      });
    });

    describe('atomicity', () => {
      it('a mutation that loses on version writes none of its parts', async () => {
        await store.createSubscription(makeSubscription({ events: ['handoff.completed'] }));
        const h = makeHandoff();
        await store.apply({ handoff: { insert: h }, timersToSet: [{ subject_kind: 'handoff', subject_id: h.handoff_id, kind: 'claim', due_at: T0 + 1000 }] });
        const countsBefore = await store.outboxCounts();
        const record = idem();
        const losing: Mutation = {
          idempotency: record,
          handoff: { update: { ...h, status: 'completed', version: 2 }, expectedVersion: 7 },
          history: [historyOf('handoff', h.handoff_id, 'completed')],
          outgoing: [handoffEvent('handoff.completed', h)],
          timersToClear: [{ subject_kind: 'handoff', subject_id: h.handoff_id }],
          timersToSet: [{ subject_kind: 'handoff', subject_id: 'other', kind: 'claim', due_at: T0 }],
          stats: [
            { kind: 'participation', contractor: 'bob', key: 'k1' },
            { kind: 'handoff_finished', contractor: 'bob', failed: true, error_code: 'E', duration_ms: 10 },
            { kind: 'run_finished', workflow_id: 'wf', status: 'completed', duration_ms: 5, at: T0 },
          ],
        };
        await assert.rejects(store.apply(losing), isError(VersionConflict));
        assert.deepEqual(await store.getHandoff(h.handoff_id), h);
        assert.equal(await store.getIdempotency(record.principal, record.key), null);
        assert.deepEqual(await store.listHistory('handoff', h.handoff_id, 0, 10), []);
        assert.deepEqual(await store.outboxCounts(), countsBefore);
        assert.equal(countsBefore.pending, 0);
        assert.equal(await store.countTimers(), 1);
        assert.equal(await store.nextTimerDue(), T0 + 1000);
        assert.equal(await store.getContractorStats('bob', 5), null);
        assert.equal(await store.getWorkflowStats('wf'), null);
        assert.deepEqual(await store.listContractorsWithStats(), []);
        assert.deepEqual(await store.listWorkflowIdsWithStats(), []);
        // The same mutation from the right version commits every part.
        await store.apply({ ...losing, handoff: { update: { ...h, status: 'completed', version: 2 }, expectedVersion: 1 } });
        assert.equal((await store.getHandoff(h.handoff_id))?.status, 'completed');
        assert.deepEqual(await store.getIdempotency(record.principal, record.key), record);
        assert.equal((await store.listHistory('handoff', h.handoff_id, 0, 10)).length, 1);
        assert.equal((await store.outboxCounts()).pending, 1);
        assert.equal(await store.countTimers(), 1);
        assert.equal(await store.nextTimerDue(), T0);
        assert.equal((await store.getContractorStats('bob', 5))?.handoffs_finished, 1);
        assert.equal((await store.getWorkflowStats('wf'))?.total, 1);
      });

      it('a run insert that loses on its concurrency key writes nothing else', async () => {
        await store.apply({ run: { insert: makeRun({ concurrency_key: 'ck' }) } });
        const r = makeRun({ concurrency_key: 'ck' });
        const record = idem();
        await assert.rejects(
          store.apply({
            idempotency: record,
            run: { insert: r },
            history: [historyOf('run', r.run_id, 'started')],
            timersToSet: [{ subject_kind: 'run', subject_id: r.run_id, kind: 'run', due_at: T0 }],
            stats: [{ kind: 'participation', contractor: 'bob', key: r.run_id }],
          }),
          isError(ConcurrencyKeyTaken),
        );
        assert.equal(await store.getRun(r.run_id), null);
        assert.equal(await store.getIdempotency(record.principal, record.key), null);
        assert.deepEqual(await store.listHistory('run', r.run_id, 0, 10), []);
        assert.equal(await store.countTimers(), 0);
        assert.equal(await store.getContractorStats('bob', 5), null);
      });
    });

    describe('idempotency', () => {
      it('records the key with the change and refuses it again, carrying the first record', async () => {
        const record = idem({ principal: 'carol', key: 'k-1', status: 201, body: '{"a":1}' });
        const first = makeHandoff();
        await store.apply({ handoff: { insert: first }, idempotency: record });
        assert.deepEqual(await store.getIdempotency('carol', 'k-1'), record);
        assert.equal(await store.getIdempotency('carol', 'k-2'), null);
        assert.equal(await store.getIdempotency('dave', 'k-1'), null);

        const second = makeHandoff();
        await assert.rejects(
          store.apply({
            handoff: { insert: second },
            idempotency: { ...record, request_hash: 'sha256:other', body: '{"b":2}', created_at: T0 + 99 },
          }),
          isError(IdempotencyKeyTaken, (e) => assert.deepEqual(e.existing, record)),
        );
        assert.equal(await store.getHandoff(second.handoff_id), null);
        // Keys are per principal.
        await store.apply({ handoff: { insert: second }, idempotency: { ...record, principal: 'dave' } });
        assert.ok(await store.getHandoff(second.handoff_id));
      });

      it('can record an idempotency key on its own', async () => {
        const record = idem();
        await store.apply({ idempotency: record });
        assert.deepEqual(await store.getIdempotency(record.principal, record.key), record);
      });
    });

    describe('runs', () => {
      it('round-trips a run with booleans, nulls and nested objects', async () => {
        const r = makeRun({
          dry_run: true,
          concurrency_key: 'cluster-1',
          rollback: {
            status: 'pending',
            steps: [
              {
                step_id: 's1',
                phase_id: 'p1',
                contractor: 'bob',
                actions: [{ action_id: 'r1', action: 'undo', on_error: 'continue' }],
                status: 'pending',
                updated_at: null,
                note: null,
              },
            ],
          },
        });
        await store.apply({ run: { insert: r } });
        const got = await store.getRun(r.run_id);
        assert.deepEqual(got, r);
        assert.equal(got?.dry_run, true);
        const plain = makeRun();
        await store.apply({ run: { insert: plain } });
        assert.equal((await store.getRun(plain.run_id))?.dry_run, false);
        assert.equal(await store.getRun('run_missing'), null);
      });

      it('refuses a duplicate run id and a stale run update', async () => {
        const r = makeRun();
        await store.apply({ run: { insert: r } });
        await assert.rejects(
          store.apply({ run: { insert: { ...r, workflow_id: 'other' } } }),
          isError(DuplicateRecord, (e) => {
            assert.equal(e.subject, 'run');
            assert.equal(e.id, r.run_id);
          }),
        );
        const a = { ...r, version: 2, updated_at: T0 + 1, parameters: { winner: 'a' } };
        const b = { ...r, version: 2, updated_at: T0 + 2, parameters: { winner: 'b' } };
        await store.apply({ run: { update: a, expectedVersion: 1 } });
        await assert.rejects(
          store.apply({ run: { update: b, expectedVersion: 1 } }),
          isError(VersionConflict, (e) => {
            assert.equal(e.subject, 'run');
            assert.equal(e.id, r.run_id);
          }),
        );
        assert.deepEqual(await store.getRun(r.run_id), a);
      });

      it('holds a concurrency key only while the holder is running', async () => {
        const holder = makeRun({ concurrency_key: 'cluster-1' });
        await store.apply({ run: { insert: holder } });
        const rival = makeRun({ concurrency_key: 'cluster-1' });
        await assert.rejects(
          store.apply({ run: { insert: rival } }),
          isError(ConcurrencyKeyTaken, (e) => assert.equal(e.concurrencyKey, 'cluster-1')),
        );
        // Other keys and runs without a key are unaffected.
        await store.apply({ run: { insert: makeRun({ concurrency_key: 'cluster-2' }) } });
        await store.apply({ run: { insert: makeRun({ concurrency_key: null }) } });
        await store.apply({ run: { insert: makeRun({ concurrency_key: null }) } });

        const finished = { ...holder, status: 'completed' as const, version: 2, finished_at: T0 + 50 };
        await store.apply({ run: { update: finished, expectedVersion: 1 } });
        await store.apply({ run: { insert: rival } });
        assert.equal((await store.getRun(rival.run_id))?.status, 'running');

        // A finished run cannot be put back to running while another holds its key.
        await assert.rejects(
          store.apply({ run: { update: { ...finished, status: 'running', version: 3 }, expectedVersion: 2 } }),
          isError(ConcurrencyKeyTaken, (e) => assert.equal(e.concurrencyKey, 'cluster-1')),
        );
        assert.deepEqual(await store.getRun(holder.run_id), finished);
        // A failed holder also frees the key.
        await store.apply({ run: { update: { ...rival, status: 'failed', version: 2 }, expectedVersion: 1 } });
        await store.apply({ run: { insert: makeRun({ concurrency_key: 'cluster-1' }) } });
      });

      it('lists runs newest first with filters and stable pagination', async () => {
        const runs: Run[] = [];
        for (let i = 0; i < 23; i++) {
          const r = makeRun({
            workflow_id: i % 2 === 0 ? 'wf-a' : 'wf-b',
            status: i % 3 === 0 ? 'completed' : 'running',
            created_at: T0 + Math.floor(i / 4) * 1000, // ties on created_at
          });
          runs.push(r);
          await store.apply({ run: { insert: r } });
        }
        const expect = (pred: (r: Run) => boolean) =>
          runs
            .filter(pred)
            .map((r) => ({ created_at: r.created_at, id: r.run_id }))
            .sort(newestFirst)
            .map((x) => x.id);
        for (const limit of [1, 4, 23, 50]) {
          const all = await collectPages((cursor) => store.listRuns({ limit, cursor }), (r) => r.run_id, limit);
          assert.deepEqual(all, expect(() => true));
        }
        const wfA = await collectPages(
          (cursor) => store.listRuns({ workflow_id: 'wf-a', limit: 5, cursor }),
          (r) => r.run_id,
          5,
        );
        assert.deepEqual(wfA, expect((r) => r.workflow_id === 'wf-a'));
        const done = await collectPages(
          (cursor) => store.listRuns({ status: 'completed', limit: 3, cursor }),
          (r) => r.run_id,
          3,
        );
        assert.deepEqual(done, expect((r) => r.status === 'completed'));
        const both = await collectPages(
          (cursor) => store.listRuns({ workflow_id: 'wf-b', status: 'running', limit: 2, cursor }),
          (r) => r.run_id,
          2,
        );
        assert.deepEqual(both, expect((r) => r.workflow_id === 'wf-b' && r.status === 'running'));
        const none = await store.listRuns({ workflow_id: 'nope', limit: 5 });
        assert.deepEqual(none, { items: [], next_cursor: null });
      });
    });

    describe('listing handoffs', () => {
      const people = ['ann', 'ben', 'cy'];
      let handoffs: Handoff[];
      beforeEach(async () => {
        handoffs = [];
        for (let i = 0; i < 40; i++) {
          const h = makeHandoff({
            from_contractor: people[i % 3]!,
            to_contractor: people[(i + (i % 4 === 0 ? 0 : 1)) % 3]!, // some self-addressed
            status: (['pending', 'in_progress', 'completed', 'failed'] as const)[i % 4]!,
            task_id: `task-${i % 5}`,
            run_id: i % 2 === 0 ? `run-${i % 3}` : null,
            created_at: T0 + Math.floor(i / 3) * 10, // three per timestamp
          });
          handoffs.push(h);
          await store.apply({ handoff: { insert: h } });
        }
      });
      const expect = (pred: (h: Handoff) => boolean) =>
        handoffs
          .filter(pred)
          .map((h) => ({ created_at: h.created_at, id: h.handoff_id }))
          .sort(newestFirst)
          .map((x) => x.id);
      const pages = (q: Omit<Parameters<Store['listHandoffs']>[0], 'cursor'>) =>
        collectPages((cursor) => store.listHandoffs({ ...q, cursor }), (h) => h.handoff_id, q.limit);

      it('pages through everything newest first, without duplicates or gaps', async () => {
        for (const limit of [1, 3, 7, 40, 41, 100]) {
          assert.deepEqual(await pages({ limit }), expect(() => true), `limit ${limit}`);
        }
        const first = await store.listHandoffs({ limit: 5 });
        assert.deepEqual(first.items[0], handoffs.find((h) => h.handoff_id === first.items[0]?.handoff_id));
      });

      it('gives no cursor when the last page is exactly full', async () => {
        const page1 = await store.listHandoffs({ limit: 20 });
        assert.equal(page1.items.length, 20);
        assert.notEqual(page1.next_cursor, null);
        const page2 = await store.listHandoffs({ limit: 20, cursor: page1.next_cursor! });
        assert.equal(page2.items.length, 20);
        assert.equal(page2.next_cursor, null);
      });

      it('filters by each field and by combinations', async () => {
        assert.deepEqual(await pages({ to_contractor: 'ben', limit: 4 }), expect((h) => h.to_contractor === 'ben'));
        assert.deepEqual(await pages({ from_contractor: 'cy', limit: 4 }), expect((h) => h.from_contractor === 'cy'));
        assert.deepEqual(await pages({ status: 'failed', limit: 4 }), expect((h) => h.status === 'failed'));
        assert.deepEqual(await pages({ task_id: 'task-2', limit: 3 }), expect((h) => h.task_id === 'task-2'));
        assert.deepEqual(await pages({ run_id: 'run-1', limit: 2 }), expect((h) => h.run_id === 'run-1'));
        assert.deepEqual(
          await pages({ to_contractor: 'ann', status: 'pending', limit: 2 }),
          expect((h) => h.to_contractor === 'ann' && h.status === 'pending'),
        );
        assert.deepEqual(
          await pages({ from_contractor: 'ann', task_id: 'task-0', limit: 2 }),
          expect((h) => h.from_contractor === 'ann' && h.task_id === 'task-0'),
        );
        assert.deepEqual(await pages({ to_contractor: 'nobody', limit: 5 }), []);
      });

      it('involving matches sender or receiver, once each, and combines with other filters', async () => {
        const involvesBen = expect((h) => h.from_contractor === 'ben' || h.to_contractor === 'ben');
        assert.ok(handoffs.some((h) => h.from_contractor === 'ben' && h.to_contractor === 'ben'));
        for (const limit of [1, 4, 9, 100]) {
          assert.deepEqual(await pages({ involving: 'ben', limit }), involvesBen, `limit ${limit}`);
        }
        assert.deepEqual(
          await pages({ involving: 'ben', status: 'completed', limit: 2 }),
          expect((h) => (h.from_contractor === 'ben' || h.to_contractor === 'ben') && h.status === 'completed'),
        );
        assert.deepEqual(
          await pages({ involving: 'ann', to_contractor: 'cy', limit: 2 }),
          expect((h) => (h.from_contractor === 'ann' || h.to_contractor === 'ann') && h.to_contractor === 'cy'),
        );
      });

      it('rejects a cursor it did not issue as an invalid request', async () => {
        for (const cursor of ['not a cursor!', 'e30', Buffer.from('["x","y"]').toString('base64url')]) {
          await assert.rejects(
            store.listHandoffs({ limit: 5, cursor }),
            isError(CortexError, (e) => assert.equal(e.kind, 'invalid')),
          );
          await assert.rejects(
            store.listRuns({ limit: 5, cursor }),
            isError(CortexError, (e) => assert.equal(e.kind, 'invalid')),
          );
        }
      });
    });

    describe('history', () => {
      it('returns a subject’s events oldest first after a sequence number', async () => {
        const h = makeHandoff();
        const other = makeHandoff();
        await store.apply({
          handoff: { insert: h },
          history: [historyOf('handoff', h.handoff_id, 'created', T0), historyOf('handoff', other.handoff_id, 'x')],
        });
        await store.apply({ history: [historyOf('run', h.handoff_id, 'same id, other kind')] });
        await store.apply({ history: [historyOf('handoff', h.handoff_id, 'claimed', T0 + 1)] });
        await store.apply({
          history: [historyOf('handoff', h.handoff_id, 'progress', T0 + 2), historyOf('handoff', h.handoff_id, 'done', T0 + 3)],
        });
        const all = await store.listHistory('handoff', h.handoff_id, 0, 100);
        assert.deepEqual(
          all.map((e) => e.type),
          ['created', 'claimed', 'progress', 'done'],
        );
        for (const e of all) {
          assert.equal(typeof e.seq, 'number');
          assert.deepEqual(e.data, { note: e.type, n: null });
          assert.equal(e.subject_kind, 'handoff');
          assert.equal(e.subject_id, h.handoff_id);
          assert.equal(e.actor, 'alice');
        }
        assert.deepEqual(
          all.map((e) => e.at),
          [T0, T0 + 1, T0 + 2, T0 + 3],
        );
        const seqs = all.map((e) => e.seq!);
        assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
        assert.equal(new Set(seqs).size, 4);
        const after = await store.listHistory('handoff', h.handoff_id, seqs[1]!, 100);
        assert.deepEqual(
          after.map((e) => e.type),
          ['progress', 'done'],
        );
        const limited = await store.listHistory('handoff', h.handoff_id, 0, 2);
        assert.deepEqual(
          limited.map((e) => e.type),
          ['created', 'claimed'],
        );
        assert.deepEqual(await store.listHistory('handoff', h.handoff_id, seqs[3]!, 100), []);
        assert.equal((await store.listHistory('run', h.handoff_id, 0, 100)).length, 1);
        assert.deepEqual(await store.listHistory('handoff', 'nobody', 0, 100), []);
      });
    });

    describe('definitions', () => {
      it('creates, recognises identical content, and refuses changed content under the same version', async () => {
        const d1 = makeDefinition({ description: 'first', metadata: { team: 'infra', tags: ['x'] } });
        assert.equal(await store.putDefinition(d1, T0), 'created');
        // Same content with keys in another order is the same definition.
        const reordered: WorkflowDefinition = { metadata: { tags: ['x'], team: 'infra' } } as unknown as WorkflowDefinition;
        for (const key of Object.keys(d1).reverse()) if (key !== 'metadata') reordered[key] = d1[key];
        assert.notEqual(JSON.stringify(reordered), JSON.stringify(d1));
        assert.equal(await store.putDefinition(reordered, T0 + 5), 'unchanged');
        await assert.rejects(
          store.putDefinition({ ...d1, description: 'changed' }, T0 + 6),
          isError(DuplicateRecord, (e) => {
            assert.equal(e.subject, 'definition');
            assert.equal(e.id, 'wf-deploy@1.0.0');
          }),
        );
        assert.deepEqual(await store.getDefinition('wf-deploy', '1.0.0'), d1);
        assert.deepEqual(await store.listDefinitions(), [
          { workflow_id: 'wf-deploy', version: '1.0.0', workflow_name: 'Deploy', created_at: T0 },
        ]);
      });

      it('returns the latest stored version without a version and lists by id then time', async () => {
        const v1 = makeDefinition({ version: '1.0.0' });
        const v3 = makeDefinition({ version: '3.0.0', workflow_name: 'Deploy v3' });
        const v2 = makeDefinition({ version: '2.0.0', workflow_name: 'Deploy v2' });
        const other = makeDefinition({ workflow_id: 'aa-first', workflow_name: 'A', version: '9' });
        await store.putDefinition(v1, T0);
        await store.putDefinition(v3, T0 + 10);
        await store.putDefinition(v2, T0 + 20); // stored last: the latest, despite its number
        await store.putDefinition(other, T0 + 30);
        assert.deepEqual(await store.getDefinition('wf-deploy'), v2);
        assert.deepEqual(await store.getDefinition('wf-deploy', '3.0.0'), v3);
        assert.equal(await store.getDefinition('wf-deploy', '4.0.0'), null);
        assert.equal(await store.getDefinition('missing'), null);
        assert.deepEqual(await store.listDefinitions(), [
          { workflow_id: 'aa-first', version: '9', workflow_name: 'A', created_at: T0 + 30 },
          { workflow_id: 'wf-deploy', version: '1.0.0', workflow_name: 'Deploy', created_at: T0 },
          { workflow_id: 'wf-deploy', version: '3.0.0', workflow_name: 'Deploy v3', created_at: T0 + 10 },
          { workflow_id: 'wf-deploy', version: '2.0.0', workflow_name: 'Deploy v2', created_at: T0 + 20 },
        ]);
      });

      it('breaks a created_at tie by storage order', async () => {
        await store.putDefinition(makeDefinition({ version: 'b' }), T0);
        await store.putDefinition(makeDefinition({ version: 'a' }), T0);
        assert.equal((await store.getDefinition('wf-deploy'))?.version, 'a');
      });
    });

    describe('subscriptions', () => {
      it('creates, reads, lists by owner and deletes', async () => {
        const s1 = makeSubscription({ owner: 'alice', created_at: T0, filter: { to_contractor: 'bob' }, description: 'mine' });
        const s2 = makeSubscription({ owner: 'bob', created_at: T0 + 1, events: ['run.completed'] });
        const s3 = makeSubscription({ owner: 'alice', created_at: T0 + 2 });
        for (const s of [s1, s2, s3]) await store.createSubscription(s);
        assert.deepEqual(await store.getSubscription(s1.subscription_id), s1);
        assert.equal(await store.getSubscription('sub_missing'), null);
        assert.deepEqual(await store.listSubscriptions(), [s1, s2, s3]);
        assert.deepEqual(await store.listSubscriptions('alice'), [s1, s3]);
        assert.deepEqual(await store.listSubscriptions('nobody'), []);
        await assert.rejects(
          store.createSubscription({ ...s1, owner: 'mallory' }),
          isError(DuplicateRecord, (e) => {
            assert.equal(e.subject, 'subscription');
            assert.equal(e.id, s1.subscription_id);
          }),
        );
        assert.equal(await store.deleteSubscription(s1.subscription_id), true);
        assert.equal(await store.deleteSubscription(s1.subscription_id), false);
        assert.equal(await store.getSubscription(s1.subscription_id), null);
        assert.deepEqual(await store.listSubscriptions('alice'), [s3]);
      });
    });

    describe('outbox', () => {
      const now = () => Date.now();

      it('fans an event out to every matching subscription only', async () => {
        const h = makeHandoff({ from_contractor: 'alice', to_contractor: 'bob', run_id: 'run-9' });
        const all = makeSubscription({ events: ['handoff.created'] });
        const toBob = makeSubscription({ events: ['handoff.created'], filter: { to_contractor: 'bob' } });
        const toCarl = makeSubscription({ events: ['handoff.created'], filter: { to_contractor: 'carl' } });
        const bothKeys = makeSubscription({
          events: ['handoff.created', 'handoff.failed'],
          filter: { from_contractor: 'alice', run_id: 'run-9' },
        });
        const workflowFilter = makeSubscription({ events: ['handoff.created'], filter: { workflow_id: 'wf' } });
        const otherType = makeSubscription({ events: ['handoff.completed'] });
        for (const s of [all, toBob, toCarl, bothKeys, workflowFilter, otherType]) await store.createSubscription(s);

        const before = now();
        await store.apply({ handoff: { insert: h }, outgoing: [handoffEvent('handoff.created', h)] });
        const after = now();
        assert.equal((await store.outboxCounts()).pending, 3);
        const claimed = await store.claimDueOutbox(after + 1, 100, 30_000);
        assert.deepEqual(
          claimed.map((m) => m.subscription_id).sort(),
          [all.subscription_id, toBob.subscription_id, bothKeys.subscription_id].sort(),
        );
        const ids = new Set<string>();
        for (const m of claimed) {
          assert.match(m.message_id, /^msg_[A-Za-z0-9]+$/);
          ids.add(m.message_id);
          assert.equal(m.url, all.url);
          assert.equal(m.secret, all.secret);
          assert.equal(m.event_type, 'handoff.created');
          assert.equal(m.attempts, 0);
          assert.ok(m.created_at >= before && m.created_at <= after);
          assert.ok(m.next_attempt_at >= before && m.next_attempt_at <= after);
          const body = JSON.parse(m.body) as { type: string; timestamp: string; data: unknown };
          assert.deepEqual(Object.keys(body).sort(), ['data', 'timestamp', 'type']);
          assert.equal(body.type, 'handoff.created');
          assert.deepEqual(body.data, { handoff_id: h.handoff_id, status: 'pending' });
          const ts = Date.parse(body.timestamp);
          assert.ok(ts >= before && ts <= after && new Date(ts).toISOString() === body.timestamp);
          assert.equal(ts, m.created_at, 'the body is stamped with the time of its row');
        }
        assert.equal(ids.size, 3);

        // Several events in one mutation each fan out.
        await store.apply({
          outgoing: [handoffEvent('handoff.failed', h), handoffEvent('handoff.completed', h), handoffEvent('handoff.claimed', h)],
        });
        const next = await store.claimDueOutbox(now() + 1, 100, 30_000);
        assert.deepEqual(
          next.map((m) => [m.subscription_id, m.event_type]).sort(),
          [
            [bothKeys.subscription_id, 'handoff.failed'],
            [otherType.subscription_id, 'handoff.completed'],
          ].sort(),
        );
      });

      it('leases messages, retries them later, and counts delivered and dead ones', async () => {
        const sub = makeSubscription({ events: ['handoff.created'] });
        await store.createSubscription(sub);
        for (let i = 0; i < 3; i++) {
          const h = makeHandoff();
          await store.apply({ outgoing: [handoffEvent('handoff.created', h)] });
        }
        const t = now() + 1;
        assert.deepEqual(await store.claimDueOutbox(t - 60_000, 10, 1000), [], 'not due yet');
        const first = await store.claimDueOutbox(t, 2, 1000);
        assert.equal(first.length, 2);
        const second = await store.claimDueOutbox(t, 10, 1000);
        assert.equal(second.length, 1, 'leased messages are not handed out again');
        assert.ok(!first.some((m) => m.message_id === second[0]!.message_id));
        assert.deepEqual(await store.claimDueOutbox(t + 999, 10, 1000), []);
        const expired = await store.claimDueOutbox(t + 1000, 10, 1000);
        assert.equal(expired.length, 3, 'an expired lease frees the message');

        const [m1, m2, m3] = expired as [typeof expired[0], typeof expired[0], typeof expired[0]];
        await store.markDelivered(m1.message_id, 1, t + 1001);
        await store.scheduleRetry(m2.message_id, 1, t + 60_000, 'HTTP 503');
        await store.markDead(m3.message_id, 8, 'HTTP 410', t + 1002);
        assert.deepEqual(await store.outboxCounts(), { pending: 1, delivered: 1, dead: 1 });

        assert.deepEqual(await store.claimDueOutbox(t + 59_999, 10, 1000), [], 'retry is not due before its time');
        const retried = await store.claimDueOutbox(t + 60_000, 10, 1000);
        assert.equal(retried.length, 1);
        assert.equal(retried[0]!.message_id, m2.message_id);
        assert.equal(retried[0]!.attempts, 1);
        assert.equal(retried[0]!.next_attempt_at, t + 60_000);
        await store.markDead(m2.message_id, 2, 'gone', t + 60_001);
        // Delivered or dead messages are never handed out again, and stay counted once.
        assert.deepEqual(await store.claimDueOutbox(t + 10_000_000, 10, 1000), []);
        await store.markDelivered(m1.message_id, 3, t + 70_000);
        await store.markDead(m1.message_id, 3, 'late', t + 70_000);
        await store.scheduleRetry(m3.message_id, 9, t, 'late');
        assert.deepEqual(await store.outboxCounts(), { pending: 0, delivered: 1, dead: 2 });
        assert.deepEqual(await store.claimDueOutbox(t + 10_000_000, 10, 1000), []);
      });

      it('deleting a subscription drops its pending messages', async () => {
        const keep = makeSubscription({ events: ['run.completed'] });
        const drop = makeSubscription({ events: ['run.completed'] });
        await store.createSubscription(keep);
        await store.createSubscription(drop);
        const event: OutgoingEvent = {
          type: 'run.completed',
          attributes: { run_id: 'r1', workflow_id: 'wf' },
          payload: { run_id: 'r1' },
        };
        await store.apply({ outgoing: [event, event] });
        assert.equal((await store.outboxCounts()).pending, 4);
        assert.equal(await store.deleteSubscription(drop.subscription_id), true);
        assert.equal((await store.outboxCounts()).pending, 2);
        const claimed = await store.claimDueOutbox(Date.now() + 1, 10, 1000);
        assert.equal(claimed.length, 2);
        assert.ok(claimed.every((m) => m.subscription_id === keep.subscription_id));
        // Events after the deletion reach only the remaining subscription.
        await store.apply({ outgoing: [event] });
        assert.equal((await store.outboxCounts()).pending, 3);
        // No subscriptions: nothing is queued.
        await store.deleteSubscription(keep.subscription_id);
        await store.apply({ outgoing: [event] });
        assert.equal((await store.outboxCounts()).pending, 0);
      });
    });

    describe('timers', () => {
      const timer = (subject_id: string, kind: string, due_at: number, subject_kind: 'handoff' | 'run' = 'handoff'): Timer => ({
        subject_kind,
        subject_id,
        kind,
        due_at,
      });

      it('leases due timers in due order, once per lease', async () => {
        assert.equal(await store.nextTimerDue(), null);
        assert.deepEqual(await store.claimDueTimers(T0 + 10_000, 10, 1000), []);
        await store.apply({
          timersToSet: [
            timer('h1', 'claim', T0 + 300),
            timer('h2', 'claim', T0 + 100),
            timer('h3', 'completion', T0 + 200),
            timer('r1', 'run', T0 + 5000, 'run'),
          ],
        });
        assert.equal(await store.countTimers(), 4);
        assert.equal(await store.nextTimerDue(), T0 + 100);
        assert.deepEqual(await store.claimDueTimers(T0 + 99, 10, 1000), []);

        const first = await store.claimDueTimers(T0 + 250, 1, 1000);
        assert.deepEqual(first, [{ ...timer('h2', 'claim', T0 + 100), lease_until: T0 + 1250 }]);
        const second = await store.claimDueTimers(T0 + 400, 10, 1000);
        assert.deepEqual(second, [
          { ...timer('h3', 'completion', T0 + 200), lease_until: T0 + 1400 },
          { ...timer('h1', 'claim', T0 + 300), lease_until: T0 + 1400 },
        ]);
        assert.deepEqual(await store.claimDueTimers(T0 + 1249, 10, 1000), [], 'leases still running');
        const again = await store.claimDueTimers(T0 + 1250, 10, 500);
        assert.deepEqual(again, [{ ...timer('h2', 'claim', T0 + 100), lease_until: T0 + 1750 }]);
        // Claiming does not remove: the timer stays until deleted.
        assert.equal(await store.countTimers(), 4);
        await store.deleteTimer(timer('h2', 'claim', T0 + 100));
        assert.equal(await store.countTimers(), 3);
        assert.equal(await store.nextTimerDue(), T0 + 200);
      });

      it('re-arming replaces the due time, frees the lease, and survives a delete of the old one', async () => {
        await store.apply({ timersToSet: [timer('h1', 'heartbeat', T0 + 100)] });
        const [leased] = await store.claimDueTimers(T0 + 100, 10, 60_000);
        assert.ok(leased);
        // A heartbeat re-arms the timer while the sweeper holds it.
        await store.apply({ timersToSet: [timer('h1', 'heartbeat', T0 + 500)] });
        assert.equal(await store.countTimers(), 1);
        await store.deleteTimer(leased); // the sweeper's stale delete
        assert.equal(await store.countTimers(), 1);
        assert.equal(await store.nextTimerDue(), T0 + 500);
        // The new due time is claimable at once even though the old lease would still run.
        assert.deepEqual(await store.claimDueTimers(T0 + 500, 10, 1000), [
          { ...timer('h1', 'heartbeat', T0 + 500), lease_until: T0 + 1500 },
        ]);
        await store.deleteTimer(timer('h1', 'heartbeat', T0 + 500));
        assert.equal(await store.countTimers(), 0);
        assert.equal(await store.nextTimerDue(), null);
      });

      it('clears one kind or every timer of a subject before setting new ones', async () => {
        await store.apply({
          timersToSet: [
            timer('h1', 'claim', T0 + 1),
            timer('h1', 'completion', T0 + 2),
            timer('h1', 'heartbeat', T0 + 3),
            timer('h2', 'claim', T0 + 4),
            timer('h1', 'run', T0 + 5, 'run'),
          ],
        });
        assert.equal(await store.countTimers(), 5);
        await store.apply({ timersToClear: [{ subject_kind: 'handoff', subject_id: 'h1', kind: 'claim' }] });
        assert.equal(await store.countTimers(), 4);
        assert.equal(await store.nextTimerDue(), T0 + 2);
        await store.apply({
          timersToClear: [{ subject_kind: 'handoff', subject_id: 'h1' }],
          timersToSet: [timer('h1', 'completion', T0 + 50)],
        });
        const due = await store.claimDueTimers(T0 + 1000, 10, 10);
        assert.deepEqual(
          due.map((t) => [t.subject_kind, t.subject_id, t.kind, t.due_at]),
          [
            ['handoff', 'h2', 'claim', T0 + 4],
            ['run', 'h1', 'run', T0 + 5],
            ['handoff', 'h1', 'completion', T0 + 50],
          ],
        );
      });
    });

    describe('approvals', () => {
      const approvedEvent = (a: Approval): OutgoingEvent => ({ type: 'approval.approved', attributes: { approval_id: a.approval_id }, payload: { approval_id: a.approval_id } });

      it('round-trips an approval exactly, refuses a duplicate id and returns null for an unknown one', async () => {
        const a = makeApproval({ decisions: [{ approver: 'bob', decision: 'reject', comment: null, at: T0 + 1, via: 'link' }] });
        await store.apply({ approval: { insert: a } });
        assert.deepEqual(await store.getApproval(a.approval_id), a);
        assert.equal(await store.getApproval('apr_missing'), null);
        await assert.rejects(
          store.apply({ approval: { insert: { ...a, title: 'other' } }, history: [historyOfApproval(a.approval_id)] }),
          isError(DuplicateRecord, (e) => {
            assert.equal(e.subject, 'approval');
            assert.equal(e.id, a.approval_id);
          }),
        );
        assert.deepEqual(await store.getApproval(a.approval_id), a);
        assert.deepEqual(await store.listHistory('approval', a.approval_id, 0, 10), []);
      });

      it('creates its subscriptions in the same transaction, in time for the mutation\'s own events', async () => {
        const a = makeApproval();
        const sub = makeSubscription({ events: ['approval.approved', 'approval.timed_out'], filter: { approval_id: a.approval_id } });
        const other = makeSubscription({ events: ['approval.approved'], filter: { approval_id: 'apr_other' } });
        await store.createSubscription(other);
        await store.apply({
          approval: { insert: a },
          subscriptions: [sub],
          history: [historyOfApproval(a.approval_id)],
          outgoing: [approvedEvent(a)],
          timersToSet: [{ subject_kind: 'approval', subject_id: a.approval_id, kind: 'deadline', due_at: a.deadline_at }],
        });
        assert.deepEqual(await store.getSubscription(sub.subscription_id), sub);
        const messages = await store.claimDueOutbox(Date.now() + 1000, 10, 1000);
        assert.deepEqual(messages.map((m) => [m.subscription_id, m.event_type]), [[sub.subscription_id, 'approval.approved']], 'only the matching approval_id');
        assert.equal(JSON.parse(messages[0]!.body).type, 'approval.approved');
        const [timer] = await store.claimDueTimers(a.deadline_at, 10, 1000);
        assert.deepEqual(timer && { kind: timer.subject_kind, id: timer.subject_id, due: timer.due_at }, { kind: 'approval', id: a.approval_id, due: a.deadline_at });
        assert.equal((await store.listHistory('approval', a.approval_id, 0, 10)).length, 1);
        // A second subscription with the same id is a DuplicateRecord, and takes the mutation with it.
        const b = makeApproval();
        await assert.rejects(store.apply({ approval: { insert: b }, subscriptions: [sub] }), isError(DuplicateRecord, (e) => assert.equal(e.subject, 'subscription')));
        assert.equal(await store.getApproval(b.approval_id), null);
      });

      it('updates from the expected version; a stale update is a VersionConflict that writes none of its parts', async () => {
        const a = makeApproval();
        await store.apply({ approval: { insert: a }, timersToSet: [{ subject_kind: 'approval', subject_id: a.approval_id, kind: 'deadline', due_at: a.deadline_at }] });
        const sub = makeSubscription({ events: ['approval.approved'], filter: { approval_id: a.approval_id } });
        await store.createSubscription(sub);
        const decided: Approval = {
          ...a,
          status: 'approved',
          decisions: [{ approver: 'alice', decision: 'approve', comment: 'ok', at: T0 + 5, via: 'api' }],
          outcome_reason: 'approvals_reached',
          version: 2,
          updated_at: T0 + 5,
          finished_at: T0 + 5,
        };
        const record = idem();
        const losing: Mutation = {
          idempotency: record,
          approval: { update: decided, expectedVersion: 7 },
          subscriptions: [makeSubscription({ events: ['approval.rejected'] })],
          history: [historyOfApproval(a.approval_id)],
          outgoing: [approvedEvent(a)],
          timersToClear: [{ subject_kind: 'approval', subject_id: a.approval_id }],
        };
        await assert.rejects(
          store.apply(losing),
          isError(VersionConflict, (e) => {
            assert.equal(e.subject, 'approval');
            assert.equal(e.id, a.approval_id);
          }),
        );
        assert.deepEqual(await store.getApproval(a.approval_id), a);
        assert.equal(await store.getIdempotency(record.principal, record.key), null);
        assert.deepEqual(await store.listHistory('approval', a.approval_id, 0, 10), []);
        assert.deepEqual(await store.outboxCounts(), { pending: 0, delivered: 0, dead: 0 });
        assert.equal(await store.countTimers(), 1);
        assert.equal(await store.getSubscription(losing.subscriptions![0]!.subscription_id), null);
        await assert.rejects(store.apply({ approval: { update: makeApproval(), expectedVersion: 1 } }), isError(VersionConflict));

        await store.apply({ ...losing, approval: { update: decided, expectedVersion: 1 } });
        assert.deepEqual(await store.getApproval(a.approval_id), decided);
        assert.deepEqual(await store.getIdempotency(record.principal, record.key), record);
        assert.equal((await store.listHistory('approval', a.approval_id, 0, 10)).length, 1);
        assert.equal((await store.outboxCounts()).pending, 1);
        assert.equal(await store.countTimers(), 0);
      });
    });

    approvalListContract(() => store, makeApproval);

    describe('stats', () => {
      const apply = (...stats: StatsDelta[]) => store.apply({ stats });

      it('counts participation once per key and sums finished handoffs', async () => {
        await apply({ kind: 'participation', contractor: 'bob', key: 'run-1' });
        await apply({ kind: 'participation', contractor: 'bob', key: 'run-1' }, { kind: 'participation', contractor: 'bob', key: 'run-2' });
        await apply({ kind: 'participation', contractor: 'amy', key: 'run-1' });
        await apply(
          { kind: 'handoff_finished', contractor: 'bob', failed: false, error_code: null, duration_ms: 1500 },
          { kind: 'handoff_finished', contractor: 'bob', failed: true, error_code: 'TIMEOUT', duration_ms: 500 },
        );
        await apply({ kind: 'handoff_finished', contractor: 'bob', failed: true, error_code: 'TIMEOUT', duration_ms: 1 });
        await apply({ kind: 'handoff_finished', contractor: 'bob', failed: true, error_code: 'BOOM', duration_ms: 0 });
        await apply({ kind: 'handoff_finished', contractor: 'bob', failed: true, error_code: 'AUTH', duration_ms: 0 });
        await apply({ kind: 'handoff_finished', contractor: 'cid', failed: false, error_code: null, duration_ms: 7 });

        assert.deepEqual(await store.getContractorStats('bob', 10), {
          contractor: 'bob',
          workflows_participated: 2,
          handoffs_finished: 5,
          handoffs_failed: 4,
          handoff_time_sum_ms: 2001,
          common_errors: [
            { error: 'TIMEOUT', count: 2 },
            { error: 'AUTH', count: 1 },
            { error: 'BOOM', count: 1 },
          ],
        });
        assert.deepEqual((await store.getContractorStats('bob', 2))?.common_errors, [
          { error: 'TIMEOUT', count: 2 },
          { error: 'AUTH', count: 1 },
        ]);
        assert.deepEqual((await store.getContractorStats('bob', 0))?.common_errors, []);
        assert.deepEqual(await store.getContractorStats('amy', 5), {
          contractor: 'amy',
          workflows_participated: 1,
          handoffs_finished: 0,
          handoffs_failed: 0,
          handoff_time_sum_ms: 0,
          common_errors: [],
        });
        assert.deepEqual(await store.getContractorStats('cid', 5), {
          contractor: 'cid',
          workflows_participated: 0,
          handoffs_finished: 1,
          handoffs_failed: 0,
          handoff_time_sum_ms: 7,
          common_errors: [],
        });
        assert.equal(await store.getContractorStats('nobody', 5), null);
        assert.deepEqual(await store.listContractorsWithStats(), ['amy', 'bob', 'cid']);
      });

      it('aggregates finished runs: totals, extremes, last run and histogram', async () => {
        const runFinished = (workflow_id: string, status: 'completed' | 'failed', duration_ms: number, at: number): StatsDelta => ({
          kind: 'run_finished',
          workflow_id,
          status,
          duration_ms,
          at,
        });
        await apply(runFinished('wf-b', 'completed', 1000, T0 + 100));
        await apply(runFinished('wf-b', 'failed', 250, T0 + 300));
        await apply(runFinished('wf-b', 'completed', 1000, T0 + 200)); // arrives late: not the last
        await apply(runFinished('wf-b', 'completed', 60_000, T0 + 300)); // same time as the last: replaces it
        await apply(runFinished('wf-a', 'failed', 5, T0));

        const b = await store.getWorkflowStats('wf-b');
        assert.ok(b);
        assert.equal(b.workflow_id, 'wf-b');
        assert.equal(b.total, 4);
        assert.equal(b.successful, 3);
        assert.equal(b.failed, 1);
        assert.equal(b.duration_sum_ms, 62_250);
        assert.equal(b.duration_min_ms, 250);
        assert.equal(b.duration_max_ms, 60_000);
        assert.equal(b.last_at, T0 + 300);
        assert.equal(b.last_status, 'completed');
        assert.equal(b.last_duration_ms, 60_000);
        assert.ok(b.buckets instanceof Map);
        const expected = new Map<number, number>();
        for (const d of [1000, 250, 1000, 60_000]) expected.set(bucketOf(d), (expected.get(bucketOf(d)) ?? 0) + 1);
        assert.deepEqual(new Map([...b.buckets].sort((x, y) => x[0] - y[0])), new Map([...expected].sort((x, y) => x[0] - y[0])));
        assert.equal(b.buckets.get(bucketOf(1000)), 2);

        const a = await store.getWorkflowStats('wf-a');
        assert.deepEqual(a, {
          workflow_id: 'wf-a',
          total: 1,
          successful: 0,
          failed: 1,
          duration_sum_ms: 5,
          duration_min_ms: 5,
          duration_max_ms: 5,
          buckets: new Map([[bucketOf(5), 1]]),
          last_at: T0,
          last_status: 'failed',
          last_duration_ms: 5,
        });
        assert.equal(await store.getWorkflowStats('wf-none'), null);
        assert.deepEqual(await store.listWorkflowIdsWithStats(), ['wf-a', 'wf-b']);
      });
    });
  });
}
