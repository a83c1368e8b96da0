// Signed callbacks end to end: a real service in this process, a real HTTP receiver on
// loopback, subscriptions made over the API, and deliveries checked as the receiver sees
// them (headers, signature, body, filter, retries with backoff, 410, deletion, and
// at-least-once delivery that a receiver deduplicating on webhook-id sees exactly once).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../service/src/domain/webhook-signature.ts';
import { eventually, handoffBody, startTestService, type TestService } from './harness.ts';

/** Callback retry backoff base for these tests: waits of up to 200, 400, 800 ms … (at least 100 ms). */
const BACKOFF_MS = 200;
/** The relay never waits less than this between attempts (deliver.ts MIN_DELAY_MS). */
const MIN_RETRY_GAP_MS = 100;

interface Delivery {
  method: string;
  url: string;
  id: string;
  timestamp: string;
  signature: string;
  contentType: string;
  body: string;
  /** Epoch ms when the request was fully received. */
  at: number;
  /** 1-based attempt number for this webhook-id as seen by the receiver. */
  attempt: number;
  /** What the receiver answered (0: connection destroyed without an answer). */
  answered: number;
}

type Answer = number | 'destroy';
type Responder = (delivery: Omit<Delivery, 'answered'>) => Answer | Promise<Answer>;

interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Replaced at will by a test. */
  respond: Responder;
  close(): Promise<void>;
}

async function startReceiver(path = '/hooks/cortex'): Promise<Receiver> {
  const attemptsById = new Map<string, number>();
  const receiver: Receiver = {
    url: '',
    deliveries: [],
    respond: () => 200,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const header = (name: string): string => {
        const value = req.headers[name];
        return Array.isArray(value) ? value.join(',') : (value ?? '');
      };
      const id = header('webhook-id');
      const attempt = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, attempt);
      const base = {
        method: req.method ?? '',
        url: req.url ?? '',
        id,
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
        contentType: header('content-type'),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        attempt,
      };
      const answer = await receiver.respond(base);
      receiver.deliveries.push({ ...base, answered: answer === 'destroy' ? 0 : answer });
      if (answer === 'destroy') {
        req.socket.destroy();
        return;
      }
      res.statusCode = answer;
      res.setHeader('content-type', 'text/plain');
      res.end(answer >= 200 && answer < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}${path}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

async function subscribe(
  svc: TestService,
  url: string,
  events: string[],
  filter: Record<string, string>,
): Promise<{ subscription_id: string; secret: string }> {
  const reply = await svc.call('POST', '/v1/subscriptions', { body: { url, events, filter, description: 'test receiver' } });
  assert.equal(reply.status, 201, reply.text);
  assert.match(reply.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  assert.match(reply.body.subscription_id, /^sub_/);
  assert.deepEqual(reply.body.events, events);
  assert.deepEqual(reply.body.filter, filter);
  return { subscription_id: reply.body.subscription_id, secret: reply.body.secret };
}

function verify(secret: string, d: Delivery) {
  return verifyWebhook(secret, { id: d.id, timestamp: d.timestamp, signature: d.signature }, d.body, Math.floor(Date.now() / 1000));
}

async function metric(svc: TestService, outcome: string): Promise<number> {
  const response = await fetch(`${svc.url}/metrics`);
  const text = await response.text();
  const match = new RegExp(`^cortex_callback_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** A stable small number from a message id, to pick which messages the receiver mistreats. */
function spread(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) % 1_000_003;
  return h;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withService(fn: (svc: TestService, receiver: Receiver) => Promise<void>): Promise<void> {
  const svc = await startTestService({ CORTEX_DELIVERY_BACKOFF_MS: String(BACKOFF_MS) });
  const receiver = await startReceiver();
  try {
    await fn(svc, receiver);
  } finally {
    await svc.stop();
    await receiver.close();
  }
}

async function createHandoff(svc: TestService, overrides: Record<string, unknown> = {}) {
  const from = (overrides.from_contractor as string | undefined) ?? 'infrastructure-contractor';
  const reply = await svc.call('POST', '/v1/handoffs', { as: from as 'infrastructure-contractor', body: handoffBody(overrides) });
  assert.equal(reply.status, 201, reply.text);
  return reply.body as Record<string, any>;
}

test('a matching handoff.created is delivered signed (Standard Webhooks) with {type, timestamp, data:{handoff}}', async () => {
  await withService(async (svc, receiver) => {
    const sub = await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
    const before = Date.now();
    const created = await createHandoff(svc, { task_id: 'signed-1', data: { marker: 'signed-1', vm_ids: [1, 2] } });

    const [delivery] = await eventually(async () => (receiver.deliveries.length >= 1 ? receiver.deliveries : null));
    assert.ok(delivery);
    assert.equal(delivery.method, 'POST');
    assert.equal(delivery.url, '/hooks/cortex');
    assert.equal(delivery.contentType, 'application/json');
    assert.match(delivery.id, /^[\x21-\x7e]{1,255}$/);
    assert.doesNotMatch(delivery.id, /\s/);
    assert.match(delivery.timestamp, /^\d+$/);
    const sentAt = Number(delivery.timestamp);
    assert.ok(sentAt >= Math.floor(before / 1000) - 1 && sentAt <= Math.ceil(Date.now() / 1000) + 1, `webhook-timestamp ${sentAt} is now`);
    assert.match(delivery.signature, /^v1,[A-Za-z0-9+/]{43}=$/);

    assert.deepEqual(verify(sub.secret, delivery), { ok: true });
    // The same delivery does not verify with another secret, nor with a changed body.
    const other = await subscribe(svc, receiver.url, ['run.started'], {});
    assert.deepEqual(verify(other.secret, delivery), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verify(sub.secret, { ...delivery, body: delivery.body.replace('signed-1', 'signed-2') }), { ok: false, reason: 'bad_signature' });

    const payload = JSON.parse(delivery.body);
    assert.deepEqual(Object.keys(payload).sort(), ['data', 'timestamp', 'type']);
    assert.equal(payload.type, 'handoff.created');
    assert.ok(!Number.isNaN(Date.parse(payload.timestamp)), 'timestamp is an ISO date');
    assert.ok(Math.abs(Date.parse(payload.timestamp) - before) < 5_000);
    assert.deepEqual(Object.keys(payload.data), ['handoff']);
    assert.deepEqual(payload.data.handoff, created);
    assert.equal(payload.data.handoff.status, 'pending');
    assert.equal(payload.data.handoff.version, 1);

    // The secret is handed out once: a later read of the subscription does not carry it.
    const read = await svc.call('GET', `/v1/subscriptions/${sub.subscription_id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.secret, undefined);
    assert.doesNotMatch(read.text, /whsec_/);
    assert.deepEqual(await svc.service.store.outboxCounts(), { pending: 0, delivered: 1, dead: 0 });
  });
});

