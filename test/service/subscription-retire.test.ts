// Subscriptions scoped to one subject end with it: a subscription whose filter names a
// handoff_id (or a run_id) is deleted once that subject's final event was delivered (or
// given up: 410), so per-handoff subscriptions (the n8n Handoff node's Wait for Completion)
// do not pile up. Subscriptions without such a scope, and run-scoped ones seeing the final
// events of the run's handoffs, stay. Real service and a real receiver on loopback.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, handoffBody, startTestService, type TestService } from './harness.ts';

const INFRA = 'infrastructure-contractor';
const TALOS = 'talos-contractor';
const N8N = 'n8n-contractor';

interface Receiver {
  url: string;
  /** Event types received and answered 2xx, in order (by subscription path). */
  received: Map<string, string[]>;
  /** Status to answer for a path; 200 when unset. */
  answers: Map<string, number[]>;
  close(): Promise<void>;
}

/** Records `type` of every body POSTed to /<name>; answers from `answers` (a queue per path), else 200. */
async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: new Map(), answers: new Map(), close: async () => {} };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += String(chunk)));
    req.on('end', () => {
      const path = req.url ?? '/';
      const status = receiver.answers.get(path)?.shift() ?? 200;
      if (status < 300) {
        const list = receiver.received.get(path) ?? [];
        list.push((JSON.parse(text) as { type: string }).type);
        receiver.received.set(path, list);
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const HANDOFF_EVENTS = ['handoff.created', 'handoff.claimed', 'handoff.completed', 'handoff.failed', 'handoff.timed_out', 'handoff.cancelled'];

describe('subject-scoped subscriptions retire after the final event', () => {
  let svc: TestService;
  let receiver: Receiver;

  before(async () => {
    svc = await startTestService({ CORTEX_DELIVERY_BACKOFF_MS: '50' });
    receiver = await startReceiver();
    const definition = {
      workflow_id: 'retire-flow',
      workflow_name: 'Retire flow',
      version: '1.0.0',
      contractors: [N8N, INFRA],
      // INFRA owns the phase: a contractor attaches handoffs only to runs it is party to.
      phases: [{ phase_id: 'only', contractor: INFRA, actions: [{ action_id: 'noop', action: 'noop' }] }],
    };
    assert.equal((await svc.call('POST', '/v1/definitions', { body: definition })).status, 201);
  });

  after(async () => {
    await receiver.close();
    await svc.stop();
  });

  async function subscribe(path: string, events: string[], filter: Record<string, string>, as: 'admin' | typeof INFRA = INFRA): Promise<string> {
    const reply = await svc.call('POST', '/v1/subscriptions', { as, body: { url: `${receiver.url}${path}`, events, filter } });
    assert.equal(reply.status, 201, reply.text);
    return reply.body.subscription_id as string;
  }

  const exists = async (id: string) => (await svc.call('GET', `/v1/subscriptions/${id}`)).status === 200;
  const gone = (id: string) => eventually(async () => !(await exists(id)), 5000);
  const receivedOn = (path: string) => receiver.received.get(path) ?? [];
  const createHandoff = async (overrides: Record<string, unknown> = {}) => {
    const reply = await svc.call('POST', '/v1/handoffs', { as: INFRA, body: handoffBody(overrides) });
    assert.equal(reply.status, 201, reply.text);
    return reply.body.handoff_id as string;
  };
  const act = async (id: string, action: string, as: string, body: unknown = {}) => {
    const reply = await svc.call('POST', `/v1/handoffs/${id}/${action}`, { as: as as typeof TALOS, body });
    assert.equal(reply.status, 200, reply.text);
  };

  test('a handoff_id subscription survives non-final events and ends after handoff.completed is delivered', async () => {
    const id = await createHandoff({ task_id: 'retire-complete' });
    const sub = await subscribe('/complete', HANDOFF_EVENTS, { handoff_id: id, from_contractor: INFRA });
    // Another subscriber with a contractor filter (no subject) sees the same events and stays.
    const broad = await subscribe('/broad', HANDOFF_EVENTS, { from_contractor: INFRA });

    await act(id, 'claim', TALOS);
    await eventually(async () => receivedOn('/complete').includes('handoff.claimed'));
    assert.equal(await exists(sub), true, 'a non-final event leaves the subscription');

    await act(id, 'complete', TALOS, { result: { ok: true } });
    await gone(sub);
    assert.deepEqual(receivedOn('/complete'), ['handoff.claimed', 'handoff.completed']);
    await eventually(async () => receivedOn('/broad').includes('handoff.completed'));
    assert.equal(await exists(broad), true, 'a subscription without handoff_id/run_id is never retired');
    assert.ok(svc.logs.some((line) => line.includes('subscription retired') && line.includes(sub)));
    await svc.call('DELETE', `/v1/subscriptions/${broad}`);
  });

  test('handoff.timed_out and handoff.cancelled end it too', async () => {
    const late = await createHandoff({ task_id: 'retire-timeout', claim_timeout: 0.2 });
    const lateSub = await subscribe('/timeout', ['handoff.timed_out'], { handoff_id: late, to_contractor: TALOS }, 'admin');
    const cancelled = await createHandoff({ task_id: 'retire-cancel' });
    const cancelSub = await subscribe('/cancel', ['handoff.cancelled', 'handoff.failed'], { handoff_id: cancelled, from_contractor: INFRA });

    await act(cancelled, 'cancel', INFRA, { reason: 'not needed' });
    await gone(lateSub);
    await gone(cancelSub);
    assert.deepEqual(receivedOn('/timeout'), ['handoff.timed_out']);
    assert.deepEqual(receivedOn('/cancel'), ['handoff.cancelled']);
  });

  test('it stays while the final event is being retried, and ends once a retry is delivered', async () => {
    const id = await createHandoff({ task_id: 'retire-retry' });
    receiver.answers.set('/retry', [503, 503]);
    const sub = await subscribe('/retry', ['handoff.failed'], { handoff_id: id, to_contractor: TALOS }, 'admin');

    await act(id, 'fail', TALOS, { error: { code: 'boom', message: 'x' } });
    await eventually(async () => receiver.answers.get('/retry')?.length === 0);
    assert.equal(await exists(sub), true, 'not yet delivered: still there');
    await gone(sub);
    assert.deepEqual(receivedOn('/retry'), ['handoff.failed']);
  });

  test('a receiver answering 410 to the final event also ends it', async () => {
    const id = await createHandoff({ task_id: 'retire-gone' });
    receiver.answers.set('/gone', [410]);
    const sub = await subscribe('/gone', ['handoff.failed'], { handoff_id: id, to_contractor: TALOS }, 'admin');
    await act(id, 'fail', TALOS, { error: { code: 'boom', message: 'x' } });
    await gone(sub);
    assert.deepEqual(receivedOn('/gone'), []);
  });

  test('a run_id subscription outlives the final events of the run\'s handoffs and ends with run.completed', async () => {
    const started = await svc.call('POST', '/v1/runs', { as: N8N, body: { workflow_id: 'retire-flow' } });
    assert.equal(started.status, 201, started.text);
    const runId = started.body.run_id as string;
    // Admin: a contractor's handoff subscriptions need a from/to filter, which run events do not carry.
    const sub = await subscribe('/run', ['handoff.completed', 'run.completed', 'run.failed'], { run_id: runId }, 'admin');

    const id = await createHandoff({ task_id: 'retire-run', run_id: runId });
    await act(id, 'claim', TALOS);
    await act(id, 'complete', TALOS);
    await eventually(async () => receivedOn('/run').includes('handoff.completed'));
    assert.equal(await exists(sub), true, 'a handoff of the run finishing does not end a run-scoped subscription');

    for (const step of ['phases/only/start', 'phases/only/complete', 'complete']) {
      const reply = await svc.call('POST', `/v1/runs/${runId}/${step}`, { as: N8N, body: {} });
      assert.equal(reply.status, 200, reply.text);
    }
    await gone(sub);
    assert.deepEqual(receivedOn('/run'), ['handoff.completed', 'run.completed']);
  });
});
