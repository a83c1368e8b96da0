// Handoff Trigger on the real n8n engine against a real Cortex service on loopback: activation
// registers the subscription (webhookMethods through n8n-core's HookContext), the service's own
// signed callbacks reach the harness's /webhook/<path> server and start the workflow
// (webhook() through n8n-core's WebhookContext, then WorkflowExecute), unsigned, forged or stale
// calls get 401 and start nothing, deactivation removes the subscription.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEngine, type Activation, type Engine, type WorkflowJson } from './engine.ts';
import { handoffBody, startTestService, tokenFor, type ContractorName, type TestService } from '../service/harness.ts';
import { signWebhook } from '../../service/src/domain/webhook-signature.ts';

const { CortexApi } = await import('../../credentials/CortexApi.credentials.ts');
const { HandoffTrigger } = await import('../../nodes/HandoffTrigger/HandoffTrigger.node.ts');
const { FixtureEcho } = await import('./fixtures/FixtureEcho.node.ts');

const TRIGGER = 'Handoff Trigger';
const NEXT = 'Next';

function triggerWorkflow(parameters: Record<string, unknown> = {}): WorkflowJson {
  return {
    name: 'Talos picks up handoffs',
    nodes: [
      {
        name: TRIGGER,
        type: 'n8n-nodes-cortex.handoffTrigger',
        typeVersion: 1,
        parameters: { contractor: 'talos-contractor', events: ['handoff.created'], ...parameters },
      },
      { name: NEXT, type: 'n8n-nodes-cortex.fixtureEcho', typeVersion: 1, parameters: { tag: '={{ $json.handoff_id }}' } },
    ],
    connections: { [TRIGGER]: { main: [[{ node: NEXT, type: 'main', index: 0 }]] } },
  };
}

let service: TestService;
let engine: Engine;

function credential(who: ContractorName | 'admin') {
  return { id: `cortex-${who}`, name: `Cortex (${who})`, data: { url: service.url, token: tokenFor(who) } };
}

async function subscriptionsOf(who: ContractorName): Promise<any[]> {
  const reply = await service.call('GET', '/v1/subscriptions', { as: who });
  assert.equal(reply.status, 200);
  return reply.body.items;
}

async function createHandoff(overrides: Record<string, unknown> = {}): Promise<any> {
  const reply = await service.call('POST', '/v1/handoffs', {
    as: (overrides.from_contractor as ContractorName | undefined) ?? 'infrastructure-contractor',
    body: handoffBody({ task_id: `task-${randomUUID()}`, ...overrides }),
  });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

/** A callback as the service would send it, signed with `secret` (or anything else). */
function signedCall(secret: string, body: unknown, options: { id?: string; at?: number; signature?: string } = {}) {
  const raw = JSON.stringify(body);
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? Math.floor(Date.now() / 1000);
  return {
    raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(at),
      'webhook-signature': options.signature ?? signWebhook(secret, id, at, raw),
    },
  };
}

function callbackBody(type: string, handoff: Record<string, unknown>) {
  return { type, timestamp: new Date().toISOString(), data: { handoff } };
}

before(async () => {
  service = await startTestService();
  engine = createEngine({
    nodeTypes: [HandoffTrigger, FixtureEcho],
    credentialTypes: [CortexApi],
    credentials: { cortexApi: credential('talos-contractor') },
  });
  await engine.listen();
});

after(async () => {
  await engine?.close();
  await service?.stop();
});