test('events outside the subscription (other contractor, other event type) are not delivered', async () => {
  await withService(async (svc, receiver) => {
    const sub = await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });

    // Not matching: another receiving contractor (created), and other event types on a matching handoff.
    const elsewhere = await createHandoff(svc, { to_contractor: 'n8n-contractor', task_id: 'filter-elsewhere' });
    const first = await createHandoff(svc, { task_id: 'filter-first' });
    const toTalosFromN8n = await createHandoff(svc, { from_contractor: 'n8n-contractor', task_id: 'filter-from-n8n' });
    const claimed = await svc.call('POST', `/v1/handoffs/${first.handoff_id}/claim`, { as: 'talos-contractor' });
    assert.equal(claimed.status, 200);
    const done = await svc.call('POST', `/v1/handoffs/${first.handoff_id}/complete`, { as: 'talos-contractor', body: { result: {} } });
    assert.equal(done.status, 200);
    const n8nClaim = await svc.call('POST', `/v1/handoffs/${elsewhere.handoff_id}/claim`, { as: 'n8n-contractor' });
    assert.equal(n8nClaim.status, 200);
    // A later matching one: once it has arrived, a wrong delivery of the earlier ones would have too.
    const last = await createHandoff(svc, { task_id: 'filter-last' });

    await eventually(async () => receiver.deliveries.some((d) => JSON.parse(d.body).data.handoff.handoff_id === last.handoff_id));
    await sleep(300);

    const seen = receiver.deliveries.map((d) => {
      assert.deepEqual(verify(sub.secret, d), { ok: true });
      const payload = JSON.parse(d.body);
      return `${payload.type} ${payload.data.handoff.handoff_id}`;
    });
    assert.deepEqual(seen.sort(), [
      `handoff.created ${first.handoff_id}`,
      `handoff.created ${toTalosFromN8n.handoff_id}`,
      `handoff.created ${last.handoff_id}`,
    ].sort());
    // Nothing else was even queued for it.
    assert.deepEqual(await svc.service.store.outboxCounts(), { pending: 0, delivered: 3, dead: 0 });
  });
});

