// The Handoff node on the real n8n engine (n8n-core WorkflowExecute, see engine.ts) against a
// real Cortex service on loopback (test/service/harness.ts): every operation, errors as n8n
// shows them (NodeApiError with the service's message, NodeOperationError naming the field,
// continueOnFail), the automatic Idempotency-Key under n8n's Retry On Fail, and Wait for
// Completion: already finished, resumed by the service's real callback over HTTP, the handoff's
// own timeout, a callback that arrives before the execution is paused, and n8n's wait limit.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, INode, NodeApiError, NodeOperationError } from 'n8n-workflow';
import { createEngine, type Engine, type RunResult, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';
import { startServiceProxy, type ProxiedResponse, type ServiceProxy } from './service-proxy.ts';
import { eventually, handoffBody, startTestService, tokenFor, type ContractorName, type TestService } from '../service/harness.ts';

const { CortexApi } = await import('../../credentials/CortexApi.credentials.ts');
const { Handoff } = await import('../../nodes/Handoff/Handoff.node.ts');
const { FixtureEcho } = await import('./fixtures/FixtureEcho.node.ts');
const wf = createRequire(import.meta.url)('n8n-workflow') as typeof import('n8n-workflow');

const INFRA = 'infrastructure-contractor';
const TALOS = 'talos-contractor';
const N8N = 'n8n-contractor';
const START = 'Start';
const NODE = 'Handoff';
const TYPE = 'n8n-nodes-cortex.handoff';

/** Credential ids: one per contractor, the admin, and one that goes through the proxy (as infra). */
const CREDENTIAL: Record<ContractorName | 'admin' | 'proxy' | 'down', string> = {
  'infrastructure-contractor': '1',
  'talos-contractor': '2',
  'n8n-contractor': '3',
  'security-master': '4',
  admin: '5',
  proxy: '6',
  down: '7',
};

let service: TestService;
let proxy: ServiceProxy;
let engine: Engine;

function handoffNode(parameters: Record<string, unknown>, as: keyof typeof CREDENTIAL = INFRA, extra: Partial<WorkflowNodeJson> = {}): WorkflowNodeJson {
  return {
    name: NODE,
    type: TYPE,
    typeVersion: 1,
    webhookId: randomUUID(),
    parameters: parameters as WorkflowNodeJson['parameters'],
    credentials: { cortexApi: { id: CREDENTIAL[as], name: `Cortex (${as})` } },
    ...extra,
  };
}

/** Start → the Handoff node (→ After, an echo node, on output 0). */
function workflow(node: WorkflowNodeJson, withAfter = false): WorkflowJson {
  const nodes: WorkflowNodeJson[] = [{ name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} }, node];
  const connections: WorkflowJson['connections'] = { [START]: { main: [[{ node: node.name, type: 'main', index: 0 }]] } };
  if (withAfter) {
    nodes.push({ name: 'After', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: 'after' } });
    connections[node.name] = { main: [[{ node: 'After', type: 'main', index: 0 }]] };
  }
  return { name: 'handoff node test', nodes, connections };
}

const MARKER = `($('${START}').item.json.marker ? "@" + $('${START}').item.json.marker : "")`;
const MARKED = { startNodeData: [{ json: { marker: 'm' } }] };

/** Start → Wait for Completion → "On Completed" (output 0) / "On Failed" (output 1). */
function waitWorkflow(handoffId: string, as: keyof typeof CREDENTIAL = INFRA, extra: Record<string, unknown> = {}, nodeExtra: Partial<WorkflowNodeJson> = {}): WorkflowJson {
  const node = handoffNode({ resource: 'handoff', operation: 'waitForCompletion', handoffId, ...extra }, as, nodeExtra);
  return {
    name: 'wait for a handoff',
    nodes: [
      { name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} },
      node,
      // Tags: the status or error code, then "@marker" when the start item has a marker: proof that
      // $('Start').item still finds the waiting item's origin (item pairing) after the resume.
      { name: 'On Completed', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: `={{ $json.status + ${MARKER} }}` } },
      { name: 'On Failed', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: `={{ ($json.error ? $json.error.code : "wait limit") + ${MARKER} }}` } },
    ],
    connections: {
      [START]: { main: [[{ node: NODE, type: 'main', index: 0 }]] },
      [NODE]: { main: [[{ node: 'On Completed', type: 'main', index: 0 }], [{ node: 'On Failed', type: 'main', index: 0 }]] },
    },
  };
}

async function run(node: WorkflowNodeJson, items: IDataObject[] = [{}], withAfter = false): Promise<RunResult> {
  return await engine.run(workflow(node, withAfter), { startNodeData: items.map((json) => ({ json })) });
}

function succeeded(result: RunResult): void {
  assert.equal(result.status, 'success', `${result.error?.message ?? ''} ${(result.error as NodeApiError | undefined)?.description ?? ''}`);
}