describe('Handoff Trigger: activation and deactivation', () => {
  it('activation subscribes the webhook URL to the chosen events for the contractor; deactivation deletes it', async () => {
    const active = await engine.activate(triggerWorkflow({ events: ['handoff.created', 'handoff.timed_out'], options: { fromContractor: 'infrastructure-contractor' } }));
    const state = active.staticData(TRIGGER);
    assert.match(String(state.subscriptionId), /^sub_/);
    assert.match(String(state.secret), /^whsec_/);
    const url = active.webhookUrl(TRIGGER);
    assert.ok(url.startsWith(`${engine.baseUrl}/webhook/`), url);

    const listed = (await subscriptionsOf('talos-contractor')).find((s) => s.subscription_id === state.subscriptionId);
    assert.ok(listed, 'the subscription is listed');
    assert.equal(listed.url, url);
    assert.deepEqual([...listed.events].sort(), ['handoff.created', 'handoff.timed_out']);
    assert.deepEqual(listed.filter, { to_contractor: 'talos-contractor', from_contractor: 'infrastructure-contractor' });
    assert.match(listed.description, /Talos picks up handoffs/);

    await active.deactivate();
    assert.equal((await service.call('GET', `/v1/subscriptions/${state.subscriptionId}`, { as: 'talos-contractor' })).status, 404);
    assert.equal(state.subscriptionId, undefined);
    assert.equal(state.secret, undefined);
  });

  it('checkExists keeps a subscription that still matches, replaces one deleted behind its back or with other settings', async () => {
    const active = await engine.activate(triggerWorkflow());
    const state = active.staticData(TRIGGER);
    const first = state.subscriptionId;

    await active.reactivate(); // n8n start-up: checkExists finds it
    assert.equal(state.subscriptionId, first);

    assert.equal((await service.call('DELETE', `/v1/subscriptions/${first}`, { as: 'talos-contractor' })).status, 204);
    await active.reactivate(); // gone (404) → created again
    const second = active.staticData(TRIGGER).subscriptionId;
    assert.ok(second && second !== first);

    await active.reactivate(triggerWorkflow({ events: ['handoff.failed', 'handoff.cancelled'] }));
    const third = active.staticData(TRIGGER).subscriptionId;
    assert.ok(third && third !== second);
    assert.equal((await service.call('GET', `/v1/subscriptions/${second}`, { as: 'talos-contractor' })).status, 404, 'the outdated one is deleted');
    const listed = (await subscriptionsOf('talos-contractor')).find((s) => s.subscription_id === third);
    assert.deepEqual([...listed.events].sort(), ['handoff.cancelled', 'handoff.failed']);

    // deleted on the service already: deactivation still succeeds
    assert.equal((await service.call('DELETE', `/v1/subscriptions/${third}`, { as: 'talos-contractor' })).status, 204);
    await active.deactivate();
    assert.equal(active.staticData(TRIGGER).subscriptionId, undefined);
  });

  it('a test listener ("Listen for test event") gets its own subscription and leaves the production one alone', async () => {
    const production = await engine.activate(triggerWorkflow());
    const productionState = { ...production.staticData(TRIGGER) };
    // n8n starts a test listener from the stored workflow, static data included.
    const listener = await engine.activate(
      { ...production.workflow, staticData: { [`node:${TRIGGER}`]: { ...productionState } } },
      { test: true },
    );
    const testState = listener.staticData(TRIGGER);
    assert.ok(listener.webhookUrl(TRIGGER).includes('/webhook-test/'));
    assert.notEqual(testState.subscriptionId, productionState.subscriptionId);
    const urls = Object.fromEntries((await subscriptionsOf('talos-contractor')).map((s) => [s.subscription_id, s.url]));
    assert.equal(urls[String(productionState.subscriptionId)], production.webhookUrl(TRIGGER), 'the production subscription is untouched');
    assert.equal(urls[String(testState.subscriptionId)], listener.webhookUrl(TRIGGER));

    // a handoff reaches both: the test listener runs in manual mode, the active workflow as usual
    const handoff = await createHandoff();
    const [tested, produced] = await Promise.all([listener.waitForExecution(1), production.waitForExecution(1)]);
    assert.equal(tested.jsonOf(TRIGGER)[0]?.handoff_id, handoff.handoff_id);
    assert.equal(produced.jsonOf(TRIGGER)[0]?.handoff_id, handoff.handoff_id);

    await listener.deactivate();
    assert.equal((await service.call('GET', `/v1/subscriptions/${testState.subscriptionId}`, { as: 'talos-contractor' })).status, 404);
    assert.equal((await service.call('GET', `/v1/subscriptions/${productionState.subscriptionId}`, { as: 'talos-contractor' })).status, 200);
    assert.deepEqual({ ...production.staticData(TRIGGER) }, productionState);

    // the production URL itself changed (another webhook id): the old subscription is replaced
    const moved = structuredClone(production.workflow);
    moved.nodes[0]!.webhookId = randomUUID();
    await production.reactivate(moved);
    assert.notEqual(production.staticData(TRIGGER).subscriptionId, productionState.subscriptionId);
    assert.equal((await service.call('GET', `/v1/subscriptions/${productionState.subscriptionId}`, { as: 'talos-contractor' })).status, 404);
    await production.deactivate();
  });

  it('a token that may not listen for the contractor fails the activation with the service message', async () => {
    await assert.rejects(engine.activate(triggerWorkflow({ contractor: 'security-master' })), (error: Error & { httpCode?: string }) => {
      assert.equal(error.constructor.name, 'NodeApiError');
      assert.equal(error.httpCode, '403');
      assert.match(error.message, /may only subscribe/);
      return true;
    });
  });
});

