// The handoff state machine over real HTTP: every (status, action) pair of the table,
// event history, If-Match, idempotent replays, concurrent claims, heartbeats with
// progress, list filters and cursor pagination.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HANDOFF_TRANSITIONS, canTransition, type HandoffAction } from '../../service/src/domain/handoff-machine.ts';
import { HANDOFF_STATUSES, type HandoffStatus } from '../../service/src/domain/types.ts';
import { startTestService, handoffBody, type ContractorName, type Reply, type TestService } from './harness.ts';

const FROM: ContractorName = 'infrastructure-contractor';
const TO: ContractorName = 'talos-contractor';

/** The actions a client can send over HTTP (timeout is the service's own). */
const HTTP_ACTIONS = ['claim', 'heartbeat', 'complete', 'fail', 'cancel'] as const satisfies readonly HandoffAction[];
type HttpAction = (typeof HTTP_ACTIONS)[number];

const ACTION_BODY: Record<HttpAction, Record<string, unknown>> = {
  claim: {},
  heartbeat: { progress: { percent: 40 } },
  complete: { result: { kubeconfig_ref: 'k1' } },
  fail: { error: { code: 'talos_bootstrap_failed', message: 'etcd did not come up' } },
  cancel: { reason: 'no longer needed' },
};

/** Who may send the action: the receiver, except cancel (the sender). */
const ACTOR: Record<HttpAction, ContractorName> = { claim: TO, heartbeat: TO, complete: TO, fail: TO, cancel: FROM };

/** The event each action writes to history (null: none), as written independently of the table. */
const EXPECTED_EVENT: Record<HttpAction, string | null> = {
  claim: 'handoff.claimed',
  heartbeat: null,
  complete: 'handoff.completed',
  fail: 'handoff.failed',
  cancel: 'handoff.cancelled',
};

let counter = 0;
const uniqueTask = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

async function create(svc: TestService, overrides: Record<string, unknown> = {}): Promise<Reply> {
  const reply = await svc.call('POST', '/v1/handoffs', { as: FROM, body: handoffBody({ task_id: uniqueTask('t'), ...overrides }) });
  assert.equal(reply.status, 201, reply.text);
  return reply;
}

async function act(svc: TestService, id: string, action: HttpAction, headers: Record<string, string> = {}): Promise<Reply> {
  return svc.call('POST', `/v1/handoffs/${id}/${action}`, { as: ACTOR[action], body: ACTION_BODY[action], headers });
}

/** A new handoff driven over HTTP into `status`; returns its id and current version. */
async function handoffIn(svc: TestService, status: HandoffStatus): Promise<{ id: string; version: number }> {
  const created = await create(svc);
  const id = created.body.handoff_id as string;
  const path: HttpAction[] = { pending: [], in_progress: ['claim'], completed: ['claim', 'complete'], failed: ['fail'] }[status] as HttpAction[];
  let last = created;
  for (const step of path) {
    last = await act(svc, id, step);
    assert.equal(last.status, 200, `driving ${id} to ${status}: ${step} → ${last.text}`);
  }
  assert.equal(last.body.status, status);
  return { id, version: last.body.version as number };
}

async function get(svc: TestService, id: string): Promise<Reply> {
  const reply = await svc.call('GET', `/v1/handoffs/${id}`);
  assert.equal(reply.status, 200, reply.text);
  return reply;
}