async function createHandoff(overrides: Record<string, unknown> = {}): Promise<IDataObject> {
  const reply = await service.call('POST', '/v1/handoffs', { as: (overrides.from_contractor as ContractorName) ?? INFRA, body: handoffBody({ task_id: `task-${randomUUID()}`, ...overrides }) });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

async function act(id: string, action: string, as: ContractorName, body: unknown = {}): Promise<IDataObject> {
  const reply = await service.call('POST', `/v1/handoffs/${id}/${action}`, { as, body });
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

async function handoffsOfTask(taskId: string): Promise<IDataObject[]> {
  const reply = await service.call('GET', `/v1/handoffs?task_id=${encodeURIComponent(taskId)}&limit=500`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items;
}

async function subscriptionsFor(handoffId: string): Promise<IDataObject[]> {
  const reply = await service.call('GET', '/v1/subscriptions');
  return (reply.body.items as IDataObject[]).filter((s) => (s.filter as IDataObject).handoff_id === handoffId);
}

before(async () => {
  service = await startTestService({ CORTEX_DELIVERY_BACKOFF_MS: '100' });
  proxy = await startServiceProxy(() => service.url);
  const credential = (who: keyof typeof CREDENTIAL) => ({
    id: CREDENTIAL[who],
    name: `Cortex (${who})`,
    data: {
      url: who === 'proxy' ? proxy.url : who === 'down' ? 'http://127.0.0.1:1' : service.url,
      token: tokenFor(who === 'proxy' || who === 'down' ? INFRA : who),
    },
  });
  engine = createEngine({
    nodeTypes: [Handoff, FixtureEcho],
    credentialTypes: [CortexApi],
    credentials: { cortexApi: (Object.keys(CREDENTIAL) as Array<keyof typeof CREDENTIAL>).map(credential) },
  });
  // The resume URLs of waiting executions are reachable over HTTP, as n8n's /webhook-waiting.
  await engine.listen();
});

after(async () => {
  await engine.close();
  await proxy.close();
  await service.stop();
});

describe('node description', () => {
  const node = (parameters: Record<string, unknown>): INode => ({ id: 'n', name: NODE, type: TYPE, typeVersion: 1, position: [0, 0], parameters: parameters as INode['parameters'] });
  const outputsOf = (parameters: Record<string, unknown>) => {
    const instance = new wf.Workflow({ nodes: [node(parameters)], connections: {}, active: false, nodeTypes: engine.nodeTypes });
    const type = engine.nodeTypes.getByNameAndVersion(TYPE, 1);
    return wf.NodeHelpers.getNodeOutputs(instance, instance.getNode(NODE)!, type.description);
  };

  it('has two outputs, Completed and Failed / Timed Out, for Wait for Completion only', () => {
    assert.deepEqual(outputsOf({ resource: 'handoff', operation: 'waitForCompletion' }), [
      { type: 'main', displayName: 'Completed' },
      { type: 'main', displayName: 'Failed / Timed Out' },
    ]);
    assert.deepEqual(outputsOf({ operation: 'waitForCompletion' }), outputsOf({ resource: 'handoff', operation: 'waitForCompletion' }), 'resource defaults to handoff');
    for (const parameters of [
      {},
      { resource: 'handoff', operation: 'get' },
      { resource: 'workflowRun', operation: 'start' },
      { resource: 'metrics', operation: 'workflowStats' },
      { resource: 'approval', operation: 'getAll' },
    ]) {
      assert.deepEqual(outputsOf(parameters), [{ type: 'main' }], JSON.stringify(parameters));
    }
  });

  it('lists, for each resource, operations the router can run; usable as a tool, without Wait for Completion', () => {
    const description = new Handoff().description;
    assert.equal(description.usableAsTool, true);
    const operations = description.properties.filter((p) => p.name === 'operation');
    const listed = operations.map((p) => [p.displayOptions?.show?.resource?.[0], (p.options as Array<{ value: string }>).map((o) => o.value)]);
    assert.deepEqual(listed, [
      ['handoff', ['cancel', 'claim', 'complete', 'create', 'fail', 'get', 'getAll', 'heartbeat', 'waitForCompletion']],
      ['workflowRun', ['completePhase', 'complete', 'failPhase', 'fail', 'get', 'getRollbackPlan', 'markRollbackStep', 'start', 'startPhase']],
      ['metrics', ['contractorPerformance', 'workflowStats']],
      ['approval', ['cancel', 'get', 'getAll', 'recordDecision']],
    ]);
    const wait = (operations[0]!.options as Array<{ value: string; displayOptions?: unknown }>).find((o) => o.value === 'waitForCompletion');
    assert.deepEqual(wait?.displayOptions, { show: { '@tool': [false] } }, 'agents do not get the operation that pauses the execution');
    const approvalOps = operations.find((p) => p.displayOptions?.show?.resource?.[0] === 'approval')!;
    const decide = (approvalOps.options as Array<{ value: string; displayOptions?: unknown }>).find((o) => o.value === 'recordDecision');
    assert.deepEqual(decide?.displayOptions, { show: { '@tool': [false] } }, 'agents do not record people\'s approvals');
  });
});

describe('Handoff: create', () => {
  it('sends data from name/value fields (expressions give other types) and pairs one output item per input', async () => {
    const taskId = `fields-${randomUUID()}`;
    const result = await run(
      handoffNode({
        resource: 'handoff',
        operation: 'create',
        fromContractor: INFRA,
        toContractor: TALOS,
        taskId,
        dataMode: 'fields',
        dataFields: { field: [{ name: 'vm_ids', value: '={{ [$json.n, $json.n + 1] }}' }, { name: 'cluster', value: 'prod' }] },
        options: { claimTimeout: 300, completionTimeout: 1800, heartbeatTimeout: 0, runId: '', phaseId: 'provision' },
      }),
      [{ n: 201 }, { n: 301 }],
    );
    succeeded(result);
    const [items] = result.outputOf(NODE);
    assert.equal(items?.length, 2);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 1 }]);
    assert.deepEqual(items?.map((i) => i.json.data), [{ vm_ids: [201, 202], cluster: 'prod' }, { vm_ids: [301, 302], cluster: 'prod' }]);
    const first = items![0]!.json;
    assert.match(String(first.handoff_id), /^hof_/);
    assert.equal(first.status, 'pending');
    assert.equal(first.from_contractor, INFRA);
    assert.equal(first.to_contractor, TALOS);
    assert.equal(first.claim_timeout, 300);
    assert.equal(first.completion_timeout, 1800);
    assert.equal(first.heartbeat_timeout, null, '0 means no deadline');
    assert.equal(first.phase_id, 'provision');
    assert.equal((await handoffsOfTask(taskId)).length, 2);
  });

  it('sends data from JSON text or from an expression that gives an object; own handoff id; no data', async () => {
    const taskId = `json-${randomUUID()}`;
    const base = { resource: 'handoff', operation: 'create', fromContractor: INFRA, toContractor: TALOS, taskId };
    const fromText = await run(handoffNode({ ...base, dataMode: 'json', dataJson: '{"endpoints": ["10.0.0.11"], "nested": {"a": 1}}' }));
    succeeded(fromText);
    assert.deepEqual(fromText.jsonOf(NODE)[0]?.data, { endpoints: ['10.0.0.11'], nested: { a: 1 } });

    const fromExpression = await run(handoffNode({ ...base, dataMode: 'json', dataJson: '={{ { vm: $json.vm } }}', options: { handoffId: `mine-${taskId}` } }), [{ vm: 7 }]);
    succeeded(fromExpression);
    assert.deepEqual(fromExpression.jsonOf(NODE)[0]?.data, { vm: 7 });
    assert.equal(fromExpression.jsonOf(NODE)[0]?.handoff_id, `mine-${taskId}`);

    const none = await run(handoffNode({ ...base, dataMode: 'none' }));
    succeeded(none);
    assert.deepEqual(none.jsonOf(NODE)[0]?.data, {});
  });

  it("n8n's Retry On Fail after a lost answer replays the first create: one handoff (automatic Idempotency-Key)", async () => {
    const taskId = `retry-${randomUUID()}`;
    let creates = 0;
    // The service creates the handoff, but the node never hears back the first time.
    proxy.hook = async (request, forward) => {
      if (request.method !== 'POST' || request.url !== '/v1/handoffs') return undefined;
      const answer = await forward();
      creates += 1;
      return creates === 1 ? { status: 502, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"bad_gateway","message":"upstream answer lost","details":[]}}' } : answer;
    };
    try {
      const node = handoffNode(
        { resource: 'handoff', operation: 'create', fromContractor: INFRA, toContractor: TALOS, taskId, dataMode: 'none' },
        'proxy',
        { retryOnFail: true, maxTries: 2, waitBetweenTries: 0 },
      );
      const result = await run(node);
      succeeded(result);
      assert.equal(creates, 2, 'the node was retried');
      const keys = proxy.requests.filter((r) => r.method === 'POST' && r.url === '/v1/handoffs').slice(-2).map((r) => r.headers['idempotency-key']);
      assert.equal(keys[0], keys[1]);
      assert.match(String(keys[0]), new RegExp(`^n8n-${result.executionId}-[0-9a-f-]{36}-0-0$`));
      const stored = await handoffsOfTask(taskId);
      assert.equal(stored.length, 1, 'one handoff, not two');
      assert.equal(result.jsonOf(NODE)[0]?.handoff_id, stored[0]?.handoff_id);
    } finally {
      proxy.hook = undefined;
    }
  });

  it('a new execution creates a new handoff; an explicit Idempotency Key dedupes across executions', async () => {
    const taskId = `keys-${randomUUID()}`;
    const base = { resource: 'handoff', operation: 'create', fromContractor: INFRA, toContractor: TALOS, taskId, dataMode: 'none' };
    succeeded(await run(handoffNode(base)));
    succeeded(await run(handoffNode(base)));
    assert.equal((await handoffsOfTask(taskId)).length, 2);
    const key = `order-${taskId}`;
    const first = await run(handoffNode({ ...base, options: { idempotencyKey: key } }));
    const second = await run(handoffNode({ ...base, options: { idempotencyKey: key } }));
    succeeded(first);
    succeeded(second);
    assert.equal(first.jsonOf(NODE)[0]?.handoff_id, second.jsonOf(NODE)[0]?.handoff_id);
    assert.equal((await handoffsOfTask(taskId)).length, 3);
  });
});