test('a subscription made after earlier events receives the later ones (and only those)', async () => {
  await withService(async (svc, receiver) => {
    const early = await startReceiver('/hooks/early');
    try {
      await subscribe(svc, early.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
      const before = await createHandoff(svc, { task_id: 'late-before' });
      await eventually(async () => early.deliveries.length === 1);

      const sub = await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
      const after = await createHandoff(svc, { task_id: 'late-after' });
      await eventually(async () => early.deliveries.length === 2);
      await eventually(async () => receiver.deliveries.length >= 1, 3_000);
      await sleep(200);
      assert.equal(receiver.deliveries.length, 1);
      assert.deepEqual(verify(sub.secret, receiver.deliveries[0]!), { ok: true });
      assert.equal(JSON.parse(receiver.deliveries[0]!.body).data.handoff.handoff_id, after.handoff_id);
      assert.notEqual(before.handoff_id, after.handoff_id);
    } finally {
      await early.close();
    }
  });
});

test('a failing receiver gets retries with backoff and the same webhook-id until it answers 2xx', async () => {
  await withService(async (svc, receiver) => {
    receiver.respond = (d) => (d.attempt <= 3 ? 500 : 200);
    const sub = await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
    const retriesBefore = await metric(svc, 'retry');
    const deliveredBefore = await metric(svc, 'delivered');
    const created = await createHandoff(svc, { task_id: 'retry-1' });

    await eventually(async () => receiver.deliveries.some((d) => d.answered === 200), 10_000);
    await sleep(BACKOFF_MS * 4); // a fifth attempt would come within this
    const attempts = receiver.deliveries;
    assert.deepEqual(attempts.map((d) => d.answered), [500, 500, 500, 200]);
    assert.deepEqual(attempts.map((d) => d.attempt), [1, 2, 3, 4]);
    assert.equal(new Set(attempts.map((d) => d.id)).size, 1, 'one webhook-id for every attempt');
    assert.equal(new Set(attempts.map((d) => d.body)).size, 1, 'the same body every time');
    for (const d of attempts) assert.deepEqual(verify(sub.secret, d), { ok: true });
    assert.equal(JSON.parse(attempts[0]!.body).data.handoff.handoff_id, created.handoff_id);

    // Full-jitter backoff: the wait after attempt n lies in [100 ms, base × 2^(n−1)] plus the relay's poll.
    for (let n = 1; n < attempts.length; n++) {
      const gap = attempts[n]!.at - attempts[n - 1]!.at;
      const ceiling = BACKOFF_MS * 2 ** (n - 1);
      assert.ok(gap >= MIN_RETRY_GAP_MS - 5, `gap after attempt ${n} is ${gap} ms, less than the minimum backoff`);
      assert.ok(gap <= ceiling + 500, `gap after attempt ${n} is ${gap} ms, far beyond the backoff ceiling ${ceiling} ms`);
    }
    assert.equal((await metric(svc, 'retry')) - retriesBefore, 3);
    assert.equal((await metric(svc, 'delivered')) - deliveredBefore, 1);
    assert.deepEqual(await svc.service.store.outboxCounts(), { pending: 0, delivered: 1, dead: 0 });
  });
});

test('410 Gone stops deliveries of that message: marked dead, counted as gone', async () => {
  await withService(async (svc, receiver) => {
    receiver.respond = () => 410;
    await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
    const goneBefore = await metric(svc, 'gone');
    const retryBefore = await metric(svc, 'retry');
    await createHandoff(svc, { task_id: 'gone-1' });

    await eventually(async () => receiver.deliveries.length >= 1);
    await eventually(async () => (await svc.service.store.outboxCounts()).dead === 1);
    // Several backoff periods: a retry, had one been scheduled, would have arrived.
    await sleep(BACKOFF_MS * 4);
    assert.equal(receiver.deliveries.length, 1, 'one attempt only');
    assert.deepEqual(await svc.service.store.outboxCounts(), { pending: 0, delivered: 0, dead: 1 });
    assert.equal((await metric(svc, 'gone')) - goneBefore, 1);
    assert.equal((await metric(svc, 'retry')) - retryBefore, 0);
    assert.ok(svc.logs.some((line) => line.includes('subscriber answered 410')), 'the stop is logged');
  });
});

test('deleting the subscription stops its retries and its future deliveries', async () => {
  await withService(async (svc, receiver) => {
    const control = await startReceiver('/hooks/control');
    try {
      // The first attempt is held open until the subscription is gone, then answered 500:
      // the relay settles a message whose subscription was deleted while it was in flight.
      let arrived = 0;
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      receiver.respond = async () => {
        arrived++;
        await held;
        return 500;
      };
      const sub = await subscribe(svc, receiver.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
      await subscribe(svc, control.url, ['handoff.created'], { to_contractor: 'talos-contractor' });
      await createHandoff(svc, { task_id: 'delete-1' });

      await eventually(async () => arrived >= 1);
      const deleted = await svc.call('DELETE', `/v1/subscriptions/${sub.subscription_id}`);
      assert.equal(deleted.status, 204);
      release();
      await eventually(async () => receiver.deliveries.length >= 1);
      const attemptsAtDelete = receiver.deliveries.length;
      assert.equal(attemptsAtDelete, 1);
      assert.equal(receiver.deliveries[0]!.answered, 500);
      assert.equal((await svc.call('GET', `/v1/subscriptions/${sub.subscription_id}`)).status, 404);
      assert.equal((await svc.call('DELETE', `/v1/subscriptions/${sub.subscription_id}`)).status, 404);

      const later = await createHandoff(svc, { task_id: 'delete-2' });
      // The control subscription gets the later event: callbacks still flow.
      await eventually(async () => control.deliveries.some((d) => JSON.parse(d.body).data.handoff.handoff_id === later.handoff_id));
      // Longer than the backoff of attempts 2 and 3 together (≤ 200 + 400 ms).
      await sleep(BACKOFF_MS * 4);
      assert.equal(receiver.deliveries.length, attemptsAtDelete, 'no delivery after the subscription was deleted');
      assert.equal(control.deliveries.length, 2);
      assert.equal((await svc.service.store.outboxCounts()).pending, 0);
    } finally {
      await control.close();
    }
  });
});

test('at least once: every state change of N handoffs reaches a deduplicating receiver exactly once', async () => {
  await withService(async (svc, receiver) => {
    // Lost acknowledgements: some messages are processed but answered 500, some connections
    // are cut before any answer; both must be retried with the same webhook-id.
    const processed = new Map<string, string>(); // webhook-id → body, first sight only
    receiver.respond = (d) => {
      if (!processed.has(d.id)) processed.set(d.id, d.body);
      const h = spread(d.id);
      if (d.attempt === 1 && h % 3 === 0) return 500;
      if (d.attempt === 1 && h % 3 === 1) return 'destroy';
      return 204;
    };
    const sub = await subscribe(
      svc,
      receiver.url,
      ['handoff.created', 'handoff.claimed', 'handoff.completed', 'handoff.failed', 'handoff.cancelled', 'handoff.timed_out'],
      { to_contractor: 'talos-contractor' },
    );

    const N = 24;
    const expected: string[] = [];
    const talos = { as: 'talos-contractor' as const };
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const h = await createHandoff(svc, { task_id: `alo-${i}`, ...(i % 5 === 4 ? { claim_timeout: 0.2 } : {}) });
        const id = h.handoff_id as string;
        expected.push(`${id} handoff.created 1`);
        const post = async (action: string, body?: unknown) => {
          const reply = await svc.call('POST', `/v1/handoffs/${id}/${action}`, { ...talos, ...(body ? { body } : {}) });
          assert.equal(reply.status, 200, reply.text);
          return reply.body.version as number;
        };
        switch (i % 5) {
          case 0:
            expected.push(`${id} handoff.claimed ${await post('claim')}`);
            expected.push(`${id} handoff.completed ${await post('complete', { result: { i } })}`);
            break;
          case 1:
            expected.push(`${id} handoff.claimed ${await post('claim')}`);
            expected.push(`${id} handoff.failed ${await post('fail', { error: { code: 'boom', message: 'x' } })}`);
            break;
          case 2: {
            const cancelled = await svc.call('POST', `/v1/handoffs/${id}/cancel`, { as: 'infrastructure-contractor', body: { reason: 'no' } });
            assert.equal(cancelled.status, 200, cancelled.text);
            expected.push(`${id} handoff.cancelled ${cancelled.body.version}`);
            break;
          }
          case 3:
            expected.push(`${id} handoff.claimed ${await post('claim')}`);
            assert.equal(await post('heartbeat', { progress: { pct: 50 } }), 3); // no event
            expected.push(`${id} handoff.completed ${await post('complete')}`);
            break;
          case 4:
            expected.push(`${id} handoff.timed_out 2`); // the claim deadline fires
            break;
        }
      }),
    );

    await eventually(async () => processed.size >= expected.length && (await svc.service.store.outboxCounts()).pending === 0, 15_000, 50);
    await sleep(300);

    // Every delivery is signed; every re-delivery of an id carries the same body.
    for (const d of receiver.deliveries) {
      assert.deepEqual(verify(sub.secret, d), { ok: true });
      assert.equal(d.body, processed.get(d.id));
    }
    const logical = [...processed.values()].map((body) => {
      const payload = JSON.parse(body);
      return `${payload.data.handoff.handoff_id} ${payload.type} ${payload.data.handoff.version}`;
    });
    assert.deepEqual(logical.sort(), [...expected].sort(), 'each state change exactly once after deduplication');
    assert.ok(receiver.deliveries.length > processed.size, 'some messages were delivered more than once (lost acknowledgements)');
    assert.deepEqual(await svc.service.store.outboxCounts(), { pending: 0, delivered: expected.length, dead: 0 });
    const answeredTwice = new Set(receiver.deliveries.filter((d) => d.attempt > 1).map((d) => d.id));
    for (const id of answeredTwice) {
      const h = spread(id);
      assert.notEqual(h % 3, 2, 'a message acknowledged the first time is not sent again');
    }
  });
});