describe('Handoff Trigger: callbacks from the service', () => {
  let active: Activation;

  before(async () => {
    active = await engine.activate(triggerWorkflow({ events: ['handoff.created', 'handoff.cancelled', 'handoff.timed_out'] }));
  });
  after(async () => {
    await active?.deactivate();
  });

  it('a handoff addressed to the contractor starts the workflow with the handoff, event and webhook id', async () => {
    const handoff = await createHandoff();
    const run = await active.waitForExecution(undefined, 10_000);
    assert.equal(run.status, 'success');
    const [item] = run.jsonOf(TRIGGER);
    assert.equal(item?.event, 'handoff.created');
    assert.equal(item?.handoff_id, handoff.handoff_id);
    assert.equal(item?.to_contractor, 'talos-contractor');
    assert.equal(item?.from_contractor, 'infrastructure-contractor');
    assert.equal(item?.status, 'pending');
    assert.deepEqual(item?.data, handoff.data);
    assert.match(String(item?.webhook_id), /.+/);
    assert.match(String(item?.event_timestamp), /^\d{4}-\d\d-\d\dT/);
    assert.equal(run.jsonOf(NEXT)[0]?.tag, handoff.handoff_id, 'the next node sees the handoff');
  });

  it('cancellations and timeouts start it too when selected; handoffs for others do not', async () => {
    const count = active.executions.length;
    await createHandoff({ to_contractor: 'security-master' }); // not for talos
    const cancelled = await createHandoff();
    await active.waitForExecution(count + 1);
    assert.equal((await service.call('POST', `/v1/handoffs/${cancelled.handoff_id}/cancel`, { as: 'infrastructure-contractor', body: {} })).status, 200);
    const run = await active.waitForExecution(count + 2);
    assert.equal(run.jsonOf(TRIGGER)[0]?.event, 'handoff.cancelled');
    assert.equal(run.jsonOf(TRIGGER)[0]?.status, 'failed');

    const late = await createHandoff({ claim_timeout: 0.2 });
    await active.waitForExecution(count + 3);
    const timedOut = await active.waitForExecution(count + 4);
    assert.equal(timedOut.jsonOf(TRIGGER)[0]?.event, 'handoff.timed_out');
    assert.equal(timedOut.jsonOf(TRIGGER)[0]?.handoff_id, late.handoff_id);
    assert.equal((timedOut.jsonOf(TRIGGER)[0]?.error as any)?.code, 'handoff_claim_timeout');
    const handoffIds = active.executions.map((r) => r.jsonOf(TRIGGER)[0]?.handoff_id);
    assert.equal(handoffIds.length, count + 4, 'nothing for the security-master handoff');
  });

  it('a bad, missing or stale signature gets 401 and starts nothing (over HTTP)', async () => {
    const secret = String(active.staticData(TRIGGER).secret);
    const body = callbackBody('handoff.created', { handoff_id: 'forged', to_contractor: 'talos-contractor' });
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      'wrong secret': signedCall('whsec_' + Buffer.alloc(32, 7).toString('base64'), body),
      stale: signedCall(secret, body, { at: now - 330 }),
      'from the future': signedCall(secret, body, { at: now + 330 }), // clear of the 300 s tolerance even when a second ticks over mid-test
      'no signature': signedCall(secret, body, { signature: '' }),
      'garbage signature': signedCall(secret, body, { signature: 'v1,AAAA' }),
    };
    const count = active.executions.length;
    for (const [name, call] of Object.entries(cases)) {
      const reply = await fetch(active.webhookUrl(TRIGGER), { method: 'POST', headers: call.headers, body: call.raw });
      assert.equal(reply.status, 401, name);
      const answer = (await reply.json()) as { error: { code: string } };
      assert.equal(answer.error.code, 'invalid_signature', name);
    }
    // tampered body: signature of one body, another sent
    const good = signedCall(secret, body);
    const tampered = await fetch(active.webhookUrl(TRIGGER), { method: 'POST', headers: good.headers, body: good.raw.replace('forged', 'forgeD') });
    assert.equal(tampered.status, 401);

    // a correct signature over the same bytes is accepted (so the cases above failed for their reason)
    const accepted = await fetch(active.webhookUrl(TRIGGER), { method: 'POST', headers: good.headers, body: good.raw });
    assert.equal(accepted.status, 200);
    const run = await active.waitForExecution(count + 1);
    assert.equal(run.jsonOf(TRIGGER)[0]?.handoff_id, 'forged');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(active.executions.length, count + 1, 'only the valid call started the workflow');
  });

  it('verifies the exact bytes received: whitespace n8n would drop when re-serialising still verifies', async () => {
    const secret = String(active.staticData(TRIGGER).secret);
    const raw = '{ "type": "handoff.created",\n  "timestamp": "2026-01-01T00:00:00.000Z", "data": { "handoff": { "handoff_id": "spaced", "to_contractor": "talos-contractor" } } }';
    const id = `msg_${randomUUID()}`;
    const at = Math.floor(Date.now() / 1000);
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': signWebhook(secret, id, at, raw) };
    const result = await active.call(TRIGGER, { headers, rawBody: raw });
    assert.equal(result.statusCode, 200);
    assert.equal(result.started, true);
    const run = await result.execution!;
    assert.equal(run.jsonOf(TRIGGER)[0]?.handoff_id, 'spaced');
    assert.equal(run.jsonOf(TRIGGER)[0]?.webhook_id, id);

    // without rawBody (never the case in n8n 2.41), the node falls back to the parsed body re-serialised
    const compact = JSON.stringify(JSON.parse(raw));
    const fallback = await active.call(TRIGGER, { headers: { ...headers, 'webhook-signature': signWebhook(secret, id, at, compact) }, body: JSON.parse(raw), rawBody: null });
    assert.equal(fallback.started, true);
    const spacedWithoutRaw = await active.call(TRIGGER, { headers, body: JSON.parse(raw), rawBody: null });
    assert.equal(spacedWithoutRaw.statusCode, 401);
  });

  it('a signed call for an event or contractor the node does not listen to is acknowledged without starting', async () => {
    const secret = String(active.staticData(TRIGGER).secret);
    for (const body of [
      callbackBody('handoff.failed', { handoff_id: 'x', to_contractor: 'talos-contractor' }),
      callbackBody('handoff.created', { handoff_id: 'y', to_contractor: 'security-master' }),
      { type: 'handoff.created', timestamp: new Date().toISOString(), data: {} },
    ]) {
      const call = signedCall(secret, body);
      const result = await active.call(TRIGGER, { headers: call.headers, rawBody: call.raw });
      assert.equal(result.statusCode, 200);
      assert.equal(result.started, false);
    }
  });
});