describe('Handoff: an unreachable service', () => {
  it('names the address and keeps the token out of the error', async () => {
    const result = await run(handoffNode({ resource: 'handoff', operation: 'get', handoffId: 'hof_missing' }, 'down'));
    assert.equal(result.status, 'error');
    assert.equal(result.error!.name, 'NodeApiError');
    assert.match(result.error!.message, /Cannot reach the Cortex service at http:\/\/127\.0\.0\.1:1/);
    const seen = JSON.stringify(result.error, Object.getOwnPropertyNames(result.error)) + JSON.stringify((result.error as { cause?: unknown }).cause ?? null);
    assert.ok(!seen.includes(tokenFor(INFRA)), 'the bearer token is not in the error');
  });
});

describe('Handoff: get and get many', () => {
  it('gets one handoff', async () => {
    const created = await createHandoff();
    const result = await run(handoffNode({ resource: 'handoff', operation: 'get', handoffId: '={{ $json.id }}' }), [{ id: created.handoff_id }]);
    succeeded(result);
    assert.deepEqual(result.jsonOf(NODE), [created]);
  });

  it('lists with filters and a limit, or every page with Return All', async () => {
    const taskId = `many-${randomUUID()}`;
    const total = 520; // more than one page of 500
    for (let start = 0; start < total; start += 40) {
      await Promise.all(Array.from({ length: Math.min(40, total - start) }, () => createHandoff({ task_id: taskId })));
    }
    await createHandoff({ task_id: taskId, to_contractor: N8N });
    const list = (parameters: Record<string, unknown>, as: keyof typeof CREDENTIAL = 'proxy') =>
      run(handoffNode({ resource: 'handoff', operation: 'getAll', ...parameters }, as));

    const limited = await list({ returnAll: false, limit: 3, filters: { taskId, toContractor: TALOS, status: 'pending' } });
    succeeded(limited);
    const [items] = limited.outputOf(NODE);
    assert.equal(items?.length, 3);
    assert.ok(items?.every((i) => i.json.task_id === taskId && i.json.to_contractor === TALOS));
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 0 }, { item: 0 }]);

    proxy.requests = [];
    const all = await list({ returnAll: true, filters: { taskId, toContractor: TALOS } });
    succeeded(all);
    assert.equal(all.jsonOf(NODE).length, total);
    assert.equal(new Set(all.jsonOf(NODE).map((j) => j.handoff_id)).size, total);
    const pages = proxy.requests.filter((r) => r.url.startsWith('/v1/handoffs?'));
    assert.equal(pages.length, 2, 'two pages');
    assert.match(pages[1]!.url, /cursor=/);

    const everyone = await list({ returnAll: true, filters: { taskId } });
    assert.equal(everyone.jsonOf(NODE).length, total + 1);
    const talosSees = await list({ returnAll: true, filters: { taskId, toContractor: N8N } }, TALOS);
    assert.equal(talosSees.jsonOf(NODE).length, 0, 'a contractor sees only handoffs it is party to');
  });
});