async function events(svc: TestService, id: string): Promise<Array<{ seq: number; type: string; actor: string; data: Record<string, unknown> }>> {
  const reply = await svc.call('GET', `/v1/handoffs/${id}/events?limit=500`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items;
}

describe('handoff state machine over HTTP', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc?.stop();
  });

  it('the table is what this test assumes (so the loop below is not vacuous)', () => {
    assert.deepEqual([...HANDOFF_STATUSES], ['pending', 'in_progress', 'completed', 'failed']);
    for (const action of HTTP_ACTIONS) assert.ok(Object.hasOwn(HANDOFF_TRANSITIONS, action), action);
    const allowed = HANDOFF_STATUSES.flatMap((status) => HTTP_ACTIONS.filter((action) => canTransition(status, action)).map((a) => `${status}:${a}`));
    assert.deepEqual(allowed.sort(), [
      'in_progress:cancel',
      'in_progress:complete',
      'in_progress:fail',
      'in_progress:heartbeat',
      'pending:cancel',
      'pending:claim',
      'pending:fail',
    ]);
    for (const final of ['completed', 'failed'] as const) {
      for (const action of HTTP_ACTIONS) assert.equal(canTransition(final, action), false, `${final}:${action}`);
    }
  });

  for (const status of HANDOFF_STATUSES) {
    for (const action of HTTP_ACTIONS) {
      const legal = HANDOFF_TRANSITIONS[action].from.includes(status);
      it(`${action} on a ${status} handoff → ${legal ? `200 ${HANDOFF_TRANSITIONS[action].to}` : '409 illegal_transition'}`, async () => {
        const { id, version } = await handoffIn(svc, status);
        const before = await get(svc, id);
        const historyBefore = await events(svc, id);
        const reply = await act(svc, id, action);
        const afterGet = await get(svc, id);
        const historyAfter = await events(svc, id);
        if (legal) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.body.status, HANDOFF_TRANSITIONS[action].to);
          assert.equal(reply.body.version, version + 1);
          assert.equal(reply.headers.get('etag'), `"${version + 1}"`);
          assert.equal(reply.headers.get('idempotent-replayed'), null);
          assert.equal(afterGet.body.status, HANDOFF_TRANSITIONS[action].to);
          assert.equal(afterGet.body.version, version + 1);
          assert.equal(afterGet.headers.get('etag'), `"${version + 1}"`);
          const event = HANDOFF_TRANSITIONS[action].event;
          assert.equal(event, EXPECTED_EVENT[action]);
          if (event === null) {
            assert.equal(historyAfter.length, historyBefore.length);
          } else {
            assert.equal(historyAfter.length, historyBefore.length + 1);
            const last = historyAfter.at(-1)!;
            assert.equal(last.type, event);
            assert.equal(last.actor, ACTOR[action]);
          }
          if (afterGet.body.status === 'completed' || afterGet.body.status === 'failed') {
            assert.notEqual(afterGet.body.finished_at, null);
          }
        } else {
          assert.equal(reply.status, 409, reply.text);
          assert.equal(reply.body.error.code, 'illegal_transition');
          assert.equal(typeof reply.body.error.message, 'string');
          assert.ok(Array.isArray(reply.body.error.details));
          assert.deepEqual(afterGet.body, before.body, 'an illegal transition changes nothing');
          assert.equal(afterGet.body.version, version);
          assert.deepEqual(historyAfter, historyBefore, 'an illegal transition writes no history');
        }
      });
    }
  }

  it('literal facts, independent of the table', async () => {
    const pending = await handoffIn(svc, 'pending');
    const completeEarly = await act(svc, pending.id, 'complete');
    assert.equal(completeEarly.status, 409);
    assert.equal(completeEarly.body.error.code, 'illegal_transition');
    const heartbeatEarly = await act(svc, pending.id, 'heartbeat');
    assert.equal(heartbeatEarly.status, 409);
    assert.equal((await get(svc, pending.id)).body.version, 1);

    const claimed = await act(svc, pending.id, 'claim');
    assert.equal(claimed.status, 200);
    assert.equal(claimed.body.status, 'in_progress');
    assert.equal(claimed.body.version, 2);
    assert.equal(claimed.headers.get('etag'), '"2"');
    assert.notEqual(claimed.body.claimed_at, null);
    const claimAgain = await act(svc, pending.id, 'claim');
    assert.equal(claimAgain.status, 409);

    const cancelled = await act(svc, pending.id, 'cancel');
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'failed');
    assert.equal(cancelled.body.error.code, 'handoff_cancelled');
    assert.equal(cancelled.body.error.message, 'no longer needed');
    assert.equal(cancelled.body.version, 3);

    for (const action of HTTP_ACTIONS) {
      const reply = await act(svc, pending.id, action);
      assert.equal(reply.status, 409, `${action} on a failed handoff`);
    }

    const done = await handoffIn(svc, 'completed');
    assert.equal(done.version, 3);
    const failLate = await act(svc, done.id, 'fail');
    assert.equal(failLate.status, 409);
    assert.equal(failLate.body.error.code, 'illegal_transition');
    const doneNow = await get(svc, done.id);
    assert.equal(doneNow.body.status, 'completed');
    assert.deepEqual(doneNow.body.result, { kubeconfig_ref: 'k1' });
    assert.equal(doneNow.body.error, null);
  });

  it('the event history lists the transitions in order, with their actors', async () => {
    const { id } = await handoffIn(svc, 'pending');
    assert.equal((await act(svc, id, 'claim')).status, 200);
    assert.equal((await act(svc, id, 'heartbeat')).status, 200);
    assert.equal((await act(svc, id, 'heartbeat')).status, 200);
    assert.equal((await act(svc, id, 'complete')).status, 200);
    const history = await events(svc, id);
    assert.deepEqual(
      history.map((e) => [e.type, e.actor]),
      [
        ['handoff.created', FROM],
        ['handoff.claimed', TO],
        ['handoff.completed', TO],
      ],
    );
    for (let i = 1; i < history.length; i++) assert.ok(history[i]!.seq > history[i - 1]!.seq, 'seq increases');
    assert.deepEqual(history.map((e) => e.data.status), ['pending', 'in_progress', 'completed']);

    const other = await handoffIn(svc, 'pending');
    const cancelled = await svc.call('POST', `/v1/handoffs/${other.id}/cancel`, { as: 'admin', body: {} });
    assert.equal(cancelled.status, 200);
    assert.deepEqual(
      (await events(svc, other.id)).map((e) => [e.type, e.actor]),
      [
        ['handoff.created', FROM],
        ['handoff.cancelled', 'admin'],
      ],
    );

    // Paging the history with ?after=<seq>.
    const first = await svc.call('GET', `/v1/handoffs/${id}/events?limit=2`);
    assert.equal(first.body.items.length, 2);
    assert.equal(first.body.next_cursor, String(first.body.items[1].seq));
    const rest = await svc.call('GET', `/v1/handoffs/${id}/events?limit=2&after=${first.body.next_cursor}`);
    assert.deepEqual(rest.body.items.map((e: { type: string }) => e.type), ['handoff.completed']);
    assert.equal(rest.body.next_cursor, null);
  });

  it('If-Match: stale → 409 version_mismatch, current → 200, malformed → 400', async () => {
    const { id } = await handoffIn(svc, 'pending');
    const stale = await act(svc, id, 'claim', { 'If-Match': '"7"' });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.body.error.code, 'version_mismatch');
    assert.equal((await get(svc, id)).body.version, 1);
    assert.equal((await get(svc, id)).body.status, 'pending');

    for (const malformed of ['abc', '"1', '1"', 'W/1', '"-1"', '"1", "2"']) {
      const reply = await act(svc, id, 'claim', { 'If-Match': malformed });
      assert.equal(reply.status, 400, `If-Match ${malformed}: ${reply.text}`);
      assert.equal(reply.body.error.code, 'invalid_request');
      assert.ok(reply.body.error.details.some((d: { path: string }) => d.path === 'header.If-Match'), reply.text);
    }
    assert.equal((await get(svc, id)).body.version, 1);

    const etag = (await get(svc, id)).headers.get('etag')!;
    assert.equal(etag, '"1"');
    const current = await act(svc, id, 'claim', { 'If-Match': etag });
    assert.equal(current.status, 200, current.text);
    assert.equal(current.body.version, 2);

    // The old ETag is stale now, for every action.
    const late = await act(svc, id, 'complete', { 'If-Match': etag });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'version_mismatch');
    const ok = await act(svc, id, 'complete', { 'If-Match': '2' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.status, 'completed');
  });

  it('idempotent create: same key and body replay the original; another body is 422', async () => {
    const task = uniqueTask('idem');
    const body = handoffBody({ task_id: task, data: { n: 1 } });
    const headers = { 'Idempotency-Key': `create-${task}` };
    const first = await svc.call('POST', '/v1/handoffs', { as: FROM, body, headers });
    const second = await svc.call('POST', '/v1/handoffs', { as: FROM, body, headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(second.status, 201, second.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.body.handoff_id, first.body.handoff_id);
    assert.deepEqual(second.body, first.body);
    const listed = await svc.call('GET', `/v1/handoffs?task_id=${task}`);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.items.length, 1);

    const reused = await svc.call('POST', '/v1/handoffs', { as: FROM, body: { ...body, data: { n: 2 } }, headers });
    assert.equal(reused.status, 422, reused.text);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
    assert.equal((await svc.call('GET', `/v1/handoffs?task_id=${task}`)).body.items.length, 1);

    // Without a key the same body is a second handoff.
    const third = await svc.call('POST', '/v1/handoffs', { as: FROM, body });
    assert.equal(third.status, 201);
    assert.notEqual(third.body.handoff_id, first.body.handoff_id);
    assert.equal((await svc.call('GET', `/v1/handoffs?task_id=${task}`)).body.items.length, 2);
  });

  it('a replayed claim returns 200 with the original answer, not 409', async () => {
    const { id } = await handoffIn(svc, 'pending');
    const headers = { 'Idempotency-Key': `claim-${id}` };
    const first = await act(svc, id, 'claim', headers);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.status, 'in_progress');
    const replay = await act(svc, id, 'claim', headers);
    assert.equal(replay.status, 200, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);
    assert.equal(replay.headers.get('etag'), '"2"');
    // Without the key it is what it is: an illegal second claim.
    const plain = await act(svc, id, 'claim');
    assert.equal(plain.status, 409);
    // Even after the handoff moved on, the replay still answers the original.
    assert.equal((await act(svc, id, 'complete')).status, 200);
    const later = await act(svc, id, 'claim', headers);
    assert.equal(later.status, 200);
    assert.equal(later.body.status, 'in_progress');
    assert.equal(later.body.version, 2);
    const claims = (await events(svc, id)).filter((e) => e.type === 'handoff.claimed');
    assert.equal(claims.length, 1);
  });

  it('100 concurrent claims: exactly one wins', async () => {
    const { id } = await handoffIn(svc, 'pending');
    const replies = await Promise.all(Array.from({ length: 100 }, () => act(svc, id, 'claim')));
    const statuses = replies.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${JSON.stringify(statuses)}`);
    assert.equal(statuses.filter((s) => s === 409).length, 99);
    for (const reply of replies.filter((r) => r.status === 409)) {
      assert.ok(['illegal_transition', 'concurrent_update'].includes(reply.body.error.code), reply.text);
    }
    const now = await get(svc, id);
    assert.equal(now.body.status, 'in_progress');
    assert.equal(now.body.version, 2);
    const claims = (await events(svc, id)).filter((e) => e.type === 'handoff.claimed');
    assert.equal(claims.length, 1);
    assert.equal(claims[0]!.actor, TO);
  });

  it('a heartbeat stores its progress; one without progress keeps it', async () => {
    const { id } = await handoffIn(svc, 'in_progress');
    assert.equal((await get(svc, id)).body.progress, null);
    const beat = await svc.call('POST', `/v1/handoffs/${id}/heartbeat`, { as: TO, body: { progress: { percent: 40, step: 'etcd' } } });
    assert.equal(beat.status, 200, beat.text);
    assert.deepEqual(beat.body.progress, { percent: 40, step: 'etcd' });
    assert.equal(beat.body.status, 'in_progress');
    assert.equal(beat.body.version, 3);
    assert.deepEqual((await get(svc, id)).body.progress, { percent: 40, step: 'etcd' });
    const bare = await svc.call('POST', `/v1/handoffs/${id}/heartbeat`, { as: TO, body: {} });
    assert.equal(bare.status, 200);
    assert.deepEqual(bare.body.progress, { percent: 40, step: 'etcd' });
    const next = await svc.call('POST', `/v1/handoffs/${id}/heartbeat`, { as: TO, body: { progress: { percent: 90 } } });
    assert.deepEqual(next.body.progress, { percent: 90 });
    assert.deepEqual((await get(svc, id)).body.progress, { percent: 90 });
    assert.equal((await get(svc, id)).body.version, 5);
  });
});

describe('handoff lists', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc?.stop();
  });

  const ids = async (query: string): Promise<string[]> => {
    const reply = await svc.call('GET', `/v1/handoffs?${query}`);
    assert.equal(reply.status, 200, reply.text);
    return (reply.body.items as Array<{ handoff_id: string }>).map((h) => h.handoff_id).sort();
  };

  it('filters by to/from contractor, status and task_id', async () => {
    const make = async (handoff_id: string, from: ContractorName, to: ContractorName, task: string) => {
      const reply = await svc.call('POST', '/v1/handoffs', { as: from, body: handoffBody({ handoff_id, from_contractor: from, to_contractor: to, task_id: task }) });
      assert.equal(reply.status, 201, reply.text);
    };
    await make('f-1', 'infrastructure-contractor', 'talos-contractor', 'filter-a');
    await make('f-2', 'infrastructure-contractor', 'n8n-contractor', 'filter-a');
    await make('f-3', 'talos-contractor', 'n8n-contractor', 'filter-b');
    await make('f-4', 'n8n-contractor', 'security-master', 'filter-b');
    assert.equal((await svc.call('POST', '/v1/handoffs/f-2/claim', { as: 'n8n-contractor', body: {} })).status, 200);
    assert.equal((await svc.call('POST', '/v1/handoffs/f-3/claim', { as: 'n8n-contractor', body: {} })).status, 200);
    assert.equal((await svc.call('POST', '/v1/handoffs/f-3/complete', { as: 'n8n-contractor', body: {} })).status, 200);
    assert.equal((await svc.call('POST', '/v1/handoffs/f-4/fail', { as: 'security-master', body: { error: { code: 'nope' } } })).status, 200);

    assert.deepEqual(await ids(''), ['f-1', 'f-2', 'f-3', 'f-4']);
    assert.deepEqual(await ids('to_contractor=n8n-contractor'), ['f-2', 'f-3']);
    assert.deepEqual(await ids('from_contractor=infrastructure-contractor'), ['f-1', 'f-2']);
    assert.deepEqual(await ids('status=pending'), ['f-1']);
    assert.deepEqual(await ids('status=in_progress'), ['f-2']);
    assert.deepEqual(await ids('status=completed'), ['f-3']);
    assert.deepEqual(await ids('status=failed'), ['f-4']);
    assert.deepEqual(await ids('task_id=filter-b'), ['f-3', 'f-4']);
    assert.deepEqual(await ids('task_id=filter-a&to_contractor=n8n-contractor'), ['f-2']);
    assert.deepEqual(await ids('from_contractor=talos-contractor&status=pending'), []);
    assert.deepEqual(await ids('task_id=no-such-task'), []);
  });

  it('pages 25 handoffs with limit 10: 3 pages, newest first, no duplicates', async () => {
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      const handoff_id = `page-${String(i).padStart(2, '0')}`;
      const reply = await svc.call('POST', '/v1/handoffs', { as: FROM, body: handoffBody({ handoff_id, task_id: 'paging' }) });
      assert.equal(reply.status, 201, reply.text);
      created.push(handoff_id);
    }
    const pages: Array<Array<{ handoff_id: string; created_at: string }>> = [];
    let cursor: string | null = null;
    do {
      const query: string = `task_id=paging&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const reply = await svc.call('GET', `/v1/handoffs?${query}`);
      assert.equal(reply.status, 200, reply.text);
      pages.push(reply.body.items);
      cursor = reply.body.next_cursor;
      assert.ok(pages.length <= 5, 'pagination ends');
    } while (cursor);
    assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
    const seen = pages.flat().map((h) => h.handoff_id);
    assert.equal(new Set(seen).size, 25, 'no duplicates');
    assert.deepEqual(seen, [...created].reverse(), 'newest first');
    const times = pages.flat().map((h) => Date.parse(h.created_at));
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! <= times[i - 1]!, 'created_at does not increase');
  });
});