describe('Handoff: claim, heartbeat, complete, fail, cancel', () => {
  it('the receiver claims, reports progress and completes with a result', async () => {
    const { handoff_id: id } = await createHandoff({ heartbeat_timeout: 60 });
    const step = async (parameters: Record<string, unknown>) => {
      const result = await run(handoffNode({ resource: 'handoff', handoffId: id, ...parameters }, TALOS));
      succeeded(result);
      return result.jsonOf(NODE)[0]!;
    };
    const claimed = await step({ operation: 'claim' });
    assert.equal(claimed.status, 'in_progress');
    const beat = await step({ operation: 'heartbeat', progress: '{"percent": 40}' });
    assert.deepEqual(beat.progress, { percent: 40 });
    assert.notEqual(beat.last_heartbeat_at, null);
    const quiet = await step({ operation: 'heartbeat', progress: '{}' });
    assert.deepEqual(quiet.progress, { percent: 40 }, 'an empty progress leaves the stored one');
    const done = await step({ operation: 'complete', result: '={{ { kubeconfig_secret: "k8s-" + "prod" } }}' });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.result, { kubeconfig_secret: 'k8s-prod' });
  });

  it('the receiver fails one with an error code and message; the sender cancels another', async () => {
    const failing = await createHandoff();
    const failed = await run(handoffNode({ resource: 'handoff', operation: 'fail', handoffId: failing.handoff_id, errorCode: 'talos_bootstrap_failed', errorMessage: 'etcd did not form' }, TALOS));
    succeeded(failed);
    assert.equal(failed.jsonOf(NODE)[0]?.status, 'failed');
    assert.deepEqual(failed.jsonOf(NODE)[0]?.error, { code: 'talos_bootstrap_failed', message: 'etcd did not form' });

    const cancelling = await createHandoff();
    const cancelled = await run(handoffNode({ resource: 'handoff', operation: 'cancel', handoffId: cancelling.handoff_id, reason: 'plan changed' }, INFRA));
    succeeded(cancelled);
    assert.deepEqual(cancelled.jsonOf(NODE)[0]?.error, { code: 'handoff_cancelled', message: 'plan changed' });
  });
});

describe('errors', () => {
  it("an illegal transition fails the run with a NodeApiError carrying the service's message and the item index", async () => {
    const ok = await createHandoff();
    await act(String(ok.handoff_id), 'claim', TALOS);
    const pending = await createHandoff();
    const node = handoffNode({ resource: 'handoff', operation: 'complete', handoffId: '={{ $json.id }}', result: '{}' }, TALOS);
    const result = await run(node, [{ id: ok.handoff_id }, { id: pending.handoff_id }], true);

    assert.equal(result.status, 'error');
    const error = result.error as NodeApiError;
    assert.equal(error.name, 'NodeApiError');
    assert.equal(error.message, `cannot complete handoff ${pending.handoff_id}: it is pending`);
    assert.equal(error.httpCode, '409');
    assert.equal(error.description, 'illegal_transition');
    assert.equal(error.context.itemIndex, 1);
    assert.equal(error.node?.name, NODE);
    assert.ok(!result.executedNodes.includes('After'));
  });

  it('with continueOnFail the failing item carries the error and the others go on', async () => {
    const ok = await createHandoff();
    await act(String(ok.handoff_id), 'claim', TALOS);
    const pending = await createHandoff();
    const node = handoffNode({ resource: 'handoff', operation: 'complete', handoffId: '={{ $json.id }}', result: '{}' }, TALOS, { continueOnFail: true });
    const result = await run(node, [{ id: ok.handoff_id }, { id: pending.handoff_id }], true);

    succeeded(result);
    const [items] = result.outputOf(NODE);
    assert.equal(items?.[0]?.json.status, 'completed');
    assert.deepEqual(items?.[1], { json: { error: `cannot complete handoff ${pending.handoff_id}: it is pending` }, pairedItem: { item: 1 } });
    assert.equal(result.jsonOf('After').length, 2);
  });

  it("a 403 (another contractor's handoff) is a NodeApiError too; with continueOnFail the item has it", async () => {
    const { handoff_id: id } = await createHandoff();
    const failed = await run(handoffNode({ resource: 'handoff', operation: 'get', handoffId: id }, N8N));
    assert.equal(failed.status, 'error');
    const error = failed.error as NodeApiError;
    assert.equal(error.name, 'NodeApiError');
    assert.equal(error.httpCode, '403');
    assert.equal(error.message, `contractor ${N8N} is not a party to handoff ${id}`);
    assert.equal(error.context.itemIndex, 0);

    const wrongParty = await run(handoffNode({ resource: 'handoff', operation: 'claim', handoffId: id }, INFRA, { continueOnFail: true }));
    succeeded(wrongParty);
    assert.deepEqual(wrongParty.jsonOf(NODE), [{ error: `only ${TALOS} may claim handoff ${id}` }]);
  });

  it('a bad parameter is a NodeOperationError naming the field and the item; nothing is sent for it', async () => {
    const taskId = `bad-${randomUUID()}`;
    const base = { resource: 'handoff', operation: 'create', fromContractor: INFRA, toContractor: TALOS, taskId, dataMode: 'json', dataJson: '={{ $json.data }}' };
    const result = await run(handoffNode(base), [{ data: '{"ok": true}' }, { data: '{"broken": ' }]);
    assert.equal(result.status, 'error');
    const error = result.error as NodeOperationError;
    assert.equal(error.name, 'NodeOperationError');
    assert.equal(error.message, 'Data (JSON) is not valid JSON');
    assert.match(String(error.description), /^Item 1: /);
    assert.equal(error.context.itemIndex, 1);
    assert.equal((await handoffsOfTask(taskId)).length, 1, 'only the first item was sent');

    const notObject = await run(handoffNode({ ...base, dataJson: '[1, 2]' }));
    assert.equal(notObject.error?.message, 'Data (JSON) must be a JSON object');

    const existing = await createHandoff();
    const missing = await run(handoffNode({ resource: 'handoff', operation: 'get', handoffId: '={{ $json.id }}' }), [{ id: existing.handoff_id }, { id: '' }]);
    assert.equal(missing.error?.name, 'NodeOperationError');
    assert.equal(missing.error?.message, 'Handoff ID is required');
    assert.equal((missing.error as NodeOperationError).context.itemIndex, 1);

    const badCode = await run(handoffNode({ resource: 'handoff', operation: 'fail', handoffId: 'x', errorCode: 'has spaces' }, TALOS, { continueOnFail: true }));
    succeeded(badCode);
    assert.match(String(badCode.jsonOf(NODE)[0]?.error), /^Error Code may only hold/);
  });
});

describe('Workflow Run', () => {
  const DEFINITION = {
    workflow_id: 'node-test-flow',
    workflow_name: 'Node test flow',
    version: '1.0.0',
    contractors: [N8N],
    phases: [
      { phase_id: 'prepare', contractor: N8N, actions: [{ action_id: 'check', action: 'check_capacity' }], rollback: [{ action_id: 'uncheck', action: 'release' }] },
      { phase_id: 'apply', contractor: N8N, actions: [{ action_id: 'apply', action: 'apply_configuration' }], rollback: [{ action_id: 'revert', action: 'revert' }] },
    ],
  };

  before(async () => {
    const stored = await service.call('POST', '/v1/definitions', { body: DEFINITION });
    assert.ok([200, 201].includes(stored.status), stored.text);
  });

  const runStep = async (parameters: Record<string, unknown>, items: IDataObject[] = [{}]) => {
    const result = await run(handoffNode({ resource: 'workflowRun', ...parameters }, N8N), items);
    succeeded(result);
    return result.jsonOf(NODE)[0]!;
  };

  it('start → start phase → complete phase → complete run', async () => {
    const started = await runStep({ operation: 'start', workflowId: DEFINITION.workflow_id, parameters: '{"cluster_name": "prod"}', options: { concurrencyKey: `prod-${randomUUID()}`, version: '1.0.0' } });
    assert.equal(started.status, 'running');
    assert.deepEqual(started.parameters, { cluster_name: 'prod' });
    const runId = String(started.run_id);
    const phase = await runStep({ operation: 'startPhase', runId, phaseId: 'prepare' });
    assert.equal((phase.phases as IDataObject[])[0]?.status, 'in_progress');
    const done = await runStep({ operation: 'completePhase', runId, phaseId: 'prepare', output: '{"vm_ids": [201]}' });
    assert.deepEqual((done.phases as IDataObject[])[0]?.output, { vm_ids: [201] });
    const completed = await runStep({ operation: 'complete', runId });
    assert.equal(completed.status, 'completed');
    assert.deepEqual((completed.phases as IDataObject[]).map((p) => p.status), ['completed', 'skipped']);
    assert.equal((await runStep({ operation: 'get', runId })).status, 'completed');
  });

  it('dry run; a concurrency key held by a running run is a NodeApiError (409)', async () => {
    const key = `held-${randomUUID()}`;
    const dry = await runStep({ operation: 'start', workflowId: DEFINITION.workflow_id, options: { concurrencyKey: key, dryRun: true } });
    assert.equal(dry.dry_run, true);
    const second = await run(handoffNode({ resource: 'workflowRun', operation: 'start', workflowId: DEFINITION.workflow_id, options: { concurrencyKey: key } }, N8N));
    assert.equal(second.status, 'error');
    assert.equal(second.error?.name, 'NodeApiError');
    assert.equal((second.error as NodeApiError).httpCode, '409');
  });

  it('fail a phase → rollback plan → mark its steps done and failed; Fail Run with and without rollback', async () => {
    const started = await runStep({ operation: 'start', workflowId: DEFINITION.workflow_id });
    const runId = String(started.run_id);
    await runStep({ operation: 'startPhase', runId, phaseId: 'prepare' });
    await runStep({ operation: 'completePhase', runId, phaseId: 'prepare' });
    await runStep({ operation: 'startPhase', runId, phaseId: 'apply' });
    const failed = await runStep({ operation: 'failPhase', runId, phaseId: 'apply', errorCode: 'apply_failed', errorMessage: 'node 2 unreachable' });
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, { code: 'apply_failed', message: 'node 2 unreachable' });

    const plan = await runStep({ operation: 'getRollbackPlan', runId });
    assert.equal(plan.run_id, runId);
    assert.equal(plan.status, 'pending');
    assert.deepEqual((plan.steps as IDataObject[]).map((s) => s.step_id), ['apply-rollback', 'prepare-rollback']);

    const first = await runStep({ operation: 'markRollbackStep', runId, stepId: 'apply-rollback', stepStatus: 'done', note: 'reverted' });
    assert.equal((first.rollback as IDataObject).status, 'in_progress');
    const last = await runStep({ operation: 'markRollbackStep', runId, stepId: 'prepare-rollback', stepStatus: 'failed' });
    const steps = (last.rollback as { steps: IDataObject[] }).steps;
    assert.deepEqual(steps.map((s) => [s.step_id, s.status, s.note]), [['apply-rollback', 'done', 'reverted'], ['prepare-rollback', 'failed', null]]);

    const other = String((await runStep({ operation: 'start', workflowId: DEFINITION.workflow_id })).run_id);
    await runStep({ operation: 'startPhase', runId: other, phaseId: 'prepare' });
    const rolledBack = await runStep({ operation: 'fail', runId: other, errorCode: 'operator_abort', errorMessage: 'stop' });
    assert.deepEqual(((rolledBack.rollback as IDataObject).steps as IDataObject[]).map((s) => s.step_id), ['prepare-rollback'], 'Roll Back is on by default');
    const third = String((await runStep({ operation: 'start', workflowId: DEFINITION.workflow_id })).run_id);
    const noPlan = await runStep({ operation: 'fail', runId: third, errorCode: 'operator_abort', rollback: false });
    assert.equal(noPlan.rollback, null);
    const planless = await run(handoffNode({ resource: 'workflowRun', operation: 'getRollbackPlan', runId: third }, N8N, { continueOnFail: true }));
    assert.deepEqual(planless.jsonOf(NODE), [{ error: `run ${third} is failed and has no rollback plan` }]);
  });
});

describe('Metrics', () => {
  it("workflow stats and contractor performance in the seed's shapes", async () => {
    const stats = await run(handoffNode({ resource: 'metrics', operation: 'workflowStats', workflowId: 'node-test-flow' }, N8N));
    succeeded(stats);
    const workflowStats = stats.jsonOf(NODE)[0]!;
    assert.deepEqual(Object.keys(workflowStats).sort(), ['executions', 'last_execution', 'performance', 'workflow_id']);
    assert.deepEqual(Object.keys(workflowStats.executions as IDataObject).sort(), ['failed', 'success_rate', 'successful', 'total']);
    assert.deepEqual(Object.keys(workflowStats.performance as IDataObject).sort(), ['avg_duration', 'max_duration', 'min_duration', 'p95_duration']);
    assert.equal(workflowStats.workflow_id, 'node-test-flow');

    const performance = await run(handoffNode({ resource: 'metrics', operation: 'contractorPerformance', contractor: TALOS }, N8N));
    succeeded(performance);
    const contractor = performance.jsonOf(NODE)[0]!;
    assert.deepEqual(Object.keys(contractor).sort(), ['avg_handoff_time', 'common_errors', 'contractor', 'error_rate', 'workflows_participated']);
    assert.equal(contractor.contractor, TALOS);
    assert.match(String(contractor.avg_handoff_time), /^\d+s$/);
    assert.ok((contractor.common_errors as IDataObject[]).some((e) => e.error === 'talos_bootstrap_failed'));
  });
});

describe('Handoff: Wait for Completion', () => {
  it('(a) a handoff already completed comes out at once on Completed; no subscription is left', async () => {
    const { handoff_id: id } = await createHandoff();
    await act(String(id), 'claim', TALOS);
    await act(String(id), 'complete', TALOS, { result: { ready: true } });

    const result = await engine.run(waitWorkflow(String(id)));

    succeeded(result);
    const [completed, failed] = result.outputOf(NODE);
    assert.equal(completed?.length, 1);
    assert.equal(failed?.length, 0);
    assert.deepEqual(completed?.[0]?.json.result, { ready: true });
    assert.equal(completed?.[0]?.json.wait_timeout, false);
    assert.deepEqual(completed?.[0]?.pairedItem, { item: 0 });
    assert.deepEqual(result.jsonOf('On Completed').map((j) => j.tag), ['completed']);
    assert.ok(!result.executedNodes.includes('On Failed'));
    assert.deepEqual(await subscriptionsFor(String(id)), []);

    const cancelled = await createHandoff();
    await act(String(cancelled.handoff_id), 'cancel', INFRA, { reason: 'no longer needed' });
    const other = await engine.run(waitWorkflow(String(cancelled.handoff_id)));
    succeeded(other);
    assert.deepEqual(other.jsonOf('On Failed').map((j) => j.tag), ['handoff_cancelled']);
  });

  it("(b) pauses, and the service's callback on the resume URL continues it on Completed with the result", async () => {
    const { handoff_id: id } = await createHandoff();
    const waiting = await engine.run(waitWorkflow(String(id)), MARKED);

    assert.equal(waiting.status, 'waiting', waiting.error?.message);
    assert.equal(waiting.waitingNode, NODE);
    const limit = waiting.waitTill!.getTime() - Date.now();
    assert.ok(limit > 23 * 3_600_000 && limit <= 24 * 3_600_000, 'default limit: 1 day');
    const [subscription] = await subscriptionsFor(String(id));
    assert.equal(subscription?.url, waiting.resumeUrl);
    assert.deepEqual(subscription?.events, ['handoff.completed', 'handoff.failed', 'handoff.timed_out', 'handoff.cancelled']);

    // The receiving contractor does the work, through the service.
    await act(String(id), 'claim', TALOS);
    await act(String(id), 'complete', TALOS, { result: { kubeconfig_secret: 'k8s-prod' } });

    const resumed = await engine.waitForResume(waiting);
    succeeded(resumed);
    const [completed, failed] = resumed.outputOf(NODE);
    assert.equal(failed?.length, 0);
    assert.equal(completed?.[0]?.json.status, 'completed');
    assert.deepEqual(completed?.[0]?.json.result, { kubeconfig_secret: 'k8s-prod' });
    assert.deepEqual(resumed.jsonOf('On Completed').map((j) => [j.handoff_id, j.tag]), [[id, 'completed@m']]);
    assert.deepEqual(resumed.executedNodes, [NODE, 'On Completed']);
    // Delivered: the service retires the subscription.
    await eventually(async () => (await subscriptionsFor(String(id))).length === 0);
  });

  it('(c) the handoff times out unclaimed: Failed / Timed Out with error.code handoff_claim_timeout', async () => {
    const { handoff_id: id } = await createHandoff({ claim_timeout: 0.3 });
    const waiting = await engine.run(waitWorkflow(String(id), TALOS), MARKED);
    assert.equal(waiting.status, 'waiting', waiting.error?.message);

    const resumed = await engine.waitForResume(waiting);
    succeeded(resumed);
    const [completed, failed] = resumed.outputOf(NODE);
    assert.equal(completed?.length, 0);
    assert.equal(failed?.[0]?.json.status, 'failed');
    assert.equal((failed?.[0]?.json.error as IDataObject).code, 'handoff_claim_timeout');
    assert.equal(failed?.[0]?.json.wait_timeout, false);
    assert.deepEqual(resumed.jsonOf('On Failed').map((j) => j.tag), ['handoff_claim_timeout@m']);
    assert.ok(!resumed.executedNodes.includes('On Completed'));
  });

  it('(d) a callback that arrives before the execution is paused is refused (409), retried, and still resumes it', async () => {
    const { handoff_id: id } = await createHandoff();
    const path = `/v1/handoffs/${id}`;
    let gets = 0;
    let refusedBeforePause = false;
    // The node GETs the handoff, subscribes, and GETs it again before pausing. On that second
    // GET the proxy lets the node see it still pending, but first has the receiver complete it
    // and waits until the service's callback has reached n8n — while the execution still runs.
    proxy.hook = async (request, forward): Promise<ProxiedResponse | undefined> => {
      if (request.method !== 'GET' || request.url !== path) return undefined;
      gets += 1;
      const answer = await forward();
      if (gets !== 2) return answer;
      await act(String(id), 'claim', TALOS);
      await act(String(id), 'complete', TALOS, { result: { early: true } });
      const [subscription] = await subscriptionsFor(String(id));
      const refused = (line: string) => line.includes('delivery failed; retry scheduled') && line.includes(String(subscription?.subscription_id)) && line.includes('"status":409');
      await eventually(async () => service.logs.some(refused), 5000);
      refusedBeforePause = true;
      return answer;
    };
    try {
      const waiting = await engine.run(waitWorkflow(String(id), 'proxy'));
      assert.equal(waiting.status, 'waiting', waiting.error?.message);
      assert.ok(refusedBeforePause, 'the callback reached n8n before the pause');
      assert.equal((await service.call('GET', path)).body.status, 'completed', 'the handoff ended before the execution paused');

      const resumed = await engine.waitForResume(waiting);
      succeeded(resumed);
      assert.deepEqual(resumed.jsonOf(NODE).map((j) => [j.status, j.result]), [['completed', { early: true }]]);
      assert.deepEqual(resumed.jsonOf('On Completed').map((j) => j.tag), ['completed']);
    } finally {
      proxy.hook = undefined;
    }
  });

  it("(e) n8n's own wait limit ends the wait: the item leaves on Failed / Timed Out with wait_timeout, never on Completed", async () => {
    const { handoff_id: id } = await createHandoff();
    const waiting = await engine.run(waitWorkflow(String(id), INFRA, { limitWaitTime: true, limitAmount: 2, limitUnit: 'hours' }), MARKED);
    assert.equal(waiting.status, 'waiting', waiting.error?.message);
    const limit = waiting.waitTill!.getTime() - Date.now();
    assert.ok(limit > 1.9 * 3_600_000 && limit <= 2 * 3_600_000);

    const resumed = await engine.resumeAfterWaitLimit(waiting);

    succeeded(resumed);
    const [completed, failed] = resumed.outputOf(NODE);
    assert.equal(completed?.length, 0);
    assert.equal(failed?.length, 1);
    assert.equal(failed?.[0]?.json.wait_timeout, true);
    assert.equal(failed?.[0]?.json.handoff_id, id);
    assert.equal(failed?.[0]?.json.status, 'pending', 'the handoff as it was when the wait began');
    assert.deepEqual(resumed.jsonOf('On Failed').map((j) => j.tag), ['wait limit@m']);
    assert.deepEqual(resumed.executedNodes, [NODE, 'On Failed']);

    // The handoff ends later: its callback finds the execution finished (409) and changes nothing;
    // the service retries until it gives up, then retires the subscription.
    const [subscription] = await subscriptionsFor(String(id));
    await act(String(id), 'cancel', INFRA);
    await eventually(async () =>
      service.logs.some((line) => line.includes('delivery failed; retry scheduled') && line.includes(String(subscription?.subscription_id)) && line.includes('"status":409')),
    );
    await assert.rejects(engine.resumeAfterWaitLimit(waiting), /is not waiting/);
  });

  it('without Limit Wait Time it waits indefinitely', async () => {
    const { handoff_id: id } = await createHandoff();
    const waiting = await engine.run(waitWorkflow(String(id), INFRA, { limitWaitTime: false }));
    assert.equal(waiting.status, 'waiting');
    assert.equal(waiting.waitTill?.getTime(), wf.WAIT_INDEFINITELY.getTime());
    await act(String(id), 'cancel', INFRA);
    const resumed = await engine.waitForResume(waiting);
    assert.deepEqual(resumed.jsonOf('On Failed').map((j) => j.tag), ['handoff_cancelled']);
  });

  it('refuses more than one item; with continueOnFail a failure goes to Failed / Timed Out', async () => {
    const { handoff_id: id } = await createHandoff();
    const many = await engine.run(waitWorkflow(String(id)), { startNodeData: [{ json: {} }, { json: {} }] });
    assert.equal(many.status, 'error');
    assert.equal(many.error?.name, 'NodeOperationError');
    assert.equal(many.error?.message, 'Wait for Completion waits for one handoff per execution, but got 2 items');
    assert.equal((many.error as NodeOperationError).context.itemIndex, 1);
    assert.deepEqual(await subscriptionsFor(String(id)), []);

    const missing = await engine.run(waitWorkflow('hof_missing', INFRA, {}, { continueOnFail: true }));
    succeeded(missing);
    const [completed, failed] = missing.outputOf(NODE);
    assert.equal(completed?.length, 0);
    assert.deepEqual(failed, [{ json: { error: 'handoff hof_missing does not exist' }, pairedItem: { item: 0 } }]);
  });

  it('a callback that is not a final handoff event, or names a handoff that has not ended, is answered and leaves the execution waiting', async () => {
    const { handoff_id: id } = await createHandoff();
    const waiting = await engine.run(waitWorkflow(String(id)));
    const ignored = await engine.resume(waiting, { webhookBody: { type: 'handoff.claimed', data: { handoff: { handoff_id: id } } } });
    assert.equal(ignored.status, 'waiting');
    assert.deepEqual(ignored.webhookResponse, { resumed: false, reason: 'not a final handoff event: handoff.claimed' });
    // A body that claims an end the service does not hold: the node reads the handoff back.
    const forged = await engine.resume(waiting, {
      webhookBody: { type: 'handoff.completed', data: { handoff: { handoff_id: id, status: 'completed', result: { forged: true } } } },
    });
    assert.equal(forged.status, 'waiting');
    assert.deepEqual(forged.webhookResponse, { resumed: false, reason: `handoff ${String(id)} is pending` });
    await act(String(id), 'cancel', INFRA);
    const resumed = await engine.waitForResume(waiting);
    assert.deepEqual(resumed.jsonOf('On Failed').map((j) => j.tag), ['handoff_cancelled']);
  });
});
